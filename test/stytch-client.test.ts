// The Stytch sessions client over real HTTP against the emulator: wire format, error mapping,
// the single retry, the shared deadline and the coalescing of identical calls.

import { describe, expect, test } from "vitest";
import {
  RejectedByStytchError,
  RevokedSessionError,
  UpstreamCredentialsRejectedError,
  UpstreamRateLimitedError,
  UpstreamTimeoutError,
  UpstreamUnavailableError,
} from "../lambda/lib/errors";
import { StytchClient } from "../lambda/lib/stytch-client";
import type { StytchEmulator } from "../local/stytch-emulator";
import { useStytchEmulator } from "./support/fixtures";

let stytch: StytchEmulator;

function client(overrides: { secret?: string; timeoutMs?: number } = {}): StytchClient {
  return new StytchClient({
    apiUrl: stytch.url,
    projectId: stytch.projectId,
    secret: async () => overrides.secret ?? stytch.secret,
    timeoutMs: overrides.timeoutMs ?? 2_000,
  });
}

const soon = () => Date.now() + 5_000;

useStytchEmulator((emulator) => (stytch = emulator));

describe("the request", () => {
  test("sends HTTP Basic project credentials and exactly the one credential given", async () => {
    const session = stytch.createSession();
    const answer = await client().authenticate({ session_token: session.sessionToken }, { deadline: soon() });
    expect(answer.member_session.member_id).toBe(session.memberId);
    expect(answer.session_jwt).toMatch(/^[\w-]+\.[\w-]+\.[\w-]+$/);
    expect(stytch.authenticateRequests).toEqual([
      { body: { session_token: session.sessionToken }, authorization: `Basic ${Buffer.from(`${stytch.projectId}:${stytch.secret}`).toString("base64")}` },
    ]);
  });

  test("adds session_duration_minutes only when asked to extend the session", async () => {
    const session = stytch.createSession();
    await client().authenticate({ session_jwt: session.sessionJwt }, { deadline: soon(), sessionDurationMinutes: 30 });
    expect(stytch.authenticateRequests[0]?.body).toEqual({ session_jwt: session.sessionJwt, session_duration_minutes: 30 });
  });
});

describe("mapping Stytch's answers", () => {
  test("404 session_not_found is a revoked session", async () => {
    const session = stytch.createSession();
    stytch.revokeSession(session.memberSessionId);
    await expect(client().authenticate({ session_token: session.sessionToken }, { deadline: soon() })).rejects.toBeInstanceOf(RevokedSessionError);
    expect(stytch.calls.authenticate).toBe(1);
  });

  test("a 400 is a refusal of the credential, and is not retried", async () => {
    await expect(client().authenticate({ session_jwt: "aaaa.bbbb.cccc" }, { deadline: soon() })).rejects.toBeInstanceOf(RejectedByStytchError);
    expect(stytch.calls.authenticate).toBe(1);
  });

  test("a 401 is a fault with our project credentials, not the caller's", async () => {
    const session = stytch.createSession();
    await expect(client({ secret: "secret-test-not-the-right-one-at-all" }).authenticate({ session_token: session.sessionToken }, { deadline: soon() })).rejects.toBeInstanceOf(
      UpstreamCredentialsRejectedError,
    );
  });

  test("429 is a rate-limit fault and is never retried", async () => {
    stytch.faults.authenticate = "429";
    await expect(client().authenticate({ session_token: stytch.createSession().sessionToken }, { deadline: soon() })).rejects.toBeInstanceOf(UpstreamRateLimitedError);
    expect(stytch.calls.authenticate).toBe(1);
  });

  test("5xx twice is an unavailable fault after exactly one retry", async () => {
    stytch.faults.authenticate = "503";
    await expect(client().authenticate({ session_token: stytch.createSession().sessionToken }, { deadline: soon() })).rejects.toBeInstanceOf(UpstreamUnavailableError);
    expect(stytch.calls.authenticate).toBe(2);
  });

  test("one 5xx followed by success returns the success", async () => {
    const session = stytch.createSession();
    stytch.failNext("authenticate", "500");
    const answer = await client().authenticate({ session_token: session.sessionToken }, { deadline: soon() });
    expect(answer.member_session.member_session_id).toBe(session.memberSessionId);
    expect(stytch.calls.authenticate).toBe(2);
  });
});

describe("the deadline", () => {
  test("a hanging Stytch times out at the client's timeout, without a retry", async () => {
    stytch.faults.authenticate = "hang";
    const started = Date.now();
    await expect(client({ timeoutMs: 250 }).authenticate({ session_token: stytch.createSession().sessionToken }, { deadline: soon() })).rejects.toBeInstanceOf(UpstreamTimeoutError);
    expect(Date.now() - started).toBeLessThan(1_000);
    expect(stytch.calls.authenticate).toBe(1);
  });

  test("the caller's deadline wins when it is sooner than the client's timeout", async () => {
    stytch.faults.authenticate = "hang";
    const started = Date.now();
    await expect(client({ timeoutMs: 10_000 }).authenticate({ session_token: stytch.createSession().sessionToken }, { deadline: Date.now() + 200 })).rejects.toBeInstanceOf(
      UpstreamTimeoutError,
    );
    expect(Date.now() - started).toBeLessThan(1_000);
  });

  test("no retry is attempted when the remaining budget cannot fit one", async () => {
    stytch.faults.authenticate = "500";
    stytch.setLatency("authenticate", 150);
    try {
      await expect(client().authenticate({ session_token: stytch.createSession().sessionToken }, { deadline: Date.now() + 300 })).rejects.toBeInstanceOf(UpstreamUnavailableError);
      expect(stytch.calls.authenticate).toBe(1);
    } finally {
      stytch.setLatency("authenticate", 0);
    }
  });
});

describe("coalescing", () => {
  test("identical credentials in flight share one call; different ones do not", async () => {
    const first = stytch.createSession();
    const second = stytch.createSession();
    stytch.setLatency("authenticate", 80);
    try {
      const stytchClient = client();
      const answers = await Promise.all([
        stytchClient.authenticate({ session_token: first.sessionToken }, { deadline: soon() }),
        stytchClient.authenticate({ session_token: first.sessionToken }, { deadline: soon() }),
        stytchClient.authenticate({ session_token: second.sessionToken }, { deadline: soon() }),
      ]);
      expect(answers.map((answer) => answer.member_session.member_id)).toEqual([first.memberId, first.memberId, second.memberId]);
      expect(stytch.calls.authenticate).toBe(2);
      expect(stytchClient.requestsSent).toBe(2);
    } finally {
      stytch.setLatency("authenticate", 0);
    }
  });
});

// The Stytch sessions client over real HTTP against the emulator: wire format, error mapping,
// the single retry, the shared deadline and the coalescing of identical calls.

import { execFile } from "node:child_process";
import * as path from "node:path";
import { promisify } from "node:util";
import { describe, expect, test } from "vitest";
import {
  RejectedByStytchError,
  RevokedSessionError,
  UpstreamCredentialsRejectedError,
  UpstreamRateLimitedError,
  UpstreamTimeoutError,
  UpstreamUnavailableError,
} from "../lambda/lib/errors";
import { StytchClient } from "../lambda/lib/stytch/stytch-client";
import type { StytchEmulator } from "../local/stytch-emulator";
import { useStytchEmulator } from "./support/fixtures";

let stytch: StytchEmulator;

function client(overrides: { secret?: string; timeoutMs?: number } = {}): StytchClient {
  return new StytchClient({
    apiUrl: stytch.url,
    projectId: stytch.projectId,
    secret: async () => overrides.secret ?? stytch.secret,
    timeoutMs: overrides.timeoutMs ?? 10_000,
  });
}

// Generous where the deadline is not what a test is about (a loaded machine must not turn an answer into a timeout).
const soon = () => Date.now() + 10_000;

useStytchEmulator((emulator) => (stytch = emulator));

describe("the request", () => {
  test("sends HTTP Basic project credentials and exactly the one credential given", async () => {
    const session = stytch.createSession();
    const answer = await client().authenticate({ session_token: session.sessionToken }, { deadline: soon() });
    expect(answer.member_session.member_id).toBe(session.memberId);
    expect(answer.session_jwt).toMatch(/^[\w-]+\.[\w-]+\.[\w-]+$/);
    expect(stytch.authenticateRequests).toEqual([
      {
        body: { session_token: session.sessionToken },
        authorization: `Basic ${Buffer.from(`${stytch.projectId}:${stytch.secret}`).toString("base64")}`,
      },
    ]);
  });

  test("adds session_duration_minutes only when asked to extend the session", async () => {
    const session = stytch.createSession();
    await client().authenticate({ session_jwt: session.sessionJwt }, { deadline: soon(), sessionDurationMinutes: 30 });
    expect(stytch.authenticateRequests[0]?.body).toEqual({
      session_jwt: session.sessionJwt,
      session_duration_minutes: 30,
    });
  });
});

describe("the transport", () => {
  test("node:https, not the global fetch: the first Stytch calls of a process load no undici", async () => {
    // A fresh process (this one has loaded undici long ago): authenticate and both RBAC reads, then the module list.
    const session = stytch.createSession();
    const script = `
      import { StytchClient } from ${JSON.stringify(path.resolve(__dirname, "../lambda/lib/stytch/stytch-client"))};
      const client = new StytchClient({ apiUrl: process.env.URL, projectId: process.env.PROJECT, secret: async () => process.env.SECRET, timeoutMs: 10000 });
      const deadline = Date.now() + 10000;
      const answer = await client.authenticate({ session_token: process.env.TOKEN }, { deadline });
      await client.projectRoles(deadline);
      await client.organizationRoles(answer.member_session.organization_id, deadline);
      console.log(JSON.stringify(process.moduleLoadList.filter((m) => /undici/.test(m))));`;
    const { stdout } = await promisify(execFile)(
      path.resolve(__dirname, "../node_modules/.bin/tsx"),
      ["--input-type=module", "-e", script],
      {
        env: {
          PATH: process.env.PATH,
          URL: stytch.url,
          PROJECT: stytch.projectId,
          SECRET: stytch.secret,
          TOKEN: session.sessionToken,
        },
      },
    );
    expect(JSON.parse(stdout.trim())).toEqual([]);
    expect(stytch.calls.authenticate).toBe(1);
  });
});

describe("mapping Stytch's answers", () => {
  test("404 session_not_found is a revoked session", async () => {
    const session = stytch.createSession();
    stytch.revokeSession(session.memberSessionId);
    await expect(
      client().authenticate({ session_token: session.sessionToken }, { deadline: soon() }),
    ).rejects.toBeInstanceOf(RevokedSessionError);
    expect(stytch.calls.authenticate).toBe(1);
  });

  test("a 400 is a refusal of the credential, and is not retried", async () => {
    await expect(client().authenticate({ session_jwt: "aaaa.bbbb.cccc" }, { deadline: soon() })).rejects.toBeInstanceOf(
      RejectedByStytchError,
    );
    expect(stytch.calls.authenticate).toBe(1);
  });

  test("a 401 is a fault with our project credentials, not the caller's", async () => {
    const session = stytch.createSession();
    await expect(
      client({ secret: "secret-test-not-the-right-one-at-all" }).authenticate(
        { session_token: session.sessionToken },
        { deadline: soon() },
      ),
    ).rejects.toBeInstanceOf(UpstreamCredentialsRejectedError);
  });

  test("429 is a rate-limit fault and is never retried", async () => {
    stytch.faults.authenticate = "429";
    await expect(
      client().authenticate({ session_token: stytch.createSession().sessionToken }, { deadline: soon() }),
    ).rejects.toBeInstanceOf(UpstreamRateLimitedError);
    expect(stytch.calls.authenticate).toBe(1);
  });

  test("5xx twice is an unavailable fault after exactly one retry", async () => {
    stytch.faults.authenticate = "503";
    await expect(
      client().authenticate({ session_token: stytch.createSession().sessionToken }, { deadline: soon() }),
    ).rejects.toBeInstanceOf(UpstreamUnavailableError);
    expect(stytch.calls.authenticate).toBe(2);
  });

  test("an answer over the size cap is an unavailable fault, and is not retried", async () => {
    const stytchClient = new StytchClient({
      apiUrl: stytch.url,
      projectId: stytch.projectId,
      secret: async () => stytch.secret,
      timeoutMs: 10_000,
      maxResponseBytes: 64,
    });
    const error = await stytchClient
      .authenticate({ session_token: stytch.createSession().sessionToken }, { deadline: soon() })
      .catch((caught: unknown) => caught);
    expect(error).toBeInstanceOf(UpstreamUnavailableError);
    expect((error as Error).message).toBe("Stytch answered with an oversized body");
    expect(stytch.calls.authenticate).toBe(1);
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
    await expect(
      client({ timeoutMs: 250 }).authenticate(
        { session_token: stytch.createSession().sessionToken },
        { deadline: soon() },
      ),
    ).rejects.toBeInstanceOf(UpstreamTimeoutError);
    expect(Date.now() - started).toBeLessThan(1_000);
    expect(stytch.calls.authenticate).toBe(1);
  });

  test("the caller's deadline wins when it is sooner than the client's timeout", async () => {
    stytch.faults.authenticate = "hang";
    const started = Date.now();
    await expect(
      client({ timeoutMs: 10_000 }).authenticate(
        { session_token: stytch.createSession().sessionToken },
        { deadline: Date.now() + 200 },
      ),
    ).rejects.toBeInstanceOf(UpstreamTimeoutError);
    expect(Date.now() - started).toBeLessThan(1_000);
  });

  test("no retry is attempted when the remaining budget cannot fit one", async () => {
    stytch.faults.authenticate = "500";
    stytch.setLatency("authenticate", 150);
    try {
      await expect(
        client().authenticate({ session_token: stytch.createSession().sessionToken }, { deadline: Date.now() + 300 }),
      ).rejects.toBeInstanceOf(UpstreamUnavailableError);
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
      expect(answers.map((answer) => answer.member_session.member_id)).toEqual([
        first.memberId,
        first.memberId,
        second.memberId,
      ]);
      expect(stytch.calls.authenticate).toBe(2);
      expect(stytchClient.requestsSent).toBe(2);
    } finally {
      stytch.setLatency("authenticate", 0);
    }
  });
});

describe("the RBAC policy reads", () => {
  function rbacClient(
    overrides: {
      apiUrl?: string;
      secret?: string;
      onAttempt?: (latencyMs: number, error?: unknown) => void;
      credentialsRejected?: () => void;
    } = {},
  ) {
    const secret = Object.assign(async () => overrides.secret ?? stytch.secret, {
      credentialsRejected: overrides.credentialsRejected,
    });
    return new StytchClient({
      apiUrl: overrides.apiUrl ?? stytch.url,
      projectId: stytch.projectId,
      secret,
      timeoutMs: 10_000,
      onAttempt: overrides.onAttempt,
    });
  }

  test("read the project's roles and an organization's custom roles with HTTP Basic project credentials", async () => {
    const { organizationId } = stytch.createSession();
    stytch.setOrganizationRoles(organizationId, [
      { role_id: "auditor", permissions: [{ resource_id: "billing", actions: ["read"] }] },
    ]);
    const stytchClient = rbacClient();
    expect((await stytchClient.projectRoles(soon())).map((role) => role.role_id)).toEqual(
      stytch.rbacPolicy.roles.map((role) => role.role_id),
    );
    expect(await stytchClient.organizationRoles(organizationId, soon())).toEqual([
      { role_id: "auditor", permissions: [{ resource_id: "billing", actions: ["read"] }] },
    ]);
    expect(stytch.calls.rbacPolicy).toBe(1);
    expect(stytch.calls.organizationPolicy).toBe(1);
    expect(stytchClient.requestsSent).toBe(2);
  });

  test("a 5xx is an unavailable fault after one attempt: the RBAC policy cache, not the client, tries again later", async () => {
    stytch.faults.rbac = "503";
    await expect(rbacClient().projectRoles(soon())).rejects.toBeInstanceOf(UpstreamUnavailableError);
    expect(stytch.calls.rbacPolicy).toBe(1);
  });

  test("a connection reset is an unavailable fault after one attempt", async () => {
    stytch.faults.rbac = "reset";
    await expect(rbacClient().organizationRoles(stytch.createSession().organizationId, soon())).rejects.toBeInstanceOf(
      UpstreamUnavailableError,
    );
    expect(stytch.calls.organizationPolicy).toBe(1);
  });

  test("429 is a rate-limit fault", async () => {
    stytch.faults.rbac = "429";
    await expect(rbacClient().projectRoles(soon())).rejects.toBeInstanceOf(UpstreamRateLimitedError);
  });

  test("a hanging Stytch times out at the caller's deadline", async () => {
    stytch.faults.rbac = "hang";
    const started = Date.now();
    await expect(rbacClient().projectRoles(Date.now() + 200)).rejects.toBeInstanceOf(UpstreamTimeoutError);
    expect(Date.now() - started).toBeLessThan(1_000);
  });

  test("a refused project secret is a credentials fault, and the secret provider is told to read the secret again", async () => {
    let rejections = 0;
    const stytchClient = rbacClient({
      secret: "secret-test-not-the-right-one-at-all",
      credentialsRejected: () => (rejections += 1),
    });
    await expect(stytchClient.projectRoles(soon())).rejects.toBeInstanceOf(UpstreamCredentialsRejectedError);
    expect(rejections).toBe(1);
  });

  test("a 4xx for the project policy is a fault, never a refusal of the caller's credential", async () => {
    // A base URL under which no Stytch route exists: every read is answered 404 route_not_found.
    const error = await rbacClient({ apiUrl: `${stytch.url}/no-such-prefix` })
      .projectRoles(soon())
      .catch((caught: unknown) => caught);
    expect(error).toBeInstanceOf(UpstreamUnavailableError);
    expect((error as Error).message).toBe("Stytch answered 404 (route_not_found)");
  });

  test("an organization policy Stytch will not give (the feature is off) is no custom roles", async () => {
    stytch.organizationPoliciesEnabled = false;
    expect(await rbacClient().organizationRoles(stytch.createSession().organizationId, soon())).toEqual([]);
    expect(stytch.calls.organizationPolicy).toBe(1);
  });

  test("every RBAC attempt is reported to the onAttempt observer, with the fault it ended in", async () => {
    const attempts: Array<{ latencyMs: number; error?: unknown }> = [];
    const stytchClient = rbacClient({ onAttempt: (latencyMs, error) => attempts.push({ latencyMs, error }) });
    await stytchClient.projectRoles(soon());
    stytch.faults.rbac = "500";
    await expect(stytchClient.organizationRoles(stytch.createSession().organizationId, soon())).rejects.toBeInstanceOf(
      UpstreamUnavailableError,
    );
    expect(attempts).toHaveLength(2);
    expect(attempts[0]!.error).toBeUndefined();
    expect(attempts[1]!.error).toBeInstanceOf(UpstreamUnavailableError);
    for (const { latencyMs } of attempts) expect(latencyMs).toBeGreaterThan(0);
  });
});

describe("hardening: any 401 from Stytch's API is about our project credentials", () => {
  /** A client whose secret provider counts how often it is told the secret was refused. */
  function clientHearingRejections(): { stytchClient: StytchClient; rejections: () => number } {
    let rejections = 0;
    const secret = Object.assign(async () => stytch.secret, { credentialsRejected: () => void (rejections += 1) });
    return {
      stytchClient: new StytchClient({ apiUrl: stytch.url, projectId: stytch.projectId, secret, timeoutMs: 2_000 }),
      rejections: () => rejections,
    };
  }

  test.each([
    ["an error type the client does not know", "401-unknown-error-type"],
    ["a body that is not JSON", "401-not-json"],
  ] as const)(
    "a 401 to authenticate with %s is an upstream_credentials_rejected fault, and the secret is read again",
    async (_, fault) => {
      /**
       * A new or missing error_type must not turn into a refusal of the member's session (a 401 that logs them
       * out, and makes the refresh endpoint clear their cookies) while our secret is never re-read.
       */
      stytch.faults.authenticate = fault;
      const { stytchClient, rejections } = clientHearingRejections();
      const error = await stytchClient
        .authenticate({ session_token: stytch.createSession().sessionToken }, { deadline: soon() })
        .catch((caught: unknown) => caught);
      expect(error).toBeInstanceOf(UpstreamCredentialsRejectedError);
      expect((error as UpstreamCredentialsRejectedError).reason).toBe("upstream_credentials_rejected");
      expect(rejections()).toBe(1);
      expect(stytch.calls.authenticate).toBe(1);
    },
  );

  test.each([
    ["an error type the client does not know", "401-unknown-error-type"],
    ["a body that is not JSON", "401-not-json"],
  ] as const)(
    "a 401 to an RBAC read with %s is an upstream_credentials_rejected fault, and the secret is read again",
    async (_, fault) => {
      stytch.faults.rbac = fault;
      const { stytchClient, rejections } = clientHearingRejections();
      await expect(stytchClient.projectRoles(soon())).rejects.toBeInstanceOf(UpstreamCredentialsRejectedError);
      await expect(
        stytchClient.organizationRoles(stytch.createSession().organizationId, soon()),
      ).rejects.toBeInstanceOf(UpstreamCredentialsRejectedError);
      expect(rejections()).toBe(2);
    },
  );
});

describe("hardening: a 200 from the organization-policy endpoint must carry an organization policy", () => {
  test.each([
    ["a body that is not JSON", "200-not-json"],
    ["JSON without org_policy", "200-without-org-policy"],
  ] as const)(
    "a 200 with %s is an unavailable fault, as it is for the project policy, never no custom roles",
    async (_, fault) => {
      const { organizationId } = stytch.createSession();
      stytch.setOrganizationRoles(organizationId, [
        { role_id: "auditor", permissions: [{ resource_id: "billing", actions: ["read"] }] },
      ]);
      stytch.organizationPolicyFault = fault;
      const error = await client()
        .organizationRoles(organizationId, soon())
        .catch((caught: unknown) => caught);
      expect(error).toBeInstanceOf(UpstreamUnavailableError);
      expect((error as Error).message).toBe("Stytch answered 200 without an organization policy");
      expect(stytch.calls.organizationPolicy).toBe(1);
    },
  );

  test("an organization Stytch does not know (404) still counts as no custom roles", async () => {
    expect(await client().organizationRoles("organization-test-00000000-0000-0000-0000-000000000000", soon())).toEqual(
      [],
    );
    expect(stytch.calls.organizationPolicy).toBe(1);
  });

  test("an organization policy without custom roles is an empty list, not a fault", async () => {
    const { organizationId } = stytch.createSession({ organizationSlug: "hardening-no-custom-roles" });
    expect(await client().organizationRoles(organizationId, soon())).toEqual([]);
  });
});

// Differential test of the organization switch's Stytch call: the official Stytch Node SDK's `sessions.exchange`,
// the oracle for Stytch's wire format, against our StytchClient.exchange, both talking to the emulator. The SDK
// only speaks https, so it goes through the loopback TLS front (certificate checks off in this test process only).
//
// - Request: for the same inputs, the emulator receives the same JSON body from both, and every field we send is a
//   field of the SDK's B2BSessionsExchangeRequest.
// - Response: every field our types read is a field of the SDK's B2BSessionsExchangeResponse (checked by the
//   compiler), the SDK reads the emulator's answers without error, and both clients agree on what each answer is:
//   a session in the organization, an intermediate session token (MFA), or an error of a given type.

import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { B2BClient, type B2BSessionsExchangeRequest, type B2BSessionsExchangeResponse, StytchError } from "stytch";
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import { OrganizationSwitchRefusedError, RevokedSessionError } from "../lambda/lib/errors";
import {
  SessionExchangeClient,
  type StytchExchangeIntermediate,
  type StytchExchangeSwitched,
  type StytchMfaRequired,
  type StytchPrimaryRequired,
} from "../lambda/lib/stytch/session-exchange";
import type { SessionCredential } from "../lambda/lib/stytch/stytch-client";
import { type StytchEmulator, startStytchEmulator } from "../local/stytch-emulator";
import { generateLoopbackCertificate } from "../local/tls-cert";
import { closeUpstreamConnections, startTlsFront, type TlsFront } from "../local/tls-front";

// The loopback front's certificate is self-signed; the SDK has no option to trust one CA.
process.env.NODE_TLS_REJECT_UNAUTHORIZED = "0";

// Compile-time: every field our types read exists, with the same name, in the SDK's response types.
type MissingIn<Ours, Theirs> = Exclude<keyof Ours, keyof Theirs>;
const _switchedFields: [MissingIn<StytchExchangeSwitched, B2BSessionsExchangeResponse>] extends [never] ? true : false =
  true;
const _intermediateFields: [MissingIn<StytchExchangeIntermediate, B2BSessionsExchangeResponse>] extends [never]
  ? true
  : false = true;
const _mfaFields: [MissingIn<StytchMfaRequired, NonNullable<B2BSessionsExchangeResponse["mfa_required"]>>] extends [
  never,
]
  ? true
  : false = true;
const _primaryFields: [
  MissingIn<StytchPrimaryRequired, NonNullable<B2BSessionsExchangeResponse["primary_required"]>>,
] extends [never]
  ? true
  : false = true;
/** The request fields of the SDK's type (each checked against it by the compiler). */
const SDK_REQUEST_FIELDS: ReadonlyArray<keyof B2BSessionsExchangeRequest> = [
  "organization_id",
  "session_token",
  "session_jwt",
  "session_duration_minutes",
  "session_custom_claims",
  "locale",
  "telemetry_id",
];

let stytch: StytchEmulator;
let front: TlsFront;
let certDir: string;
let sdk: B2BClient;
let ours: SessionExchangeClient;
let members = 0;

beforeAll(async () => {
  stytch = await startStytchEmulator();
  certDir = mkdtempSync(join(tmpdir(), "stytch-sdk-exchange-"));
  const { certPath, keyPath } = generateLoopbackCertificate(certDir);
  front = await startTlsFront("stytch-sdk-exchange", stytch.url, {
    key: readFileSync(keyPath),
    cert: readFileSync(certPath),
  });
  sdk = new B2BClient({ project_id: stytch.projectId, secret: stytch.secret, custom_base_url: front.url });
  ours = new SessionExchangeClient({
    apiUrl: stytch.url,
    projectId: stytch.projectId,
    secret: async () => stytch.secret,
    timeoutMs: 10_000,
  });
  stytch.setOrganizationMfaPolicy("differential-mfa", "REQUIRED_FOR_ALL");
});

afterAll(async () => {
  await front?.close();
  closeUpstreamConnections();
  await stytch?.close();
  rmSync(certDir, { recursive: true, force: true });
});

/** A fresh member of `differential-home` with a session, who is also a member of `target`. */
function memberSwitchingTo(target: string) {
  members += 1;
  const email = `differential-${members}@example.com`;
  const session = stytch.createSession({ email, organizationSlug: "differential-home" });
  return { session, target: stytch.createMember({ email, organizationSlug: target }) };
}

/** The same exchange through both clients: the two bodies Stytch received, and both answers (or errors). */
async function both(
  organizationId: string,
  credential: SessionCredential,
  extra: { duration?: number; locale?: string },
) {
  const before = stytch.exchangeRequests.length;
  const theirs = await sdk.sessions
    .exchange({
      organization_id: organizationId,
      ...credential,
      ...(extra.duration === undefined ? {} : { session_duration_minutes: extra.duration }),
      ...(extra.locale === undefined ? {} : { locale: extra.locale }),
    })
    .catch((error: unknown) => error);
  const mine = await ours
    .exchange(organizationId, credential, {
      deadline: Date.now() + 10_000,
      ...(extra.duration === undefined ? {} : { sessionDurationMinutes: extra.duration }),
      ...(extra.locale === undefined ? {} : { locale: extra.locale }),
    })
    .catch((error: unknown) => error);
  const [sdkBody, ourBody] = stytch.exchangeRequests.slice(before).map((request) => request.body);
  return { theirs, mine, sdkBody, ourBody };
}

describe("sessions.exchange: our client against the Stytch SDK", () => {
  test("every field our types read is a field of the SDK's response types (the compiler checks it)", () => {
    expect([_switchedFields, _intermediateFields, _mfaFields, _primaryFields]).toEqual([true, true, true, true]);
  });

  test("a switch without MFA: the same request body, and both read a session in the organization asked for", async () => {
    const { session, target } = memberSwitchingTo("differential-open");
    for (const [credential, extra] of [
      [{ session_token: session.sessionToken }, {}],
      [{ session_jwt: session.sessionJwt }, { duration: 45, locale: "pt-br" }],
    ] as const) {
      const { theirs, mine, sdkBody, ourBody } = await both(target.organizationId, credential, extra);
      expect(ourBody).toEqual(sdkBody);
      for (const field of Object.keys(ourBody as object)) expect(SDK_REQUEST_FIELDS).toContain(field);
      const sdkAnswer = theirs as B2BSessionsExchangeResponse;
      const ourAnswer = mine as StytchExchangeSwitched;
      expect(sdkAnswer.member_authenticated).toBe(true);
      expect(ourAnswer.member_authenticated).toBe(true);
      for (const answer of [sdkAnswer, ourAnswer]) {
        expect(answer.member_id).toBe(target.memberId);
        expect(answer.member_session).toMatchObject({
          member_id: target.memberId,
          organization_id: target.organizationId,
          organization_slug: "differential-open",
        });
        expect(answer.session_jwt).toMatch(/^[\w-]+\.[\w-]+\.[\w-]+$/);
        expect(answer.session_token).toMatch(/^[A-Za-z0-9_-]{44}$/);
      }
      // The JWT of the SDK's answer verifies with the SDK, as a session of the new organization.
      const local = await sdk.sessions.authenticateJwtLocal({ session_jwt: sdkAnswer.session_jwt });
      expect(local.organization_id).toBe(target.organizationId);
    }
  });

  test("a switch into an organization that requires MFA: both read member_authenticated false and an intermediate session token", async () => {
    const { session, target } = memberSwitchingTo("differential-mfa");
    const { theirs, mine, sdkBody, ourBody } = await both(
      target.organizationId,
      { session_token: session.sessionToken },
      {
        locale: "es",
      },
    );
    expect(ourBody).toEqual(sdkBody);
    const sdkAnswer = theirs as B2BSessionsExchangeResponse;
    const ourAnswer = mine as StytchExchangeIntermediate;
    for (const answer of [sdkAnswer, ourAnswer]) {
      expect(answer.member_authenticated).toBe(false);
      expect(answer.member_id).toBe(target.memberId);
      expect(answer.intermediate_session_token).toMatch(/^[A-Za-z0-9_-]{44}$/);
      expect(answer.organization?.organization_id).toBe(target.organizationId);
      expect(answer.mfa_required).toEqual({
        member_options: { mfa_phone_number: "", totp_registration_id: "" },
        secondary_auth_initiated: null,
      });
    }
    expect(sdkAnswer.member_session ?? undefined).toBeUndefined();
    expect(sdkAnswer.session_jwt).toBe("");
  });

  test("errors: the SDK's StytchError and our failure tree agree on which answer is which", async () => {
    const { session } = memberSwitchingTo("differential-open");
    const stranger = stytch.createMember({ email: "stranger@example.com", organizationSlug: "differential-elsewhere" });
    const notMember = await both(stranger.organizationId, { session_token: session.sessionToken }, {});
    expect(notMember.ourBody).toEqual(notMember.sdkBody);
    expect(notMember.theirs).toBeInstanceOf(StytchError);
    expect(notMember.theirs).toMatchObject({ status_code: 404, error_type: "member_not_found" });
    expect(notMember.mine).toBeInstanceOf(OrganizationSwitchRefusedError);

    stytch.revokeSession(session.memberSessionId);
    const dead = await both(stranger.organizationId, { session_token: session.sessionToken }, {});
    expect(dead.theirs).toMatchObject({ status_code: 404, error_type: "session_not_found" });
    expect(dead.mine).toBeInstanceOf(RevokedSessionError);
  });
});

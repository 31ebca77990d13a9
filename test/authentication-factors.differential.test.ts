// Differential test: our reading of a session's authentication factors (lambda/lib/session/authentication-factors.ts,
// through the JWT path and the opaque-token path) against the official Stytch Node SDK's session shape: what
// `sessions.authenticateJwtLocal` returns as `authentication_factors` for the session JWT, and what
// `sessions.authenticate` returns as `member_session.authentication_factors` for the opaque token (the SDK's
// `AuthenticationFactor`, types/lib/b2c/sessions.d.ts). For generated sessions, well-formed and malformed:
//
// - both of our paths read the same factors, in the SDK's order, one for one;
// - each field we read is the SDK's field of the same meaning (`type`, `delivery_method`, `last_authenticated_at`,
//   the SSO connection `saml_sso_factor`/`oidc_sso_factor.provider_id`, `impersonated_factor.impersonator_id`), except
//   where we are deliberately stricter, and every such case is named below;
// - the emulator's factors use only field names the SDK declares, so the emulator speaks Stytch's wire format.
//
// The SDK only speaks https: it reaches the emulator through the loopback TLS front, with certificate checks
// switched off in this test process only.

import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { B2BClient } from "stytch";
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import type { AuthenticationFactor } from "../lambda/lib/response/member-context";
import { parseJwks } from "../lambda/lib/session/jwks-cache";
import { SessionJwtVerifier, sessionJwtHeader } from "../lambda/lib/session/session-jwt";
import { memberSessionFromStytch } from "../lambda/lib/session/session-verdict";
import { createSecretProvider } from "../lambda/lib/stytch/project-secret";
import { StytchClient } from "../lambda/lib/stytch/stytch-client";
import { type EmulatedFactor, FACTOR_KINDS, type StytchEmulator, startStytchEmulator } from "../local/stytch-emulator";
import { generateLoopbackCertificate } from "../local/tls-cert";
import { closeUpstreamConnections, startTlsFront, type TlsFront } from "../local/tls-front";

process.env.NODE_TLS_REJECT_UNAUTHORIZED = "0";

let stytch: StytchEmulator;
let front: TlsFront;
let certDir: string;
let sdk: B2BClient;
let ours: StytchClient;
const NOW = Math.floor(Date.now() / 1000);

/**
 * The fields of the SDK's `AuthenticationFactor` (stytch 14, types/lib/b2c/sessions.d.ts) that the emulator writes,
 * and the fields of their details objects.
 */
const SDK_FACTOR_FIELDS: Readonly<Record<string, readonly string[] | null>> = {
  type: null,
  delivery_method: null,
  last_authenticated_at: null,
  created_at: null,
  updated_at: null,
  email_factor: ["email_id", "email_address"],
  phone_number_factor: ["phone_id", "phone_number"],
  authenticator_app_factor: ["totp_id"],
  recovery_code_factor: ["totp_recovery_code_id"],
  saml_sso_factor: ["id", "provider_id", "external_id"],
  oidc_sso_factor: ["id", "provider_id", "external_id"],
  impersonated_factor: ["impersonator_id", "impersonator_email_address"],
};

/**
 * Malformed factors the SDK passes on as they are. Ours reads each more strictly (expectedReading names why), except
 * a future date and an unknown type, which it reads as written and leaves to the step-up check to refuse.
 */
const MALFORMED: readonly unknown[] = [
  { type: "totp", delivery_method: "authenticator_app" },
  { type: "totp", delivery_method: "authenticator_app", last_authenticated_at: 1_700_000_000 },
  { type: "otp", delivery_method: "sms", last_authenticated_at: "yesterday" },
  { type: "otp", delivery_method: "sms", last_authenticated_at: "2026-02-30T10:00:00Z" },
  { type: "totp", delivery_method: "authenticator_app", last_authenticated_at: "2099-01-01T00:00:00Z" },
  { type: "mind_reading", delivery_method: "telepathy", last_authenticated_at: "2026-01-01T00:00:00Z" },
  { type: "TOTP", delivery_method: "authenticator_app", last_authenticated_at: "2026-01-01T00:00:00Z" },
  {
    type: "sso",
    delivery_method: "sso_saml",
    last_authenticated_at: "2026-01-01T00:00:00Z",
    saml_sso_factor: { provider_id: 'x"}' },
  },
  {
    type: "totp",
    delivery_method: "authenticator_app",
    last_authenticated_at: "2026-01-01T00:00:00Z",
    impersonated_factor: { impersonator_id: "member-test-hidden", impersonator_email_address: "x@stytch.example" },
  },
  { type: "impersonated", delivery_method: "email", last_authenticated_at: "2026-01-01T00:00:00Z" },
  null,
  "totp",
];

/** A small deterministic PRNG, so a failure reproduces. */
function prng(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state * 1_664_525 + 1_013_904_223) >>> 0;
    return state / 2 ** 32;
  };
}

/** What we must read from one factor as the SDK hands it over: the same meaning, field by field. */
function expectedReading(factor: unknown): { reading: AuthenticationFactor; stricter?: string } {
  if (typeof factor !== "object" || factor === null || Array.isArray(factor))
    return { reading: { type: "", deliveryMethod: "", lastAuthenticatedAt: "" }, stricter: "not an object" };
  const f = factor as Record<string, any>;
  const date =
    typeof f.last_authenticated_at === "string" &&
    /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}Z$/.test(f.last_authenticated_at) &&
    new Date(f.last_authenticated_at).toISOString().replace(".000", "") === f.last_authenticated_at
      ? f.last_authenticated_at
      : "";
  const stricter = date === "" ? "not an RFC 3339 date" : undefined;
  if (f.type === "impersonated" || f.delivery_method === "impersonation" || f.impersonated_factor !== undefined) {
    const id = f.impersonated_factor?.impersonator_id;
    return {
      reading: {
        type: "impersonated",
        deliveryMethod: "impersonation",
        lastAuthenticatedAt: date,
        ...(typeof id === "string" && /^[A-Za-z0-9._:@-]{1,128}$/.test(id) ? { impersonatorId: id } : {}),
      },
      stricter: f.type !== "impersonated" || f.delivery_method !== "impersonation" ? "the impersonation" : stricter,
    };
  }
  const identifier = (value: unknown) => (typeof value === "string" && /^[a-z0-9_]{1,64}$/.test(value) ? value : "");
  const details =
    f.delivery_method === "sso_saml"
      ? f.saml_sso_factor
      : f.delivery_method === "sso_oidc"
        ? f.oidc_sso_factor
        : undefined;
  const connection = f.type === "sso" ? details?.provider_id : undefined;
  return {
    reading: {
      type: identifier(f.type),
      deliveryMethod: identifier(f.delivery_method),
      lastAuthenticatedAt: date,
      ...(typeof connection === "string" && /^[A-Za-z0-9._:@-]{1,128}$/.test(connection)
        ? { connectionId: connection }
        : {}),
    },
    stricter: identifier(f.type) !== f.type ? "not an identifier" : stricter,
  };
}

beforeAll(async () => {
  stytch = await startStytchEmulator();
  certDir = mkdtempSync(join(tmpdir(), "stytch-sdk-factors-"));
  const { certPath, keyPath } = generateLoopbackCertificate(certDir);
  front = await startTlsFront("stytch-sdk-factors", stytch.url, {
    key: readFileSync(keyPath),
    cert: readFileSync(certPath),
  });
  sdk = new B2BClient({ project_id: stytch.projectId, secret: stytch.secret, custom_base_url: front.url });
  ours = new StytchClient({
    apiUrl: stytch.url,
    projectId: stytch.projectId,
    secret: createSecretProvider({ kind: "value", value: stytch.secret }),
    timeoutMs: 10_000,
  });
});

afterAll(async () => {
  await front?.close();
  closeUpstreamConnections();
  await stytch?.close();
  rmSync(certDir, { recursive: true, force: true });
});

describe("our reading of authentication_factors equals the Stytch SDK's session shape", () => {
  test("for 120 generated sessions, through the session JWT and the opaque session token", async () => {
    const random = prng(0xfac7);
    const verifier = new SessionJwtVerifier({
      projectId: stytch.projectId,
      issuers: [`stytch.com/${stytch.projectId}`, front.url],
      clockToleranceSeconds: 5,
      maxTokenAgeSeconds: undefined,
    });
    const keys = await parseJwks(stytch.jwks());
    const disagreements: unknown[] = [];
    const stricterTally: Record<string, number> = {};
    for (let i = 0; i < 120; i++) {
      const count = 1 + Math.floor(random() * 4);
      const factors: EmulatedFactor[] = [];
      for (let n = 0; n < count; n++) {
        if (random() < 0.25) factors.push({ raw: MALFORMED[Math.floor(random() * MALFORMED.length)] as never });
        else
          factors.push({
            kind: FACTOR_KINDS[Math.floor(random() * FACTOR_KINDS.length)]!,
            authenticatedAt: NOW - Math.floor(random() * 3_600),
          });
      }
      const session = stytch.createSession({ roles: ["editor"], authenticationFactors: factors });
      const theirsLocal = await sdk.sessions.authenticateJwtLocal({ session_jwt: session.sessionJwt });
      const theirsRemote = await sdk.sessions.authenticate({ session_token: session.sessionToken });
      const key = keys.get(sessionJwtHeader(session.sessionJwt).kid)!;
      const oursLocal = (await verifier.verify(session.sessionJwt, key)).memberSession.authenticationFactors;
      const oursRemote = memberSessionFromStytch(
        await ours.authenticate({ session_token: session.sessionToken }, { deadline: Date.now() + 10_000 }),
        "session_token",
      ).authenticationFactors;

      // The SDK hands over the same list from both ways in (the API's copy adds created_at/updated_at).
      const strip = (list: unknown[]) =>
        list.map((f) => {
          if (typeof f !== "object" || f === null) return f;
          const { created_at: _c, updated_at: _u, ...rest } = f as Record<string, unknown>;
          return rest;
        });
      expect(strip(theirsRemote.member_session.authentication_factors)).toEqual(
        strip(theirsLocal.authentication_factors),
      );

      const expected = (theirsLocal.authentication_factors as unknown[]).map(expectedReading);
      for (const { stricter } of expected) if (stricter) stricterTally[stricter] = (stricterTally[stricter] ?? 0) + 1;
      const wanted = expected.map(({ reading }) => reading);
      if (JSON.stringify(oursLocal) !== JSON.stringify(wanted) || JSON.stringify(oursRemote) !== JSON.stringify(wanted))
        disagreements.push({ sdk: theirsLocal.authentication_factors, oursLocal, oursRemote, wanted });
      // Where the SDK's factor is well formed, the times mean the same instant.
      oursLocal.forEach((factor, index) => {
        const theirs = (theirsLocal.authentication_factors as Array<{ last_authenticated_at?: unknown }>)[index];
        if (factor.lastAuthenticatedAt !== "")
          expect(Date.parse(factor.lastAuthenticatedAt)).toBe(Date.parse(theirs?.last_authenticated_at as string));
      });
    }
    expect(disagreements).toEqual([]);
    // The generated sessions exercise the deliberate differences.
    expect(Object.keys(stricterTally).length).toBeGreaterThanOrEqual(4);
  });

  test("the emulator's factors, field by field, are those of the SDK's AuthenticationFactor", async () => {
    for (const kind of FACTOR_KINDS) {
      const session = stytch.createSession({ authenticationFactors: [{ kind }] });
      const response = await sdk.sessions.authenticate({ session_token: session.sessionToken });
      const [factor] = response.member_session.authentication_factors as unknown as Array<Record<string, unknown>>;
      for (const [field, value] of Object.entries(factor!)) {
        expect(Object.keys(SDK_FACTOR_FIELDS), `${kind}.${field}`).toContain(field);
        const details = SDK_FACTOR_FIELDS[field];
        if (details) expect(Object.keys(value as object).sort(), `${kind}.${field}`).toEqual([...details].sort());
      }
      expect(typeof factor!.last_authenticated_at).toBe("string");
    }
  });
});

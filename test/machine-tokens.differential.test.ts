// Differential test: our verdicts on machine tokens against the official Stytch Node SDK, the oracle for Stytch's
// semantics: `m2m.authenticateToken` with `required_scopes` for M2M access tokens, and `idp.introspectTokenLocal`
// with an `authorization_check` for Connected-App access tokens (the SDK's jose 5, a remote JWKS and the project
// RBAC policy, through the loopback TLS front). Generated tokens and scope sets must get the same verdict from
// both, except where we are deliberately stricter: every such case is named below (STRICTER), and each must really
// occur, so the comparison cannot drift into proving nothing.
//
// Verdicts:
//   allowed            – the SDK returns;                                ours: the caller, and the route's check passes
//   insufficient       – SDK: ClientError missing_scopes (M2M) or        ours: the caller, but its scopes do not grant it
//                        invalid_permissions (Connected App)
//   tenancy_mismatch   – SDK: ClientError tenancy_mismatch               ours: another organization
//   denied             – the SDK throws anything else (TypeError too);   ours: a CredentialRejectedError, or a token of
//                                                                        another caller type

import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { B2BClient } from "stytch";
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import { m2mScopesGrant } from "../lambda/lib/callers/m2m-scopes";
import { CredentialRejectedError } from "../lambda/lib/errors";
import { type RbacScope, scopesGrant } from "../lambda/lib/permissions/permission-check";
import { parseJwks, type VerificationKey } from "../lambda/lib/session/jwks-cache";
import { type ClaimRules, SessionJwtVerifier, sessionJwtHeader } from "../lambda/lib/session/session-jwt";
import { DEMO_RBAC_POLICY, type StytchEmulator, startStytchEmulator } from "../local/stytch-emulator";
import { generateLoopbackCertificate } from "../local/tls-cert";
import { closeUpstreamConnections, startTlsFront, type TlsFront } from "../local/tls-front";
import { foreignPrivateKey } from "./support/forgeries";

// The loopback front's certificate is self-signed; the SDK has no option to trust one CA.
process.env.NODE_TLS_REJECT_UNAUTHORIZED = "0";

type Verdict = "allowed" | "insufficient" | "tenancy_mismatch" | "denied";

/** A generated token and the check it is asked for; `stricter` names why ours must deny what the SDK may accept. */
interface Case {
  readonly token: string;
  readonly mutation: string;
  readonly scope: unknown;
  readonly stricter?: string;
  /** M2M: the one required scope (`action:resource`), or none. */
  readonly requiredScope?: { action: string; resource: string };
  /** Connected App: the SDK's authorization_check. */
  readonly check?: { organization_id: string; resource_id: string; action: string };
}

// STRICTER: every way ours deliberately refuses (or grants less than) what the SDK accepts.
const STRICTER = {
  sessionClaims: "session claims next to client claims are ambiguous (401 ambiguous_token); the SDK reads either",
  organizationOnM2m: "an M2M token with an organization claim is ambiguous; the SDK's M2M check ignores it",
  clientIdOnM2m: "a client_id makes a Connected-App token, never an M2M one; the SDK's M2M check ignores it",
  m2mSubNotClient: "an M2M sub must be an M2M client id (401 malformed_client_id); the SDK takes any sub, even none",
  scopeGrammar: "scope must be RFC 6749 scope tokens with single spaces (401 malformed_scope); the SDK splits anything",
  secondColon: "a scope with a second ':' grants nothing; the SDK reads read:documents:x as read:documents",
  caClientId: "a Connected-App client_id must be one (401 malformed_client_id); introspectTokenLocal never reads it",
  caNoClientId: "without client_id, scope plus organization is ambiguous; introspectTokenLocal never reads client_id",
  caSubNotMember: "a Connected-App sub must be a member id (401 malformed_claims); the SDK takes any sub",
  caJti: "a non-string jti is malformed (401 malformed_claims); the SDK ignores jti",
} as const;

let stytch: StytchEmulator;
let front: TlsFront;
let certDir: string;
let sdk: B2BClient;
let keys: Map<string, VerificationKey>;
let verifier: SessionJwtVerifier;
const NOW = Math.floor(Date.now() / 1000);
const TOLERANCE = 5;
const OTHER_PROJECT = "project-test-99999999-9999-9999-9999-999999999999";

function prng(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state * 1_664_525 + 1_013_904_223) >>> 0;
    return state / 2 ** 32;
  };
}

function sign(payload: Record<string, unknown>, key: "current" | "foreign" = "current"): string {
  return stytch.signJwt({ alg: "RS256", kid: stytch.currentKid, typ: "JWT" }, payload, {
    key: key === "foreign" ? foreignPrivateKey() : "current",
  });
}

/** Our steps of the authorizer's local path: verifyCaller, then the route's check for the caller's type. */
async function ours(testCase: Case): Promise<{ verdict: Verdict; why?: string }> {
  try {
    const key = keys.get(sessionJwtHeader(testCase.token).kid);
    if (!key) return { verdict: "denied", why: "unknown kid" };
    const authentic = await verifier.verifyCaller(testCase.token, key);
    if (authentic.type !== "machine") return { verdict: "denied", why: "a member session" };
    const caller = authentic.caller;
    if (testCase.requiredScope) {
      if (caller.type !== "m2m") return { verdict: "denied", why: `a ${caller.type} token` };
      const { action, resource } = testCase.requiredScope;
      return { verdict: m2mScopesGrant(caller.scopes, resource, action) ? "allowed" : "insufficient" };
    }
    if (testCase.check) {
      if (caller.type !== "connected_app") return { verdict: "denied", why: `a ${caller.type} token` };
      if (caller.member.organizationId !== testCase.check.organization_id) return { verdict: "tenancy_mismatch" };
      const granted = scopesGrant(
        DEMO_RBAC_POLICY.scopes as readonly RbacScope[],
        caller.scopes,
        testCase.check.resource_id,
        testCase.check.action,
      );
      return { verdict: granted ? "allowed" : "insufficient" };
    }
    return { verdict: caller.type === "m2m" ? "allowed" : "denied", why: caller.type };
  } catch (error) {
    if (error instanceof CredentialRejectedError) return { verdict: "denied", why: error.reason };
    throw error;
  }
}

/** The SDK's verdict: `m2m.authenticateToken` or `idp.introspectTokenLocal`, same tolerance and issuers. */
async function theirs(testCase: Case): Promise<{ verdict: Verdict; crashed?: boolean }> {
  try {
    if (testCase.check) {
      await sdk.idp.introspectTokenLocal(testCase.token, {
        clock_tolerance_seconds: TOLERANCE,
        authorization_check: testCase.check,
      });
    } else {
      const required = testCase.requiredScope;
      await sdk.m2m.authenticateToken({
        access_token: testCase.token,
        clock_tolerance_seconds: TOLERANCE,
        ...(required ? { required_scopes: [`${required.action}:${required.resource}`] } : {}),
      });
    }
    return { verdict: "allowed" };
  } catch (error) {
    const code = (error as { code?: string }).code;
    if (code === "missing_scopes" || code === "invalid_permissions") return { verdict: "insufficient" };
    if (code === "tenancy_mismatch") return { verdict: "tenancy_mismatch" };
    // A TypeError (a scope that is not a string, no organization claim) is the SDK crashing: a denial all the same.
    return { verdict: "denied", crashed: !(error instanceof Error && "code" in error) };
  }
}

const SCOPE_POOL = [
  "read:documents",
  "write:documents",
  "read:*",
  "read",
  "*:documents",
  "read:billing",
  "delete:*",
  "read:documents:extra",
  "READ:documents",
  "read:-",
  "openid",
  "documents:read",
] as const;

function scopeOf(random: () => number): string {
  const count = Math.floor(random() * 4);
  const scopes: string[] = [];
  for (let i = 0; i < count; i++) scopes.push(SCOPE_POOL[Math.floor(random() * SCOPE_POOL.length)]!);
  return scopes.join(" ");
}

/** A scope string (or value) the grammar may refuse, with the M2M or Connected-App spelling as its base. */
function spelledScope(random: () => number, base: string): unknown {
  const roll = random();
  if (roll < 0.82) return base;
  return [` ${base}`, `${base} `, `${base}  read:billing`, `${base}\tread:billing`, 42, [base], null][
    Math.floor(random() * 7)
  ];
}

function isGrammatical(scope: unknown): boolean {
  return typeof scope === "string" && /^([\x21\x23-\x5B\x5D-\x7E]+( [\x21\x23-\x5B\x5D-\x7E]+)*)?$/.test(scope);
}

function m2mCases(count: number, seed: number): Case[] {
  const random = prng(seed);
  const client = stytch.createM2MClient({ scopes: [] });
  const session = stytch.createSession({ roles: ["viewer"] });
  const app = stytch.createConnectedApp();
  const cases: Case[] = [];
  const required = [
    undefined,
    { action: "read", resource: "documents" },
    { action: "write", resource: "documents" },
    { action: "read", resource: "billing" },
    { action: "delete", resource: "documents" },
    { action: "read", resource: "-" },
  ];
  for (let i = 0; i < count; i++) {
    const mutations = [
      "none",
      "expired",
      "not yet valid",
      "wrong audience",
      "wrong issuer",
      "foreign key",
      "session claims",
      "organization claim",
      "client_id claim",
      "sub is a member id",
      "no sub",
      "no scope",
    ] as const;
    const mutation = random() < 0.55 ? "none" : mutations[Math.floor(random() * mutations.length)]!;
    const scope = spelledScope(random, scopeOf(random));
    const overrides: Record<string, unknown> = { scope, jti: `m2m-${i}` };
    let stricter: string | undefined;
    switch (mutation) {
      case "expired":
        Object.assign(overrides, { iat: NOW - 7200, nbf: NOW - 7200, exp: NOW - 3600 });
        break;
      case "not yet valid":
        overrides.nbf = NOW + 600;
        break;
      case "wrong audience":
        overrides.aud = [OTHER_PROJECT];
        break;
      case "wrong issuer":
        overrides.iss = `stytch.com/${OTHER_PROJECT}`;
        break;
      case "session claims":
        overrides["https://stytch.com/session"] = { id: "member-session-test-1", roles: [] };
        stricter = STRICTER.sessionClaims;
        break;
      case "organization claim":
        overrides["https://stytch.com/organization"] = { organization_id: session.organizationId, slug: "acme" };
        stricter = STRICTER.organizationOnM2m;
        break;
      case "client_id claim":
        overrides.client_id = app.clientId;
        stricter = STRICTER.clientIdOnM2m;
        break;
      case "sub is a member id":
        overrides.sub = session.memberId;
        stricter = STRICTER.m2mSubNotClient;
        break;
      case "no sub":
        overrides.sub = undefined;
        stricter = STRICTER.m2mSubNotClient;
        break;
      case "no scope":
        overrides.scope = undefined;
        break;
    }
    if (!stricter && mutation !== "no scope" && !isGrammatical(scope)) stricter = STRICTER.scopeGrammar;
    const payload = stytch.m2mTokenPayload(client.clientId, overrides);
    cases.push({
      token: sign(payload, mutation === "foreign key" ? "foreign" : "current"),
      mutation,
      scope: payload.scope,
      stricter,
      requiredScope: required[Math.floor(random() * required.length)],
    });
  }
  return cases;
}

function connectedAppCases(count: number, seed: number): Case[] {
  const random = prng(seed);
  const session = stytch.createSession({ roles: ["viewer"] });
  const other = stytch.createSession({ roles: ["viewer"], organizationSlug: "globex" });
  const app = stytch.createConnectedApp();
  const m2m = stytch.createM2MClient();
  const checks = [
    ["documents", "read"],
    ["documents", "write"],
    ["billing", "read"],
    ["documents", "delete"],
  ] as const;
  const cases: Case[] = [];
  for (let i = 0; i < count; i++) {
    const mutations = [
      "none",
      "expired",
      "wrong audience",
      "foreign key",
      "session claims",
      "client_id not a Connected App's",
      "no client_id",
      "sub not a member id",
      "no organization claim",
      "no slug",
      "numeric jti",
    ] as const;
    const mutation = random() < 0.55 ? "none" : mutations[Math.floor(random() * mutations.length)]!;
    // A granting scope in about half the tokens, so that allowed answers are frequent enough to compare.
    const granting = random() < 0.4 ? "read:documents" : random() < 0.3 ? "write:documents" : "";
    const scope = spelledScope(random, [scopeOf(random), granting].filter(Boolean).join(" "));
    const { claims } = stytch.issueConnectedAppToken({ clientId: app.clientId, memberId: session.memberId });
    const payload: Record<string, unknown> = { ...claims, scope };
    let stricter: string | undefined;
    switch (mutation) {
      case "expired":
        Object.assign(payload, { iat: NOW - 7200, nbf: NOW - 7200, exp: NOW - 3600 });
        break;
      case "wrong audience":
        payload.aud = [OTHER_PROJECT];
        break;
      case "session claims":
        payload["https://stytch.com/session"] = { id: "member-session-test-1", roles: [] };
        stricter = STRICTER.sessionClaims;
        break;
      case "client_id not a Connected App's":
        payload.client_id = m2m.clientId;
        stricter = STRICTER.caClientId;
        break;
      case "no client_id":
        delete payload.client_id;
        stricter = STRICTER.caNoClientId;
        break;
      case "sub not a member id":
        payload.sub = app.clientId;
        stricter = STRICTER.caSubNotMember;
        break;
      case "no organization claim":
        delete payload["https://stytch.com/organization"];
        break;
      case "no slug":
        payload["https://stytch.com/organization"] = { organization_id: session.organizationId };
        break;
      case "numeric jti":
        payload.jti = 7;
        stricter = STRICTER.caJti;
        break;
    }
    if (!stricter && !isGrammatical(scope) && typeof scope === "string") stricter = STRICTER.scopeGrammar;
    const [resource_id, action] = checks[Math.floor(random() * checks.length)]!;
    cases.push({
      token: sign(payload, mutation === "foreign key" ? "foreign" : "current"),
      mutation,
      scope,
      stricter,
      check: {
        organization_id: random() < 0.8 ? session.organizationId : other.organizationId,
        resource_id,
        action,
      },
    });
  }
  return cases;
}

/** Compares every case; returns the disagreements and how often each deliberate difference occurred. */
async function compare(cases: readonly Case[], scopeWithoutSecondColon?: (testCase: Case) => Promise<Verdict>) {
  const disagreements: Array<Record<string, unknown>> = [];
  const stricterSeen: Record<string, number> = {};
  const tally: Record<Verdict, number> = { allowed: 0, insufficient: 0, tenancy_mismatch: 0, denied: 0 };
  let crashes = 0;
  for (const testCase of cases) {
    const sdkAnswer = await theirs(testCase);
    const ourAnswer = await ours(testCase);
    tally[sdkAnswer.verdict] += 1;
    if (sdkAnswer.crashed) crashes += 1;
    let expected = sdkAnswer.verdict;
    if (testCase.stricter) {
      if (sdkAnswer.verdict !== "denied") stricterSeen[testCase.stricter] = (stricterSeen[testCase.stricter] ?? 0) + 1;
      expected = "denied";
    } else if (sdkAnswer.verdict === "allowed" && scopeWithoutSecondColon && /:[^ ]*:/.test(String(testCase.scope))) {
      // STRICTER.secondColon: what the SDK says once the scopes with a second ':' are gone is what ours must say.
      const without = await scopeWithoutSecondColon(testCase);
      if (without !== "allowed") {
        stricterSeen[STRICTER.secondColon] = (stricterSeen[STRICTER.secondColon] ?? 0) + 1;
        expected = without;
      }
    }
    if (ourAnswer.verdict !== expected)
      disagreements.push({
        mutation: testCase.mutation,
        scope: testCase.scope,
        required: testCase.requiredScope ?? testCase.check,
        ours: ourAnswer.verdict,
        why: ourAnswer.why,
        sdk: sdkAnswer.verdict,
        expected,
      });
  }
  return { disagreements, stricterSeen, tally, crashes };
}

beforeAll(async () => {
  stytch = await startStytchEmulator();
  certDir = mkdtempSync(join(tmpdir(), "stytch-sdk-machine-oracle-"));
  const { certPath, keyPath } = generateLoopbackCertificate(certDir);
  front = await startTlsFront("stytch-sdk-machine-oracle", stytch.url, {
    key: readFileSync(keyPath),
    cert: readFileSync(certPath),
  });
  sdk = new B2BClient({ project_id: stytch.projectId, secret: stytch.secret, custom_base_url: front.url });
  const rules: ClaimRules = {
    projectId: stytch.projectId,
    issuers: [`stytch.com/${stytch.projectId}`, front.url],
    clockToleranceSeconds: TOLERANCE,
    maxTokenAgeSeconds: undefined,
  };
  verifier = new SessionJwtVerifier(rules);
  keys = await parseJwks(stytch.jwks());
});

afterAll(async () => {
  await front?.close();
  closeUpstreamConnections();
  await stytch?.close();
  rmSync(certDir, { recursive: true, force: true });
});

describe("M2M access tokens: our verdict equals m2m.authenticateToken with required_scopes", () => {
  test("for 500 generated tokens and scope sets", async () => {
    const cases = m2mCases(500, 0x6d326d);
    const { disagreements, stricterSeen, tally, crashes } = await compare(cases, async (testCase) => {
      const kept = String(testCase.scope)
        .split(" ")
        .filter((scope) => !/:.*:/.test(scope))
        .join(" ");
      const payload = JSON.parse(Buffer.from(testCase.token.split(".")[1]!, "base64url").toString("utf8"));
      return (await theirs({ ...testCase, token: sign({ ...payload, scope: kept }) })).verdict;
    });
    expect(disagreements).toEqual([]);
    expect(tally.allowed).toBeGreaterThan(40);
    expect(tally.insufficient).toBeGreaterThan(40);
    expect(tally.denied).toBeGreaterThan(40);
    // The SDK crashes (TypeError on scope.split) on tokens without a string scope: a denial, as ours (401).
    expect(crashes).toBeGreaterThan(5);
    for (const reason of [
      STRICTER.sessionClaims,
      STRICTER.organizationOnM2m,
      STRICTER.clientIdOnM2m,
      STRICTER.m2mSubNotClient,
      STRICTER.scopeGrammar,
      STRICTER.secondColon,
    ])
      expect(stricterSeen[reason] ?? 0, reason).toBeGreaterThan(0);
  });
});

describe("Connected-App access tokens: our verdict equals idp.introspectTokenLocal with an authorization_check", () => {
  test("for 400 generated tokens, scope sets and checks", async () => {
    const { disagreements, stricterSeen, tally, crashes } = await compare(connectedAppCases(400, 0xc0a99));
    expect(disagreements).toEqual([]);
    expect(tally.allowed).toBeGreaterThan(20);
    expect(tally.insufficient).toBeGreaterThan(40);
    expect(tally.tenancy_mismatch).toBeGreaterThan(20);
    expect(tally.denied).toBeGreaterThan(40);
    // The SDK crashes (TypeError) on a token without an organization claim or a string scope: a denial, as ours.
    expect(crashes).toBeGreaterThan(5);
    for (const reason of [
      STRICTER.sessionClaims,
      STRICTER.caClientId,
      STRICTER.caNoClientId,
      STRICTER.caSubNotMember,
      STRICTER.caJti,
      STRICTER.scopeGrammar,
    ])
      expect(stricterSeen[reason] ?? 0, reason).toBeGreaterThan(0);
  });
});

describe("the emulator speaks Stytch's wire format to the SDK", () => {
  test("m2m.token gets an access token from the token endpoint that m2m.authenticateToken and ours accept", async () => {
    const client = stytch.createM2MClient({ scopes: ["read:documents", "write:*"] });
    const answer = await sdk.m2m.token({
      client_id: client.clientId,
      client_secret: client.clientSecret,
      scopes: ["read:documents"],
    });
    expect(answer).toMatchObject({ token_type: "bearer", expires_in: 3600 });
    const sdkView = await sdk.m2m.authenticateToken({
      access_token: answer.access_token,
      required_scopes: ["read:documents"],
    });
    expect(sdkView).toMatchObject({ client_id: client.clientId, scopes: ["read:documents"] });
    const testCase: Case = {
      token: answer.access_token,
      mutation: "none",
      scope: "read:documents",
      requiredScope: { action: "read", resource: "documents" },
    };
    expect((await ours(testCase)).verdict).toBe("allowed");
    await expect(
      sdk.m2m.token({ client_id: client.clientId, client_secret: "wrong", scopes: [] }),
    ).rejects.toMatchObject({ status_code: 401, error_type: "invalid_client" });
  });

  test("idp.introspectTokenNetwork reads the introspection answer, organization claim included", async () => {
    const session = stytch.createSession({ roles: ["viewer"] });
    const app = stytch.createConnectedApp();
    const issued = stytch.issueConnectedAppToken({ clientId: app.clientId, memberId: session.memberId });
    const claims = await sdk.idp.introspectTokenNetwork(
      { token: issued.opaqueAccessToken, client_id: app.clientId, token_type_hint: "access_token" },
      {
        authorization_check: {
          organization_id: session.organizationId,
          resource_id: "documents",
          action: "read",
        },
      },
    );
    expect(claims).toMatchObject({
      subject: session.memberId,
      scope: "read:documents",
      token_type: "access_token",
      organization: { organization_id: session.organizationId },
    });
    stytch.revokeConnectedAppToken(issued.opaqueAccessToken);
    await expect(
      sdk.idp.introspectTokenNetwork({ token: issued.opaqueAccessToken, client_id: app.clientId }),
    ).rejects.toMatchObject({ code: "token_invalid" });
  });
});

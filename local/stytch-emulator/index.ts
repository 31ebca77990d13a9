/**
 * A loopback-only emulator of the parts of the Stytch B2B API that a session authorizer talks to:
 *
 * - `GET  /v1/b2b/sessions/jwks/{project_id}`
 * - `POST /v1/b2b/sessions/authenticate`
 * - `POST /v1/b2b/sessions/revoke`
 * - `POST /v1/b2b/sessions/exchange` (a member's session for one in another organization; see `session-exchange.ts`)
 * - `GET  /v1/b2b/rbac/policy` (the project's RBAC policy; {@link DEMO_RBAC_POLICY} unless replaced)
 * - `GET  /v1/b2b/rbac/organizations/{organization_id}` (an organization's custom roles)
 * - `POST /v1/public/{project_id}/oauth2/token` (M2M access tokens: the client credentials grant)
 * - `POST /v1/public/{project_id}/oauth2/introspect` (Connected-App token introspection, RFC 7662)
 *
 * The wire format follows `stytch-b2b-sessions.md` (the shared reference). Where that reference marks a
 * behaviour UNVERIFIED, the choice made here is flagged with an `UNVERIFIED:` comment, so that a reader can tell
 * an emulator decision from a documented Stytch fact.
 *
 * Besides serving HTTP, the emulator is a test fixture: it creates sessions, M2M clients and Connected Apps, issues
 * their tokens (a Connected App's without the consent flow), mints and forges JWTs, rotates keys and injects faults
 * (errors, hangs, connection resets, latency, oversized or garbage key sets).
 *
 * Only node built-ins are used, so the emulator can also back the local dev server and benchmarks without
 * pulling a JOSE library into the thing that is supposed to check our use of one.
 *
 * Each API area is a module that registers its routes in the route table of `router.ts`; this file is the public
 * API and puts the parts together. A new endpoint is a `Route` (its counter in `call-counters.ts`, its fault
 * switch, if any, in `faults.ts`) registered in {@link startStytchEmulator}; JWTs of any kind are minted with the
 * project's keys by `SigningKeys.mint`.
 *
 * @module
 */
import type { KeyObject } from "node:crypto";
import { CallCounters, type CallCounts, type ReceivedAuthenticateRequest } from "./call-counters";
import {
  ConnectedApps,
  type CreateConnectedAppOptions,
  type CreatedConnectedApp,
  type IssueConnectedAppTokenOptions,
  type IssuedConnectedAppToken,
  introspectionRoute,
} from "./connected-apps";
import { DEMO_RBAC_POLICY } from "./demo-rbac-policy";
import { FaultInjector, type FaultSwitch, type FaultSwitches, type JwksFaultMode } from "./faults";
import { EmulatorHttpServer } from "./http-server";
import { type Algorithm, signCompact } from "./jws";
import { type CreatedM2MClient, type CreateM2MClientOptions, M2MClients, m2mTokenRoute } from "./m2m";
import { type EmulatorMember, type MfaPolicy, Organizations } from "./organizations";
import { Project } from "./project";
import {
  type OrganizationPolicyFault,
  RbacPolicies,
  type RbacPolicy,
  type RbacRole,
  rbacPolicyRoutes,
} from "./rbac-policies";
import { Router } from "./router";
import { sessionRoutes } from "./session-endpoints";
import { sessionExchangeRoute } from "./session-exchange";
import { type CreatedSession, type CreateSessionOptions, Sessions } from "./sessions";
import { jwksBody, jwksRoute, SigningKeys } from "./signing-keys";
import { nowSeconds } from "./time";

export type { EmulatedFactor, FactorKind } from "./authentication-factors";
export { FACTOR_KINDS } from "./authentication-factors";
export type { CallCounts, ReceivedAuthenticateRequest } from "./call-counters";
export type {
  CreateConnectedAppOptions,
  CreatedConnectedApp,
  IssueConnectedAppTokenOptions,
  IssuedConnectedAppToken,
} from "./connected-apps";
export { DEMO_RBAC_POLICY } from "./demo-rbac-policy";
export type { FaultMode, FaultSwitch, FaultSwitches, JwksFaultMode } from "./faults";
export type { CreatedM2MClient, CreateM2MClientOptions } from "./m2m";
export type { EmulatorMember, MfaPolicy } from "./organizations";
export type { OrganizationPolicyFault, RbacPermission, RbacPolicy, RbacRole } from "./rbac-policies";
export type { CreatedSession, CreateSessionOptions } from "./sessions";

/** Options for {@link startStytchEmulator}. Every option has a test-friendly default. */
export interface StytchEmulatorOptions {
  /** Project ID; default `project-test-<uuid>`. A `project-live-` prefix makes all minted IDs `-live-`. */
  projectId?: string;
  /** Project secret for HTTP Basic auth; default `secret-test-<36 base64url chars>`. */
  secret?: string;
  /** Loopback address to bind; default `"127.0.0.1"`. Non-loopback addresses are refused. */
  host?: string;
  /** Port to bind; default 0 (an ephemeral port, see {@link StytchEmulator.url}). */
  port?: number;
  /** `iss` of minted JWTs; default `stytch.com/${projectId}` (no scheme, like Stytch). */
  issuer?: string;
  /** Lifetime (`exp - iat`) of minted session JWTs in seconds; default 300, as Stytch. */
  jwtLifetimeSeconds?: number;
  /** RSA modulus length of generated signing keys; default 2048 (jose refuses RS256 keys below 2048). */
  keyBits?: number;
}

/** A running emulator. Create one with {@link startStytchEmulator}; always {@link StytchEmulator.close} it. */
export interface StytchEmulator {
  /** Base URL, e.g. `"http://127.0.0.1:41234"` (no trailing slash). */
  readonly url: string;
  readonly projectId: string;
  readonly secret: string;
  /** `iss` of the JWTs this emulator mints. */
  readonly issuer: string;
  /** Call counters, per endpoint, counting every HTTP request received (also the faulted ones). */
  readonly calls: CallCounts;
  /**
   * Every authenticate request body as received (parsed JSON, or the raw string if not JSON), plus its
   * Authorization header, newest last.
   */
  readonly authenticateRequests: ReceivedAuthenticateRequest[];
  /** Every exchange request body as received (as {@link StytchEmulator.authenticateRequests}), newest last. */
  readonly exchangeRequests: ReceivedAuthenticateRequest[];
  /** Zeroes {@link StytchEmulator.calls} and clears the request logs (in place). */
  resetCounters(): void;

  /** Persistent fault switches, read on every request. */
  faults: FaultSwitches;
  /**
   * One-shot faults: the next `count` (default 1) requests to `endpoint` fail with `mode`, then behaviour returns
   * to {@link StytchEmulator.faults}. Successive calls queue up. `"oversized"` and `"garbage"` are JWKS-only.
   */
  failNext(endpoint: FaultSwitch, mode: JwksFaultMode, count?: number): void;
  /** Delay every response of `endpoint` (faulted ones included) by `ms` milliseconds (0 = none). */
  setLatency(endpoint: FaultSwitch, ms: number): void;

  /** The project RBAC policy served by `GET /v1/b2b/rbac/policy`; replace it to change roles (a deep copy is served). */
  rbacPolicy: RbacPolicy;
  /**
   * Whether the project has organization policies (a private beta at Stytch). When false, the organization
   * endpoint answers an error, which Stytch's SDK and our authorizer read as "no custom roles".
   */
  organizationPoliciesEnabled: boolean;
  /**
   * Fault injection for the organization-policy endpoint alone (the `rbac` fault switch covers both policy
   * endpoints): `"200-not-json"` answers 200 with a body that is not JSON, `"200-without-org-policy"` answers
   * 200 with a JSON body that has no `org_policy`. `"none"`: the real answer.
   */
  organizationPolicyFault: OrganizationPolicyFault;
  /** Sets an organization's custom roles (by organization ID or slug; the organization is created if new). */
  setOrganizationRoles(organization: string, roles: RbacRole[]): void;

  /**
   * Sets an organization's `mfa_policy` (by organization ID or slug; the organization is created if new). With
   * `REQUIRED_FOR_ALL`, an exchange into it answers `member_authenticated: false` and an intermediate session token.
   */
  setOrganizationMfaPolicy(organization: string, policy: MfaPolicy): void;

  /**
   * Makes someone a member of an organization (created if new) without a session, e.g. the organization a member
   * may switch to. The same email in the same organization is the same member; `roles` replace its roles.
   */
  createMember(options: { email: string; organizationSlug: string; roles?: string[] }): EmulatorMember;

  /** Creates a member session (and its member and organization when new), as a completed login would. */
  createSession(options?: CreateSessionOptions): CreatedSession;
  /**
   * Revokes the session named by a member_session_id, a session_token or a session_jwt.
   * Returns true if it existed and was still active (not revoked, not expired).
   */
  revokeSession(credential: string): boolean;
  /**
   * Mints a fresh session JWT for a known session (as Stytch would on authenticate), optionally with iat/exp/nbf
   * overrides. Works for revoked and expired sessions too, so tests can hold a JWT that outlives its session.
   * Does not touch the session's `last_accessed_at`.
   */
  mintSessionJwt(memberSessionId: string, overrides?: { iat?: number; exp?: number; nbf?: number }): string;

  /**
   * Low-level signer for tests that build forgeries: signs header+payload exactly as given, with
   * RS256/RS384/RS512/PS256 (default RS256) and the given key (default the current key). `header` is used
   * verbatim (you may omit kid/typ, or claim an `alg` that differs from `algorithm`, deliberately).
   */
  signJwt(
    header: Record<string, unknown>,
    payload: Record<string, unknown>,
    options?: { key?: "current" | "previous" | KeyObject; algorithm?: Algorithm },
  ): string;
  /**
   * The default B2B payload (iss, aud, sub, iat, nbf, exp, the two https://stytch.com/ claims, custom claims) for
   * a session, for tests that tamper with it. `overrides` are shallow-merged; an override of `undefined` removes
   * the claim.
   */
  sessionPayload(memberSessionId: string, overrides?: Record<string, unknown>): Record<string, unknown>;
  /** Creates an M2M client (default scopes `["read:documents"]`); its secret gets tokens from the token endpoint. */
  createM2MClient(options?: CreateM2MClientOptions): CreatedM2MClient;
  /**
   * Mints an M2M access token for a known client without the token endpoint (for tests that need expired or
   * tampered tokens). `overrides` are shallow-merged into the payload; `undefined` removes a claim.
   */
  mintM2MToken(clientId: string, overrides?: Record<string, unknown>): string;
  /** The M2M access token payload of a client, for tests that sign their own variants with {@link signJwt}. */
  m2mTokenPayload(clientId: string, overrides?: Record<string, unknown>): Record<string, unknown>;
  /** Creates a Connected-App client (public unless `confidential`). */
  createConnectedApp(options?: CreateConnectedAppOptions): CreatedConnectedApp;
  /** Issues a Connected App's tokens for a member, as the end of an OAuth consent would (a test helper). */
  issueConnectedAppToken(options: IssueConnectedAppTokenOptions): IssuedConnectedAppToken;
  /** Revokes a Connected-App access or refresh token: introspection answers it inactive from then on. */
  revokeConnectedAppToken(token: string): boolean;

  /** Public JWKS as served (object with keys[]); a fresh copy on every call. */
  jwks(): { keys: Array<Record<string, unknown>> };
  /** kid of the key that signs new JWTs. */
  readonly currentKid: string;

  /**
   * Key rotation like Stytch: a new current key; the old one stays in the JWKS (Stytch serves both for a month)
   * and becomes "previous".
   */
  rotateKeys(): { newKid: string; previousKid: string };
  /**
   * Removes a key from the JWKS entirely (end of the overlap period). Throws for the current key or an unknown
   * kid. The emulator still knows the key, so `signJwt({ key: "previous" })` keeps working for forgeries.
   */
  retireKey(kid: string): void;

  /** Closes the server and destroys all open sockets (including hanging ones). Idempotent. */
  close(): Promise<void>;
}

/**
 * Starts an emulator listening on a loopback address.
 *
 * @example
 * ```ts
 * const stytch = await startStytchEmulator();
 * const { sessionJwt } = stytch.createSession({ roles: ["editor"] });
 * // point the code under test at stytch.url, stytch.projectId, stytch.secret
 * await stytch.close();
 * ```
 */
export async function startStytchEmulator(options: StytchEmulatorOptions = {}): Promise<StytchEmulator> {
  const host = options.host ?? "127.0.0.1";
  // The emulator hands out signing power over "valid" sessions for a known secret; it must never be reachable
  // from another machine, so refuse anything that is not loopback rather than trusting every caller.
  if (!isLoopbackHost(host)) {
    throw new Error(`Stytch emulator refuses to bind to non-loopback host ${JSON.stringify(host)}`);
  }
  const project = new Project(options);
  const keys = await SigningKeys.generate(options.keyBits ?? 2048, () => project.newId("jwk"));
  const organizations = new Organizations((prefix) => project.newId(prefix));
  const sessions = new Sessions(organizations, keys, project, options.jwtLifetimeSeconds ?? 300);
  const rbac = new RbacPolicies(organizations, structuredClone(DEMO_RBAC_POLICY) as RbacPolicy);
  const counters = new CallCounters();
  const faults = new FaultInjector(() => jwksBody(keys, project));
  const m2mClients = new M2MClients(project, keys);
  const connectedApps = new ConnectedApps(project, keys, organizations);

  const router = new Router((authorization) => project.requireCredentials(authorization));
  router.register(jwksRoute(keys, project));
  router.register(...sessionRoutes({ sessions, organizations, project, counters }));
  router.register(sessionExchangeRoute({ sessions, organizations, project, counters }));
  router.register(...rbacPolicyRoutes(rbac, project));
  router.register(m2mTokenRoute(m2mClients, project), introspectionRoute(connectedApps, project));

  const server = new EmulatorHttpServer({ router, counters, faults, newRequestId: () => project.newId("request-id") });
  await server.listen(options.port ?? 0, host);
  return new Emulator({
    project,
    keys,
    organizations,
    sessions,
    rbac,
    counters,
    faults,
    server,
    m2mClients,
    connectedApps,
  });
}

/** The public face of one emulator: each call goes to the part that owns it. */
class Emulator implements StytchEmulator {
  readonly projectId: string;
  readonly secret: string;
  readonly issuer: string;
  readonly calls: CallCounts;
  readonly authenticateRequests: ReceivedAuthenticateRequest[];
  readonly exchangeRequests: ReceivedAuthenticateRequest[];
  readonly #keys: SigningKeys;
  readonly #organizations: Organizations;
  readonly #sessions: Sessions;
  readonly #rbac: RbacPolicies;
  readonly #counters: CallCounters;
  readonly #faults: FaultInjector;
  readonly #server: EmulatorHttpServer;
  readonly #m2mClients: M2MClients;
  readonly #connectedApps: ConnectedApps;

  constructor(parts: {
    project: Project;
    keys: SigningKeys;
    organizations: Organizations;
    sessions: Sessions;
    rbac: RbacPolicies;
    counters: CallCounters;
    faults: FaultInjector;
    server: EmulatorHttpServer;
    m2mClients: M2MClients;
    connectedApps: ConnectedApps;
  }) {
    this.projectId = parts.project.projectId;
    this.secret = parts.project.secret;
    this.issuer = parts.project.issuer;
    this.calls = parts.counters.calls;
    this.authenticateRequests = parts.counters.authenticateRequests;
    this.exchangeRequests = parts.counters.exchangeRequests;
    this.#keys = parts.keys;
    this.#organizations = parts.organizations;
    this.#sessions = parts.sessions;
    this.#rbac = parts.rbac;
    this.#counters = parts.counters;
    this.#faults = parts.faults;
    this.#server = parts.server;
    this.#m2mClients = parts.m2mClients;
    this.#connectedApps = parts.connectedApps;
  }

  get url(): string {
    return this.#server.url;
  }

  get currentKid(): string {
    return this.#keys.currentKid;
  }

  resetCounters(): void {
    this.#counters.reset();
  }

  get faults(): FaultSwitches {
    return this.#faults.switches;
  }

  set faults(switches: FaultSwitches) {
    this.#faults.switches = switches;
  }

  failNext(endpoint: FaultSwitch, mode: JwksFaultMode, count?: number): void {
    this.#faults.failNext(endpoint, mode, count);
  }

  setLatency(endpoint: FaultSwitch, ms: number): void {
    this.#faults.setLatency(endpoint, ms);
  }

  get rbacPolicy(): RbacPolicy {
    return this.#rbac.projectPolicy;
  }

  set rbacPolicy(policy: RbacPolicy) {
    this.#rbac.projectPolicy = policy;
  }

  get organizationPoliciesEnabled(): boolean {
    return this.#rbac.organizationPoliciesEnabled;
  }

  set organizationPoliciesEnabled(enabled: boolean) {
    this.#rbac.organizationPoliciesEnabled = enabled;
  }

  get organizationPolicyFault(): OrganizationPolicyFault {
    return this.#rbac.organizationPolicyFault;
  }

  set organizationPolicyFault(fault: OrganizationPolicyFault) {
    this.#rbac.organizationPolicyFault = fault;
  }

  setOrganizationRoles(organization: string, roles: RbacRole[]): void {
    this.#rbac.setOrganizationRoles(organization, roles);
  }

  setOrganizationMfaPolicy(organization: string, policy: MfaPolicy): void {
    const record =
      this.#organizations.organizationByIdOrSlug(organization) ??
      this.#organizations.organizationFor(organization, nowSeconds());
    record.mfaPolicy = policy;
  }

  createMember(options: { email: string; organizationSlug: string; roles?: string[] }): EmulatorMember {
    const now = nowSeconds();
    const organization = this.#organizations.organizationFor(options.organizationSlug, now);
    const member = this.#organizations.memberFor(organization, options.email, options.roles, now);
    return {
      memberId: member.memberId,
      organizationId: organization.organizationId,
      organizationSlug: organization.slug,
      email: member.email,
      roles: [...member.roles],
    };
  }

  createSession(options?: CreateSessionOptions): CreatedSession {
    return this.#sessions.create(options);
  }

  revokeSession(credential: string): boolean {
    return this.#sessions.revoke(credential);
  }

  mintSessionJwt(memberSessionId: string, overrides?: { iat?: number; exp?: number; nbf?: number }): string {
    return this.#sessions.mintJwt(memberSessionId, overrides);
  }

  signJwt(
    header: Record<string, unknown>,
    payload: Record<string, unknown>,
    options: { key?: "current" | "previous" | KeyObject; algorithm?: Algorithm } = {},
  ): string {
    return signCompact(header, payload, this.#keys.privateKey(options.key ?? "current"), options.algorithm ?? "RS256");
  }

  sessionPayload(memberSessionId: string, overrides?: Record<string, unknown>): Record<string, unknown> {
    return this.#sessions.payload(memberSessionId, overrides);
  }

  jwks(): { keys: Array<Record<string, unknown>> } {
    return this.#keys.jwks();
  }

  createM2MClient(options?: CreateM2MClientOptions): CreatedM2MClient {
    return this.#m2mClients.create(options);
  }

  mintM2MToken(clientId: string, overrides?: Record<string, unknown>): string {
    return this.#m2mClients.mint(clientId, overrides);
  }

  m2mTokenPayload(clientId: string, overrides?: Record<string, unknown>): Record<string, unknown> {
    return this.#m2mClients.payload(clientId, overrides);
  }

  createConnectedApp(options?: CreateConnectedAppOptions): CreatedConnectedApp {
    return this.#connectedApps.create(options);
  }

  issueConnectedAppToken(options: IssueConnectedAppTokenOptions): IssuedConnectedAppToken {
    return this.#connectedApps.issue(options);
  }

  revokeConnectedAppToken(token: string): boolean {
    return this.#connectedApps.revoke(token);
  }

  rotateKeys(): { newKid: string; previousKid: string } {
    return this.#keys.rotate();
  }

  retireKey(kid: string): void {
    this.#keys.retire(kid);
  }

  close(): Promise<void> {
    return this.#server.close();
  }
}

function isLoopbackHost(host: string): boolean {
  return host === "localhost" || host === "::1" || /^127(\.\d{1,3}){3}$/.test(host);
}

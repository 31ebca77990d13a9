/**
 * A loopback-only emulator of the parts of the Stytch B2B API that a session authorizer talks to:
 *
 * - `GET  /v1/b2b/sessions/jwks/{project_id}`
 * - `POST /v1/b2b/sessions/authenticate`
 * - `POST /v1/b2b/sessions/revoke`
 * - `GET  /v1/b2b/rbac/policy` (the project's RBAC policy; {@link DEMO_RBAC_POLICY} unless replaced)
 * - `GET  /v1/b2b/rbac/organizations/{organization_id}` (an organization's custom roles)
 *
 * The wire format follows `stytch-b2b-sessions.md` (the shared reference). Where that reference marks a
 * behaviour UNVERIFIED, the choice made here is flagged with an `UNVERIFIED:` comment, so that a reader can tell
 * an emulator decision from a documented Stytch fact.
 *
 * Besides serving HTTP, the emulator is a test fixture: it creates sessions, mints and forges JWTs, rotates keys
 * and injects faults (errors, hangs, connection resets, latency, oversized or garbage key sets).
 *
 * Only node built-ins are used, so the emulator can also back the local dev server and benchmarks without
 * pulling a JOSE library into the thing that is supposed to check our use of one.
 *
 * @module
 */
import { generateKeyPair, generateKeyPairSync, type KeyObject, randomBytes, randomUUID } from "node:crypto";
import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import type { AddressInfo, Socket } from "node:net";
import { promisify } from "node:util";
import { isJsonObject, type JsonObject } from "./json";
import { type Algorithm, decodeCompact, signCompact, verifiesRs256 } from "./jws";
import { optionalString, parseJsonBody, parseJsonOrRaw, readBody } from "./request-body";
import {
  internalServerError,
  routeNotFound,
  StytchApiError,
  stytchErrorBody,
  unauthorizedCredentials,
} from "./stytch-api-error";
import { nowSeconds, rfc3339 } from "./time";

const generateKeyPairAsync = promisify(generateKeyPair);

// ---------------------------------------------------------------------------------------------------------------
// Public API
// ---------------------------------------------------------------------------------------------------------------

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

/** A member known to the emulator. */
export interface EmulatorMember {
  memberId: string;
  organizationId: string;
  organizationSlug: string;
  email: string;
  roles: string[];
}

/** What {@link StytchEmulator.createSession} returns: the credentials a browser would hold, plus their IDs. */
export interface CreatedSession {
  /** Opaque session token, 44 base64url characters like Stytch's. */
  sessionToken: string;
  /** RS256 session JWT signed with the current key. */
  sessionJwt: string;
  memberId: string;
  organizationId: string;
  organizationSlug: string;
  memberSessionId: string;
  email: string;
  roles: string[];
  /** RFC 3339 expiry of the *session* (not of the JWT). */
  expiresAt: string;
}

/** Options for {@link StytchEmulator.createSession}. */
export interface CreateSessionOptions {
  /** Member email; default `member-<n>@example.com`. The same email in the same organization is the same member. */
  email?: string;
  /** RBAC roles; default `["stytch_member"]`. `stytch_member` is always included, as Stytch assigns it to everyone. */
  roles?: string[];
  /** Organization slug; default `"acme"`. The same slug is the same organization. */
  organizationSlug?: string;
  /**
   * Session lifetime in minutes; default 60. Unlike the API's `session_duration_minutes` this is not limited to
   * 5..527040, so that tests can create short-lived or already-expired (zero or negative) sessions.
   */
  durationMinutes?: number;
  /** Session custom claims; they become top-level JWT claims. Reserved and `https://stytch.com/` keys are dropped. */
  customClaims?: Record<string, unknown>;
}

/**
 * A fault to inject.
 * - `"500"`, `"503"`, `"429"`: answer with that status and a Stytch error body.
 * - `"hang"`: accept the request and never answer (until the client aborts or the emulator closes).
 * - `"reset"`: reset the connection without an HTTP response.
 * - `"401-unknown-error-type"`: 401 with a Stytch error body whose `error_type` no client knows (a new one).
 * - `"401-not-json"`: 401 with a body that is not JSON (as a proxy in front of Stytch might send).
 */
export type FaultMode = "none" | "500" | "503" | "429" | "hang" | "reset" | "401-unknown-error-type" | "401-not-json";

/**
 * Faults that only make sense for the JWKS endpoint, in addition to {@link FaultMode}:
 * - `"oversized"`: 200 with a valid JWKS JSON body larger than 1 MiB (sent chunked, without Content-Length, so a
 *   client has to cap the body while streaming, not just trust a header);
 * - `"garbage"`: 200 with a body that is not JSON.
 */
export type JwksFaultMode = FaultMode | "oversized" | "garbage";

/** One permission of an RBAC role, in Stytch's wire format (reference §6.1). */
export interface RbacPermission {
  resource_id: string;
  actions: string[];
}

/** One RBAC role, in Stytch's wire format. */
export interface RbacRole {
  role_id: string;
  description?: string;
  permissions: RbacPermission[];
}

/** The `policy` object of `GET /v1/b2b/rbac/policy`. */
export interface RbacPolicy {
  roles: RbacRole[];
  resources: Array<{ resource_id: string; description?: string; actions: string[] }>;
  scopes: Array<{ scope: string; description?: string; permissions: RbacPermission[] }>;
}

/**
 * The demo project policy of `npm start` and the tests: Stytch's two default roles, and viewer, editor and
 * admin over the `documents` and `billing` resources.
 */
export const DEMO_RBAC_POLICY: Readonly<RbacPolicy> = Object.freeze({
  roles: [
    {
      role_id: "stytch_member",
      description: "Granted to every member",
      permissions: [{ resource_id: "stytch.self", actions: ["*"] }],
    },
    {
      role_id: "stytch_admin",
      description: "Granted to organization admins",
      permissions: ["stytch.organization", "stytch.member", "stytch.sso", "stytch.self"].map((resource_id) => ({
        resource_id,
        actions: ["*"],
      })),
    },
    {
      role_id: "viewer",
      description: "Reads documents",
      permissions: [{ resource_id: "documents", actions: ["read"] }],
    },
    {
      role_id: "editor",
      description: "Reads and writes documents",
      permissions: [{ resource_id: "documents", actions: ["read", "write"] }],
    },
    {
      role_id: "admin",
      description: "Everything, billing included",
      permissions: [
        { resource_id: "documents", actions: ["*"] },
        { resource_id: "billing", actions: ["read", "write"] },
      ],
    },
  ],
  resources: [
    { resource_id: "documents", description: "Documents of an organization", actions: ["read", "write", "delete"] },
    { resource_id: "billing", description: "Invoices and payment details", actions: ["read", "write"] },
  ],
  scopes: [
    {
      scope: "read:documents",
      description: "Read documents",
      permissions: [{ resource_id: "documents", actions: ["read"] }],
    },
  ],
});

/** A running emulator. Create one with {@link startStytchEmulator}; always {@link StytchEmulator.close} it. */
export interface StytchEmulator {
  /** Base URL, e.g. `"http://127.0.0.1:41234"` (no trailing slash). */
  readonly url: string;
  readonly projectId: string;
  readonly secret: string;
  /** `iss` of the JWTs this emulator mints. */
  readonly issuer: string;
  /** Call counters, per endpoint, counting every HTTP request received (also the faulted ones). */
  readonly calls: {
    jwks: number;
    authenticate: number;
    revoke: number;
    rbacPolicy: number;
    organizationPolicy: number;
    total: number;
  };
  /**
   * Every authenticate request body as received (parsed JSON, or the raw string if not JSON), plus its
   * Authorization header, newest last.
   */
  readonly authenticateRequests: Array<{ body: unknown; authorization: string | undefined }>;
  /** Zeroes {@link StytchEmulator.calls} and clears {@link StytchEmulator.authenticateRequests} (in place). */
  resetCounters(): void;

  /** Persistent fault switches, read on every request. */
  faults: { authenticate: FaultMode; jwks: JwksFaultMode; rbac: FaultMode };
  /**
   * One-shot faults: the next `count` (default 1) requests to `endpoint` fail with `mode`, then behaviour returns
   * to {@link StytchEmulator.faults}. Successive calls queue up. `"oversized"` and `"garbage"` are JWKS-only.
   */
  failNext(endpoint: "authenticate" | "jwks" | "rbac", mode: JwksFaultMode, count?: number): void;
  /** Delay every response of `endpoint` (faulted ones included) by `ms` milliseconds (0 = none). */
  setLatency(endpoint: "authenticate" | "jwks" | "rbac", ms: number): void;

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
  organizationPolicyFault: "none" | "200-not-json" | "200-without-org-policy";
  /** Sets an organization's custom roles (by organization ID or slug; the organization is created if new). */
  setOrganizationRoles(organization: string, roles: RbacRole[]): void;

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
    options?: { key?: "current" | "previous" | KeyObject; algorithm?: "RS256" | "RS384" | "RS512" | "PS256" },
  ): string;
  /**
   * The default B2B payload (iss, aud, sub, iat, nbf, exp, the two https://stytch.com/ claims, custom claims) for
   * a session, for tests that tamper with it. `overrides` are shallow-merged; an override of `undefined` removes
   * the claim.
   */
  sessionPayload(memberSessionId: string, overrides?: Record<string, unknown>): Record<string, unknown>;
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
  const keyBits = options.keyBits ?? 2048;
  const { privateKey, publicKey } = await generateKeyPairAsync("rsa", { modulusLength: keyBits });
  const emulator = new Emulator(options, host, keyBits, { privateKey, publicKey });
  await emulator.listen(options.port ?? 0);
  return emulator;
}

// ---------------------------------------------------------------------------------------------------------------
// Internals
// ---------------------------------------------------------------------------------------------------------------

type Endpoint = "jwks" | "authenticate" | "revoke" | "rbacPolicy" | "organizationPolicy" | "other";

const JWKS_PATH_PREFIX = "/v1/b2b/sessions/jwks/";
const AUTHENTICATE_PATH = "/v1/b2b/sessions/authenticate";
const REVOKE_PATH = "/v1/b2b/sessions/revoke";
const RBAC_POLICY_PATH = "/v1/b2b/rbac/policy";
const ORGANIZATION_POLICY_PREFIX = "/v1/b2b/rbac/organizations/";

const SESSION_CLAIM = "https://stytch.com/session";
const ORGANIZATION_CLAIM = "https://stytch.com/organization";
/** Claims a custom claim may not set (reference §2.1), plus Stytch's own namespace. */
const RESERVED_CLAIMS = new Set(["iss", "sub", "aud", "exp", "nbf", "iat", "jti"]);
const MIN_SESSION_DURATION_MINUTES = 5;
const MAX_SESSION_DURATION_MINUTES = 527_040;
/** Size of the `"oversized"` JWKS body: comfortably above 1 MiB. */
const OVERSIZED_JWKS_BYTES = 1536 * 1024;

interface SigningKey {
  kid: string;
  privateKey: KeyObject;
  publicKey: KeyObject;
  /** False once retired: no longer served, but still known for verification and forgeries. */
  published: boolean;
}

interface OrganizationRecord {
  organizationId: string;
  slug: string;
  name: string;
  createdAt: number;
}

interface MemberRecord {
  memberId: string;
  organizationId: string;
  email: string;
  emailId: string;
  roles: string[];
  createdAt: number;
  updatedAt: number;
}

/** All times are epoch seconds: Stytch's timestamps have second precision. */
interface SessionRecord {
  memberSessionId: string;
  sessionToken: string;
  memberId: string;
  organizationId: string;
  startedAt: number;
  lastAccessedAt: number;
  expiresAt: number;
  authenticatedAt: number;
  customClaims: JsonObject;
  revoked: boolean;
}

const SESSION_NOT_FOUND = (): StytchApiError =>
  new StytchApiError(404, "session_not_found", "Session could not be found.");
// UNVERIFIED: status 400 for every session-JWT the emulator cannot parse or whose signature does not verify.
const UNPARSEABLE_JWT = (): StytchApiError =>
  new StytchApiError(400, "unable_to_parse_session_jwt", "Unable to parse the session JWT.");

class Emulator implements StytchEmulator {
  readonly projectId: string;
  readonly secret: string;
  readonly issuer: string;
  readonly calls = { jwks: 0, authenticate: 0, revoke: 0, rbacPolicy: 0, organizationPolicy: 0, total: 0 };
  rbacPolicy: RbacPolicy = structuredClone(DEMO_RBAC_POLICY) as RbacPolicy;
  organizationPoliciesEnabled = true;
  organizationPolicyFault: "none" | "200-not-json" | "200-without-org-policy" = "none";
  readonly #organizationRoles = new Map<string, RbacRole[]>();
  readonly authenticateRequests: Array<{ body: unknown; authorization: string | undefined }> = [];
  faults: { authenticate: FaultMode; jwks: JwksFaultMode; rbac: FaultMode } = {
    authenticate: "none",
    jwks: "none",
    rbac: "none",
  };

  readonly #host: string;
  readonly #keyBits: number;
  readonly #jwtLifetimeSeconds: number;
  /** "test" or "live", mirrored into every minted ID like Stytch does. */
  readonly #env: "test" | "live";
  readonly #expectedAuthorization: string;
  readonly #server: Server;
  readonly #sockets = new Set<Socket>();
  readonly #timers = new Set<NodeJS.Timeout>();
  #url = "";
  #closed: Promise<void> | undefined;

  /** Insertion order = creation order, which is also the order keys are served in. */
  readonly #keys: SigningKey[] = [];
  #current: SigningKey;
  #previous: SigningKey | undefined;

  readonly #organizationsBySlug = new Map<string, OrganizationRecord>();
  readonly #organizationsById = new Map<string, OrganizationRecord>();
  readonly #members = new Map<string, MemberRecord>();
  readonly #membersByKey = new Map<string, MemberRecord>();
  readonly #sessions = new Map<string, SessionRecord>();
  readonly #sessionsByToken = new Map<string, SessionRecord>();
  #memberCounter = 0;

  readonly #oneShotFaults: { authenticate: JwksFaultMode[]; jwks: JwksFaultMode[]; rbac: JwksFaultMode[] } = {
    authenticate: [],
    jwks: [],
    rbac: [],
  };
  readonly #latencyMs = { authenticate: 0, jwks: 0, rbac: 0 };

  constructor(
    options: StytchEmulatorOptions,
    host: string,
    keyBits: number,
    firstKey: { privateKey: KeyObject; publicKey: KeyObject },
  ) {
    this.projectId = options.projectId ?? `project-test-${randomUUID()}`;
    this.#env = this.projectId.startsWith("project-live-") ? "live" : "test";
    this.secret = options.secret ?? `secret-${this.#env}-${randomBytes(27).toString("base64url")}`;
    this.issuer = options.issuer ?? `stytch.com/${this.projectId}`;
    this.#jwtLifetimeSeconds = options.jwtLifetimeSeconds ?? 300;
    this.#host = host;
    this.#keyBits = keyBits;
    this.#expectedAuthorization = `Basic ${Buffer.from(`${this.projectId}:${this.secret}`).toString("base64")}`;
    this.#current = this.#addKey(firstKey.privateKey, firstKey.publicKey);

    this.#server = createServer((req, res) => this.#onRequest(req, res));
    // Tracked so close() can end keep-alive and hanging connections instead of waiting for them.
    this.#server.on("connection", (socket: Socket) => {
      this.#sockets.add(socket);
      socket.once("close", () => this.#sockets.delete(socket));
    });
  }

  get url(): string {
    return this.#url;
  }

  get currentKid(): string {
    return this.#current.kid;
  }

  listen(port: number): Promise<void> {
    return new Promise((resolve, reject) => {
      this.#server.once("error", reject);
      this.#server.listen(port, this.#host, () => {
        this.#server.off("error", reject);
        // Build the URL from the bound address: "localhost" may have resolved to ::1 or 127.0.0.1.
        const { address, port: boundPort } = this.#server.address() as AddressInfo;
        this.#url = `http://${address.includes(":") ? `[${address}]` : address}:${boundPort}`;
        resolve();
      });
    });
  }

  resetCounters(): void {
    this.calls.jwks = 0;
    this.calls.authenticate = 0;
    this.calls.revoke = 0;
    this.calls.rbacPolicy = 0;
    this.calls.organizationPolicy = 0;
    this.calls.total = 0;
    this.authenticateRequests.length = 0;
  }

  failNext(endpoint: "authenticate" | "jwks" | "rbac", mode: JwksFaultMode, count = 1): void {
    if (!Number.isInteger(count) || count < 0) throw new RangeError(`count must be a non-negative integer`);
    if (endpoint !== "jwks" && (mode === "oversized" || mode === "garbage")) {
      throw new TypeError(`fault "${mode}" only applies to the jwks endpoint`);
    }
    for (let i = 0; i < count; i++) this.#oneShotFaults[endpoint].push(mode);
  }

  setLatency(endpoint: "authenticate" | "jwks" | "rbac", ms: number): void {
    if (!Number.isFinite(ms) || ms < 0) throw new RangeError(`latency must be a non-negative number of ms`);
    this.#latencyMs[endpoint] = ms;
  }

  setOrganizationRoles(organization: string, roles: RbacRole[]): void {
    const record = this.#organizationsById.get(organization) ?? this.#organizationFor(organization, nowSeconds());
    this.#organizationRoles.set(record.organizationId, structuredClone(roles));
  }

  // --- sessions ------------------------------------------------------------------------------------------------

  createSession(options: CreateSessionOptions = {}): CreatedSession {
    const now = nowSeconds();
    const organization = this.#organizationFor(options.organizationSlug ?? "acme", now);
    const email = options.email ?? `member-${++this.#memberCounter}@example.com`;
    const member = this.#memberFor(organization, email, options.roles, now);
    const durationMinutes = options.durationMinutes ?? 60;
    if (!Number.isFinite(durationMinutes)) throw new RangeError("durationMinutes must be a finite number");

    const session: SessionRecord = {
      memberSessionId: this.#id("session"),
      sessionToken: newSessionToken(),
      memberId: member.memberId,
      organizationId: organization.organizationId,
      startedAt: now,
      lastAccessedAt: now,
      expiresAt: now + Math.round(durationMinutes * 60),
      authenticatedAt: now,
      customClaims: mergeCustomClaims({}, options.customClaims ?? {}),
      revoked: false,
    };
    this.#sessions.set(session.memberSessionId, session);
    this.#sessionsByToken.set(session.sessionToken, session);

    return {
      sessionToken: session.sessionToken,
      sessionJwt: this.#mint(session, {}),
      memberId: member.memberId,
      organizationId: organization.organizationId,
      organizationSlug: organization.slug,
      memberSessionId: session.memberSessionId,
      email: member.email,
      roles: [...member.roles],
      expiresAt: rfc3339(session.expiresAt),
    };
  }

  revokeSession(credential: string): boolean {
    let session: SessionRecord | undefined;
    try {
      session = this.#resolveCredential(credential);
    } catch {
      return false; // an unparseable or forged JWT names no session
    }
    if (session === undefined || !isActive(session, nowSeconds())) return false;
    session.revoked = true;
    return true;
  }

  mintSessionJwt(memberSessionId: string, overrides: { iat?: number; exp?: number; nbf?: number } = {}): string {
    return this.#mint(this.#knownSession(memberSessionId), overrides);
  }

  // --- JWTs and keys ---------------------------------------------------------------------------------------------

  signJwt(
    header: Record<string, unknown>,
    payload: Record<string, unknown>,
    options: { key?: "current" | "previous" | KeyObject; algorithm?: Algorithm } = {},
  ): string {
    const key = options.key ?? "current";
    let privateKey: KeyObject;
    if (key === "current") {
      privateKey = this.#current.privateKey;
    } else if (key === "previous") {
      if (this.#previous === undefined) throw new Error("no previous key: call rotateKeys() first");
      privateKey = this.#previous.privateKey;
    } else {
      privateKey = key;
    }
    return signCompact(header, payload, privateKey, options.algorithm ?? "RS256");
  }

  sessionPayload(memberSessionId: string, overrides: Record<string, unknown> = {}): Record<string, unknown> {
    const payload = this.#payload(this.#knownSession(memberSessionId), {});
    for (const [name, value] of Object.entries(overrides)) {
      if (value === undefined) delete payload[name];
      else payload[name] = value;
    }
    return payload;
  }

  jwks(): { keys: Array<Record<string, unknown>> } {
    return { keys: this.#keys.filter((k) => k.published).map(publicJwk) };
  }

  rotateKeys(): { newKid: string; previousKid: string } {
    // Synchronous on purpose: tests rotate between two lines of code and expect the next JWT to use the new key.
    const { privateKey, publicKey } = generateKeyPairSync("rsa", { modulusLength: this.#keyBits });
    this.#previous = this.#current;
    this.#current = this.#addKey(privateKey, publicKey);
    return { newKid: this.#current.kid, previousKid: this.#previous.kid };
  }

  retireKey(kid: string): void {
    const key = this.#keys.find((k) => k.kid === kid);
    if (key === undefined) throw new Error(`unknown kid ${kid}`);
    if (key === this.#current) throw new Error(`cannot retire the current signing key ${kid}: rotate first`);
    key.published = false;
  }

  close(): Promise<void> {
    this.#closed ??= new Promise<void>((resolve) => {
      for (const timer of this.#timers) clearTimeout(timer);
      this.#timers.clear();
      this.#server.close(() => resolve());
      for (const socket of this.#sockets) socket.destroy();
    });
    return this.#closed;
  }

  // --- HTTP ----------------------------------------------------------------------------------------------------

  #onRequest(req: IncomingMessage, res: ServerResponse): void {
    const pathname = new URL(req.url ?? "/", "http://emulator").pathname;
    const endpoint = classify(pathname);
    this.calls.total++;
    if (endpoint !== "other") this.calls[endpoint]++;
    // The one-shot fault is taken on arrival, so "fail the next request" means the next one received, even if
    // several are in flight at once.
    const switches = faultSwitchOf(endpoint);
    const fault: JwksFaultMode = switches ? (this.#oneShotFaults[switches].shift() ?? this.faults[switches]) : "none";

    readBody(req).then(
      (raw) => {
        if (endpoint === "authenticate") {
          this.authenticateRequests.push({ body: parseJsonOrRaw(raw), authorization: req.headers.authorization });
        }
        const latency = switches ? this.#latencyMs[switches] : 0;
        this.#after(latency, () => this.#respond(req, res, endpoint, pathname, fault, raw));
      },
      () => {
        // The client went away while sending the body: there is nobody to answer.
      },
    );
  }

  #after(ms: number, action: () => void): void {
    if (this.#closed !== undefined) return;
    if (ms <= 0) {
      action();
      return;
    }
    const timer = setTimeout(() => {
      this.#timers.delete(timer);
      action();
    }, ms);
    this.#timers.add(timer);
  }

  #respond(
    req: IncomingMessage,
    res: ServerResponse,
    endpoint: Endpoint,
    pathname: string,
    fault: JwksFaultMode,
    raw: string,
  ): void {
    if (this.#closed !== undefined || res.destroyed) return;
    switch (fault) {
      case "none":
        break;
      case "hang":
        return; // close() destroys the socket; until then the client waits or aborts.
      case "reset":
        // resetAndDestroy sends a TCP RST, the closest thing to a load balancer dropping the connection.
        req.socket.resetAndDestroy();
        return;
      case "500":
        this.#sendError(res, internalServerError());
        return;
      case "503":
        // UNVERIFIED: error_type for a 503; Stytch documents none for sessions.
        this.#sendError(res, new StytchApiError(503, "service_unavailable", "The service is temporarily unavailable."));
        return;
      case "429":
        // UNVERIFIED: whether Stytch sends Retry-After; the emulator does not.
        this.#sendError(res, new StytchApiError(429, "too_many_requests", "Too many requests have been made."));
        return;
      case "401-unknown-error-type":
        this.#sendError(
          res,
          new StytchApiError(401, "emulator_unknown_error_type", "An error type this client has never seen."),
        );
        return;
      case "401-not-json":
        send(res, 401, "<html><body>401 Authorization Required</body></html>\n");
        return;
      case "oversized":
        sendOversizedJwks(res, this.#jwksBody());
        return;
      case "garbage":
        send(res, 200, "<html><body>502 Bad Gateway</body></html>\n");
        return;
    }

    if (endpoint === "organizationPolicy" && this.organizationPolicyFault !== "none") {
      if (this.organizationPolicyFault === "200-not-json")
        send(res, 200, "<html><body>Organization policy</body></html>\n");
      else send(res, 200, JSON.stringify({ request_id: this.#id("request-id"), status_code: 200 }));
      return;
    }
    try {
      send(res, 200, JSON.stringify(this.#handle(req, endpoint, pathname, raw)));
    } catch (error) {
      if (error instanceof StytchApiError) this.#sendError(res, error);
      else this.#sendError(res, internalServerError(String(error)));
    }
  }

  #sendError(res: ServerResponse, error: StytchApiError): void {
    send(res, error.statusCode, stytchErrorBody(error, this.#id("request-id")));
  }

  #handle(req: IncomingMessage, endpoint: Endpoint, pathname: string, raw: string): JsonObject {
    if (endpoint === "jwks" && req.method === "GET") {
      // No Authorization header needed: jose's createRemoteJWKSet fetches the set anonymously (reference §4).
      // UNVERIFIED: error_type for an unknown project on the JWKS endpoint.
      const projectId = safeDecode(pathname.slice(JWKS_PATH_PREFIX.length));
      if (projectId !== this.projectId) {
        throw new StytchApiError(404, "project_not_found", "Project could not be found.");
      }
      return this.#jwksBody();
    }
    if (endpoint === "authenticate" && req.method === "POST") {
      this.#requireBasicAuth(req);
      return this.#authenticate(parseJsonBody(raw));
    }
    if (endpoint === "revoke" && req.method === "POST") {
      this.#requireBasicAuth(req);
      return this.#revoke(parseJsonBody(raw));
    }
    if (endpoint === "rbacPolicy" && req.method === "GET") {
      this.#requireBasicAuth(req);
      return { request_id: this.#id("request-id"), status_code: 200, policy: structuredClone(this.rbacPolicy) };
    }
    if (endpoint === "organizationPolicy" && req.method === "GET") {
      this.#requireBasicAuth(req);
      return this.#organizationPolicy(safeDecode(pathname.slice(ORGANIZATION_POLICY_PREFIX.length)));
    }
    throw routeNotFound(req.method, pathname);
  }

  /** `GET /v1/b2b/rbac/organizations/{organization_id}`, reference §6.1. */
  #organizationPolicy(organizationId: string): JsonObject {
    // UNVERIFIED: how Stytch answers projects without the organization-policy beta; 403 here, "no custom roles" to clients.
    if (!this.organizationPoliciesEnabled) {
      throw new StytchApiError(
        403,
        "feature_not_enabled",
        "Organization RBAC policies are not enabled for this project.",
      );
    }
    // UNVERIFIED: error_type for an unknown organization.
    if (!this.#organizationsById.has(organizationId))
      throw new StytchApiError(404, "organization_not_found", "Organization could not be found.");
    const roles = this.#organizationRoles.get(organizationId) ?? [];
    return { request_id: this.#id("request-id"), status_code: 200, org_policy: { roles: structuredClone(roles) } };
  }

  #requireBasicAuth(req: IncomingMessage): void {
    // UNVERIFIED: 401 unauthorized_credentials for a missing header, a wrong project_id and a wrong secret alike.
    if (req.headers.authorization !== this.#expectedAuthorization) throw unauthorizedCredentials();
  }

  /** `POST /v1/b2b/sessions/authenticate`, reference §2. */
  #authenticate(body: JsonObject): JsonObject {
    const sessionToken = optionalString(body, "session_token");
    const sessionJwt = optionalString(body, "session_jwt");
    // UNVERIFIED: status 400 for both errors (the error_type names come from the reference).
    if (sessionToken !== undefined && sessionJwt !== undefined) {
      throw new StytchApiError(
        400,
        "too_many_session_arguments",
        "Only one of session_token or session_jwt may be provided.",
      );
    }
    if (sessionToken === undefined && sessionJwt === undefined) {
      throw new StytchApiError(400, "no_session_arguments", "One of session_token or session_jwt must be provided.");
    }
    const durationMinutes = parseSessionDuration(body.session_duration_minutes);
    const claimsPatch = parseCustomClaimsPatch(body.session_custom_claims);
    // authorization_check is accepted but not evaluated: the emulator has no RBAC policy to check against.

    const session =
      sessionToken !== undefined ? this.#sessionsByToken.get(sessionToken) : this.#sessionFromJwt(sessionJwt!);
    const now = nowSeconds();
    // Revoked and expired sessions are indistinguishable from unknown ones (reference §3.3, "likely").
    if (session === undefined || !isActive(session, now)) throw SESSION_NOT_FOUND();

    session.lastAccessedAt = now;
    // Stytch *sets* the lifetime to now + N ("extends" in the docs), so a smaller N can also shorten it.
    if (durationMinutes !== undefined) session.expiresAt = now + durationMinutes * 60;
    if (claimsPatch !== undefined) session.customClaims = mergeCustomClaims(session.customClaims, claimsPatch);

    const member = this.#members.get(session.memberId)!;
    const organization = this.#organizationsById.get(session.organizationId)!;
    return {
      request_id: this.#id("request-id"),
      status_code: 200,
      member_session: {
        member_session_id: session.memberSessionId,
        member_id: session.memberId,
        organization_id: organization.organizationId,
        organization_slug: organization.slug,
        started_at: rfc3339(session.startedAt),
        last_accessed_at: rfc3339(session.lastAccessedAt),
        expires_at: rfc3339(session.expiresAt),
        authentication_factors: [this.#authenticationFactor(session, member, true)],
        roles: [...member.roles],
        custom_claims: { ...session.customClaims },
      },
      // UNVERIFIED: whether session_token is returned when authenticating with only a JWT; the emulator returns it.
      session_token: session.sessionToken,
      session_jwt: this.#mint(session, { iat: now }),
      member: memberObject(member),
      organization: organizationObject(organization),
    };
  }

  /** `POST /v1/b2b/sessions/revoke`, reference §2.5. */
  #revoke(body: JsonObject): JsonObject {
    const memberSessionId = optionalString(body, "member_session_id");
    const sessionToken = optionalString(body, "session_token");
    const sessionJwt = optionalString(body, "session_jwt");
    const memberId = optionalString(body, "member_id");
    const now = nowSeconds();
    // UNVERIFIED: precedence when several are given; the emulator uses the first in the order the SDK lists them.
    if (memberSessionId !== undefined || sessionToken !== undefined || sessionJwt !== undefined) {
      const session =
        memberSessionId !== undefined
          ? this.#sessions.get(memberSessionId)
          : sessionToken !== undefined
            ? this.#sessionsByToken.get(sessionToken)
            : this.#sessionFromJwt(sessionJwt!);
      if (session === undefined || !isActive(session, now)) throw SESSION_NOT_FOUND();
      session.revoked = true;
    } else if (memberId !== undefined) {
      // UNVERIFIED: unknown member → 404 member_not_found; a known member without sessions → 200 (idempotent).
      if (!this.#members.has(memberId)) throw new StytchApiError(404, "member_not_found", "Member could not be found.");
      for (const session of this.#sessions.values()) {
        if (session.memberId === memberId) session.revoked = true;
      }
    } else {
      throw new StytchApiError(
        400,
        "no_session_arguments",
        "One of member_session_id, session_token, session_jwt or member_id must be provided.",
      );
    }
    return { request_id: this.#id("request-id"), status_code: 200 };
  }

  /**
   * Verifies a session JWT the way the API does, which differs from local verification: `exp` and `nbf` are
   * ignored (the API exists to refresh expired JWTs), but the signature, algorithm, issuer and audience must hold.
   * Returns the named session (possibly undefined, revoked or expired; the caller decides).
   */
  #sessionFromJwt(jwt: string): SessionRecord | undefined {
    const jws = decodeCompact(jwt);
    if (jws === undefined) throw UNPARSEABLE_JWT();
    const { header, payload } = jws;
    // Stytch only mints RS256; anything else (none, HS256 with the public key, PS256) is a forgery.
    if (header.alg !== "RS256") throw UNPARSEABLE_JWT();
    // Retired keys are still accepted here. UNVERIFIED: the brief for this emulator asks for it; real Stytch may
    // stop accepting JWTs of a key it no longer serves.
    const key = this.#keys.find((k) => k.kid === header.kid);
    if (key === undefined) throw UNPARSEABLE_JWT();
    if (!verifiesRs256(jws, key.publicKey)) throw UNPARSEABLE_JWT();
    // UNVERIFIED: statuses (400) of the issuer/audience/claims errors; the names come from the reference.
    if (payload.iss !== this.issuer) {
      throw new StytchApiError(400, "jwt_invalid_issuer", "The session JWT has an invalid issuer.");
    }
    const audience = Array.isArray(payload.aud) ? payload.aud : [payload.aud];
    if (!audience.includes(this.projectId)) {
      throw new StytchApiError(400, "jwt_invalid_audience", "The session JWT has an invalid audience.");
    }
    const sessionClaim = payload[SESSION_CLAIM];
    const sessionId = isJsonObject(sessionClaim) ? sessionClaim.id : undefined;
    if (typeof sessionId !== "string") {
      throw new StytchApiError(400, "jwt_invalid_claims", "The session JWT has invalid claims.");
    }
    const session = this.#sessions.get(sessionId);
    // A JWT naming someone else's session can only be a forgery signed with our own key; treat it as unknown.
    return session !== undefined && session.memberId === payload.sub ? session : undefined;
  }

  /** A session named by a member_session_id, a session_token or a session_jwt (for revokeSession). */
  #resolveCredential(credential: string): SessionRecord | undefined {
    return (
      this.#sessions.get(credential) ??
      this.#sessionsByToken.get(credential) ??
      (credential.split(".").length === 3 ? this.#sessionFromJwt(credential) : undefined)
    );
  }

  #knownSession(memberSessionId: string): SessionRecord {
    const session = this.#sessions.get(memberSessionId);
    if (session === undefined) throw new Error(`unknown member_session_id ${memberSessionId}`);
    return session;
  }

  #mint(session: SessionRecord, overrides: { iat?: number; exp?: number; nbf?: number }): string {
    return signCompact(
      { alg: "RS256", kid: this.#current.kid, typ: "JWT" },
      this.#payload(session, overrides),
      this.#current.privateKey,
      "RS256",
    );
  }

  /** The B2B session-JWT payload of reference §5.1/§5.2, in Stytch's claim order. */
  #payload(session: SessionRecord, times: { iat?: number; exp?: number; nbf?: number }): JsonObject {
    const member = this.#members.get(session.memberId)!;
    const organization = this.#organizationsById.get(session.organizationId)!;
    const iat = times.iat ?? nowSeconds();
    return {
      iss: this.issuer,
      aud: [this.projectId],
      sub: member.memberId,
      iat,
      nbf: times.nbf ?? iat,
      exp: times.exp ?? iat + this.#jwtLifetimeSeconds,
      [SESSION_CLAIM]: {
        id: session.memberSessionId,
        started_at: rfc3339(session.startedAt),
        last_accessed_at: rfc3339(session.lastAccessedAt),
        expires_at: rfc3339(session.expiresAt), // the SESSION expiry, not the JWT's
        attributes: { user_agent: "", ip_address: "" },
        authentication_factors: [this.#authenticationFactor(session, member, false)],
        // Roles are read from the member at mint time, so role changes reach existing sessions on the next JWT.
        roles: [...member.roles],
      },
      [ORGANIZATION_CLAIM]: {
        organization_id: organization.organizationId,
        slug: organization.slug, // `slug`, not `organization_slug` (reference §5.2)
      },
      ...session.customClaims,
    };
  }

  /** An email magic-link factor; the API object carries created_at/updated_at, the JWT copy does not (§5.1). */
  #authenticationFactor(session: SessionRecord, member: MemberRecord, withTimestamps: boolean): JsonObject {
    const at = rfc3339(session.authenticatedAt);
    return {
      type: "magic_link",
      delivery_method: "email",
      last_authenticated_at: at,
      ...(withTimestamps ? { created_at: at, updated_at: at } : {}),
      email_factor: { email_id: member.emailId, email_address: member.email },
    };
  }

  #jwksBody(): JsonObject {
    return { ...this.jwks(), request_id: this.#id("request-id"), status_code: 200 };
  }

  #addKey(privateKey: KeyObject, publicKey: KeyObject): SigningKey {
    const key: SigningKey = { kid: this.#id("jwk"), privateKey, publicKey, published: true };
    this.#keys.push(key);
    return key;
  }

  #organizationFor(slug: string, now: number): OrganizationRecord {
    let organization = this.#organizationsBySlug.get(slug);
    if (organization === undefined) {
      organization = {
        organizationId: this.#id("organization"),
        slug,
        name: slug.charAt(0).toUpperCase() + slug.slice(1),
        createdAt: now,
      };
      this.#organizationsBySlug.set(slug, organization);
      this.#organizationsById.set(organization.organizationId, organization);
    }
    return organization;
  }

  #memberFor(organization: OrganizationRecord, email: string, roles: string[] | undefined, now: number): MemberRecord {
    // Stytch keys members by (organization, email), with emails compared case-insensitively.
    const key = `${organization.organizationId}\n${email.toLowerCase()}`;
    let member = this.#membersByKey.get(key);
    if (member === undefined) {
      member = {
        memberId: this.#id("member"),
        organizationId: organization.organizationId,
        email,
        emailId: this.#id("email"),
        roles: withDefaultRole(roles ?? []),
        createdAt: now,
        updatedAt: now,
      };
      this.#membersByKey.set(key, member);
      this.#members.set(member.memberId, member);
    } else if (roles !== undefined) {
      member.roles = withDefaultRole(roles);
      member.updatedAt = now;
    }
    return member;
  }

  #id(prefix: string): string {
    return `${prefix}-${this.#env}-${randomUUID()}`;
  }
}

// ---------------------------------------------------------------------------------------------------------------
// Helpers (pure)
// ---------------------------------------------------------------------------------------------------------------

function isLoopbackHost(host: string): boolean {
  return host === "localhost" || host === "::1" || /^127(\.\d{1,3}){3}$/.test(host);
}

function classify(pathname: string): Endpoint {
  if (pathname.startsWith(JWKS_PATH_PREFIX)) return "jwks";
  if (pathname === AUTHENTICATE_PATH) return "authenticate";
  if (pathname === REVOKE_PATH) return "revoke";
  if (pathname === RBAC_POLICY_PATH) return "rbacPolicy";
  if (pathname.startsWith(ORGANIZATION_POLICY_PREFIX)) return "organizationPolicy";
  return "other";
}

/** Which fault switch and latency setting governs an endpoint (both RBAC endpoints share one). */
function faultSwitchOf(endpoint: Endpoint): "authenticate" | "jwks" | "rbac" | undefined {
  if (endpoint === "authenticate" || endpoint === "jwks") return endpoint;
  if (endpoint === "rbacPolicy" || endpoint === "organizationPolicy") return "rbac";
  return undefined;
}

/** 33 random bytes are exactly 44 base64url characters, the length of a Stytch session token. */
function newSessionToken(): string {
  return randomBytes(33).toString("base64url");
}

function isActive(session: SessionRecord, now: number): boolean {
  return !session.revoked && session.expiresAt > now;
}

function withDefaultRole(roles: string[]): string[] {
  const unique = [...new Set(roles)];
  return unique.includes("stytch_member") ? unique : ["stytch_member", ...unique];
}

/** Drops reserved claims and Stytch's namespace; a `null` value deletes the claim (reference §2.1). */
function mergeCustomClaims(current: JsonObject, patch: JsonObject): JsonObject {
  const merged: JsonObject = { ...current };
  for (const [name, value] of Object.entries(patch)) {
    if (RESERVED_CLAIMS.has(name) || name.startsWith("https://stytch.com/")) continue;
    if (value === null || value === undefined) delete merged[name];
    else merged[name] = value;
  }
  return merged;
}

/** A subset of the `Member` object of reference §2.3: every required field, with a fresh member's values. */
function memberObject(member: MemberRecord): JsonObject {
  return {
    organization_id: member.organizationId,
    member_id: member.memberId,
    email_address: member.email,
    status: "active",
    name: "",
    sso_registrations: [],
    is_breakglass: false,
    member_password_id: "",
    oauth_registrations: [],
    email_address_verified: true,
    mfa_phone_number_verified: false,
    is_admin: member.roles.includes("stytch_admin"),
    totp_registration_id: "",
    retired_email_addresses: [],
    is_locked: false,
    mfa_enrolled: false,
    mfa_phone_number: "",
    default_mfa_method: "",
    // UNVERIFIED: the source Stytch reports for the implicit stytch_member role; the brief asks for direct_assignment.
    roles: member.roles.map((roleId) => ({ role_id: roleId, sources: [{ type: "direct_assignment", details: {} }] })),
    trusted_metadata: {},
    untrusted_metadata: {},
    created_at: rfc3339(member.createdAt),
    updated_at: rfc3339(member.updatedAt),
  };
}

/** A subset of the `Organization` object of reference §2.4, with Stytch's defaults for a new organization. */
function organizationObject(organization: OrganizationRecord): JsonObject {
  return {
    organization_id: organization.organizationId,
    organization_name: organization.name,
    organization_logo_url: "",
    organization_slug: organization.slug,
    sso_jit_provisioning: "NOT_ALLOWED",
    sso_jit_provisioning_allowed_connections: [],
    sso_active_connections: [],
    email_allowed_domains: [],
    email_jit_provisioning: "NOT_ALLOWED",
    email_invites: "ALL_ALLOWED",
    auth_methods: "ALL_ALLOWED",
    allowed_auth_methods: [],
    mfa_policy: "OPTIONAL",
    rbac_email_implicit_role_assignments: [],
    mfa_methods: "ALL_ALLOWED",
    allowed_mfa_methods: [],
    oauth_tenant_jit_provisioning: "NOT_ALLOWED",
    claimed_email_domains: [],
    custom_roles: [],
    trusted_metadata: {},
    created_at: rfc3339(organization.createdAt),
    updated_at: rfc3339(organization.createdAt),
  };
}

function publicJwk(key: SigningKey): Record<string, unknown> {
  const { n, e } = key.publicKey.export({ format: "jwk" });
  // Same member order as Stytch's example (§4); x5c/x5tS256 are omitted: node cannot mint certificates.
  return { kty: "RSA", use: "sig", key_ops: ["verify"], alg: "RS256", kid: key.kid, n, e };
}

function parseSessionDuration(value: unknown): number | undefined {
  if (value === undefined || value === null) return undefined;
  if (
    typeof value !== "number" ||
    !Number.isInteger(value) ||
    value < MIN_SESSION_DURATION_MINUTES ||
    value > MAX_SESSION_DURATION_MINUTES
  ) {
    // UNVERIFIED: status 400 (the error_type name comes from the reference).
    throw new StytchApiError(
      400,
      "invalid_session_duration_minutes",
      `session_duration_minutes must be an integer between ${MIN_SESSION_DURATION_MINUTES} and ${MAX_SESSION_DURATION_MINUTES}.`,
    );
  }
  return value;
}

function parseCustomClaimsPatch(value: unknown): JsonObject | undefined {
  if (value === undefined || value === null) return undefined;
  // UNVERIFIED: error_type for non-object custom claims; the 4 KB size limit is not emulated.
  if (!isJsonObject(value)) {
    throw new StytchApiError(400, "invalid_request", "session_custom_claims must be a JSON object.");
  }
  return value;
}

function safeDecode(segment: string): string {
  try {
    return decodeURIComponent(segment);
  } catch {
    return segment;
  }
}

function send(res: ServerResponse, status: number, body: string): void {
  if (res.destroyed || res.writableEnded) return;
  res.writeHead(status, {
    "Content-Type": "application/json",
    "Content-Length": Buffer.byteLength(body),
  });
  res.end(body);
}

/** A valid JWKS padded past 1 MiB, streamed without Content-Length. */
function sendOversizedJwks(res: ServerResponse, jwksBody: JsonObject): void {
  if (res.destroyed) return;
  const head = `${JSON.stringify(jwksBody).slice(0, -1)},"padding":"`;
  res.writeHead(200, { "Content-Type": "application/json" });
  res.write(head);
  const chunk = "A".repeat(64 * 1024);
  for (let written = head.length; written < OVERSIZED_JWKS_BYTES; written += chunk.length) res.write(chunk);
  res.end('"}');
}

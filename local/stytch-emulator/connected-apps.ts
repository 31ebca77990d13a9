// Connected Apps (Stytch's OAuth authorization server for third-party apps, AI agents and MCP clients): their
// access tokens, issued on a member's behalf by a test helper (the consent flow is not emulated), and token
// introspection, `POST /v1/public/{project_id}/oauth2/introspect` (stytch-node `idp.introspectTokenNetwork`;
// docs "Introspect Token", RFC 7662).

import { randomBytes, timingSafeEqual } from "node:crypto";
import type { JsonObject } from "./json";
import { decodeCompact } from "./jws";
import type { Organizations } from "./organizations";
import type { Project } from "./project";
import { clientCredentials, parseOAuthParams } from "./request-body";
import type { Route } from "./router";
import type { SigningKeys } from "./signing-keys";
import { oauthError } from "./stytch-api-error";
import { nowSeconds } from "./time";

const ORGANIZATION_CLAIM = "https://stytch.com/organization";

/** Default lifetime of a Connected-App access token: one hour (docs: `expires_in: 3600`). */
export const CONNECTED_APP_TOKEN_LIFETIME_SECONDS = 3_600;

/** Options of `StytchEmulator.createConnectedApp`. */
export interface CreateConnectedAppOptions {
  /** A confidential client gets a secret, which introspection then requires; default public (no secret). */
  confidential?: boolean;
}

/** A Connected-App client as created. */
export interface CreatedConnectedApp {
  clientId: string;
  /** Confidential clients only. */
  clientSecret?: string;
}

/** Options of `StytchEmulator.issueConnectedAppToken`. */
export interface IssueConnectedAppTokenOptions {
  /** The Connected App's client id (from `createConnectedApp`). */
  clientId: string;
  /** The member who granted access (a member the emulator knows, e.g. from `createSession`). */
  memberId: string;
  /** The granted scopes; default `["read:documents"]`. */
  scopes?: string[];
  /** Claim overrides of the access token (shallow-merged; `undefined` removes a claim). */
  overrides?: Record<string, unknown>;
}

/** What the token endpoint would hand the app at the end of an OAuth flow. */
export interface IssuedConnectedAppToken {
  /** The RS256 access token (a JWT signed with the project's keys). */
  accessToken: string;
  /**
   * An opaque access token with the same grant, for introspection tests. UNVERIFIED: Stytch documents its access
   * tokens as JWTs; opaque ones are an emulator stand-in for "a token only introspection can judge".
   */
  opaqueAccessToken: string;
  /** The opaque refresh token (44 base64url characters): introspection answers it as a `refresh_token`. */
  refreshToken: string;
  /** The access token's claims. */
  claims: JsonObject;
}

interface AppRecord {
  clientId: string;
  clientSecret: string | undefined;
}

interface OpaqueToken {
  claims: JsonObject;
  tokenType: "access_token" | "refresh_token";
}

/** The project's Connected Apps, the tokens issued to them, and the introspection endpoint. */
export class ConnectedApps {
  readonly #apps = new Map<string, AppRecord>();
  readonly #opaque = new Map<string, OpaqueToken>();
  readonly #revokedJti = new Set<string>();
  readonly #project: Project;
  readonly #keys: SigningKeys;
  readonly #organizations: Organizations;

  constructor(project: Project, keys: SigningKeys, organizations: Organizations) {
    this.#project = project;
    this.#keys = keys;
    this.#organizations = organizations;
  }

  /** Creates a Connected-App client (`connected-app-<env>-<uuid>`). */
  create(options: CreateConnectedAppOptions = {}): CreatedConnectedApp {
    const app: AppRecord = {
      clientId: this.#project.newId("connected-app"),
      clientSecret: options.confidential
        ? `secret-${this.#project.env}-${randomBytes(27).toString("base64url")}`
        : undefined,
    };
    this.#apps.set(app.clientId, app);
    return { clientId: app.clientId, ...(app.clientSecret ? { clientSecret: app.clientSecret } : {}) };
  }

  /**
   * Issues tokens as the token endpoint would at the end of a member's consent: an access token with the docs'
   * claims (iss, sub = the member, aud, client_id, scope, jti, iat, nbf, exp) plus the B2B organization claim.
   */
  issue(options: IssueConnectedAppTokenOptions): IssuedConnectedAppToken {
    if (!this.#apps.has(options.clientId)) throw new Error(`unknown Connected App ${options.clientId}`);
    const member = this.#organizations.member(options.memberId);
    if (member === undefined) throw new Error(`unknown member ${options.memberId}`);
    const organization = this.#organizations.organization(member.organizationId)!;
    const iat = nowSeconds();
    const claims: JsonObject = {
      iss: this.#project.issuer,
      sub: member.memberId,
      aud: [this.#project.projectId],
      client_id: options.clientId,
      exp: iat + CONNECTED_APP_TOKEN_LIFETIME_SECONDS,
      nbf: iat,
      iat,
      jti: randomBytes(33).toString("base64url"),
      scope: (options.scopes ?? ["read:documents"]).join(" "),
      [ORGANIZATION_CLAIM]: { organization_id: organization.organizationId, slug: organization.slug },
    };
    for (const [claim, value] of Object.entries(options.overrides ?? {})) {
      if (value === undefined) delete claims[claim];
      else claims[claim] = value;
    }
    const opaqueAccessToken = randomBytes(33).toString("base64url");
    const refreshToken = randomBytes(33).toString("base64url");
    this.#opaque.set(opaqueAccessToken, { claims, tokenType: "access_token" });
    this.#opaque.set(refreshToken, { claims, tokenType: "refresh_token" });
    return { accessToken: this.#keys.mint(claims), opaqueAccessToken, refreshToken, claims: structuredClone(claims) };
  }

  /** Revokes a token (an access token by its value or JWT, or a refresh token); true if it was known. */
  revoke(token: string): boolean {
    const opaque = this.#opaque.get(token);
    const jti = opaque?.claims.jti ?? decodeCompact(token)?.payload.jti;
    if (typeof jti !== "string") return false;
    this.#revokedJti.add(jti);
    return true;
  }

  /**
   * RFC 7662 introspection: `{active: false}` for anything unknown, expired or revoked; else the token's claims with
   * `active: true`, `token_type` and `client_id`. The introspecting client must be a Connected App of the project
   * (with its secret when confidential). UNVERIFIED: whether Stytch also requires it to be the token's own client;
   * the emulator does not.
   */
  introspect(authorization: string | undefined, rawBody: string): JsonObject {
    const params = parseOAuthParams(rawBody);
    const { clientId, clientSecret } = clientCredentials(authorization, params);
    const app = clientId === undefined ? undefined : this.#apps.get(clientId);
    if (app === undefined || (app.clientSecret !== undefined && !sameSecret(app.clientSecret, clientSecret ?? "")))
      throw oauthError(401, "invalid_client", "Client authentication failed.");
    // UNVERIFIED: error name for a missing token.
    if (!params.token) throw oauthError(400, "invalid_request", "token is required.");
    const requestId = this.#project.newId("request-id");
    const known = this.#lookup(params.token);
    const now = nowSeconds();
    if (
      known === undefined ||
      this.#revokedJti.has(known.claims.jti as string) ||
      typeof known.claims.exp !== "number" ||
      known.claims.exp <= now
    )
      return { active: false, request_id: requestId, status_code: 200 };
    const { jti: _jti, ...claims } = known.claims;
    return { active: true, ...claims, token_type: known.tokenType, request_id: requestId, status_code: 200 };
  }

  /** An opaque token's record, or a Connected-App access token JWT signed with a key of the project. */
  #lookup(token: string): OpaqueToken | undefined {
    const opaque = this.#opaque.get(token);
    if (opaque !== undefined) return opaque;
    const jws = this.#keys.verify(token);
    return jws !== undefined && typeof jws.payload.client_id === "string"
      ? { claims: jws.payload, tokenType: "access_token" }
      : undefined;
  }
}

/** `POST /v1/public/{project_id}/oauth2/introspect`. */
export function introspectionRoute(apps: ConnectedApps, project: Project): Route {
  return {
    method: "POST",
    path: `/v1/public/${project.projectId}/oauth2/introspect`,
    counter: "introspect",
    // Authenticated by a Connected App's own client credentials, never the project's (as the SDK calls it).
    credentials: "none",
    handle: ({ authorization, rawBody }) => apps.introspect(authorization, rawBody),
  };
}

function sameSecret(expected: string, given: string): boolean {
  const a = Buffer.from(expected);
  const b = Buffer.from(given);
  return a.length === b.length && timingSafeEqual(a, b);
}

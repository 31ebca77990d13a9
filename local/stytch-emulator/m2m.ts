// M2M clients and their access tokens: the client credentials grant of `POST /v1/public/{project_id}/oauth2/token`
// (stytch-node `m2m.token`; docs "Get Access Token"), and M2M access tokens minted with the project's keys.

import { randomBytes, timingSafeEqual } from "node:crypto";
import type { JsonObject } from "./json";
import type { Project } from "./project";
import { clientCredentials, parseOAuthParams } from "./request-body";
import type { Route } from "./router";
import type { SigningKeys } from "./signing-keys";
import { oauthError } from "./stytch-api-error";
import { nowSeconds } from "./time";

/** Lifetime of an M2M access token: one hour (docs: "valid for one hour after issuance"). */
export const M2M_TOKEN_LIFETIME_SECONDS = 3_600;

/** Options of `StytchEmulator.createM2MClient`. */
export interface CreateM2MClientOptions {
  /** The client's scopes; default `["read:documents"]`. */
  scopes?: string[];
  /** Custom claims every token of the client carries (Stytch's claim templates). */
  customClaims?: Record<string, unknown>;
}

/** An M2M client as created: its id and (shown once, as Stytch does) its secret. */
export interface CreatedM2MClient {
  clientId: string;
  clientSecret: string;
  scopes: string[];
}

interface M2MClientRecord {
  clientId: string;
  clientSecret: string;
  scopes: string[];
  customClaims: Record<string, unknown>;
}

/** The project's M2M clients and the tokens they get. */
export class M2MClients {
  readonly #clients = new Map<string, M2MClientRecord>();
  readonly #project: Project;
  readonly #keys: SigningKeys;

  constructor(project: Project, keys: SigningKeys) {
    this.#project = project;
    this.#keys = keys;
  }

  /** Creates an M2M client (`m2m-client-<env>-<uuid>`, secret `secret-<env>-<36 base64url chars>`). */
  create(options: CreateM2MClientOptions = {}): CreatedM2MClient {
    const record: M2MClientRecord = {
      clientId: this.#project.newId("m2m-client"),
      clientSecret: `secret-${this.#project.env}-${randomBytes(27).toString("base64url")}`,
      scopes: [...(options.scopes ?? ["read:documents"])],
      customClaims: structuredClone(options.customClaims ?? {}),
    };
    this.#clients.set(record.clientId, record);
    return { clientId: record.clientId, clientSecret: record.clientSecret, scopes: [...record.scopes] };
  }

  /**
   * An M2M access token's payload as Stytch mints it (docs example: sub, iss, aud, scope, iat, nbf, exp, plus the
   * client's custom claims). `overrides` are shallow-merged; an override of `undefined` removes the claim.
   */
  payload(clientId: string, overrides: Record<string, unknown> = {}): JsonObject {
    const client = this.#clients.get(clientId);
    if (client === undefined) throw new Error(`unknown M2M client ${clientId}`);
    const iat = nowSeconds();
    const payload: JsonObject = {
      ...client.customClaims,
      sub: client.clientId,
      iss: this.#project.issuer,
      aud: [this.#project.projectId],
      scope: client.scopes.join(" "),
      iat,
      nbf: iat,
      exp: iat + M2M_TOKEN_LIFETIME_SECONDS,
    };
    for (const [claim, value] of Object.entries(overrides)) {
      if (value === undefined) delete payload[claim];
      else payload[claim] = value;
    }
    return payload;
  }

  /** Mints an M2M access token for a known client (test helper; `overrides` as {@link payload}). */
  mint(clientId: string, overrides?: Record<string, unknown>): string {
    return this.#keys.mint(this.payload(clientId, overrides));
  }

  /**
   * The client credentials grant. Client authentication by HTTP Basic or by the body, as RFC 6749 allows; the
   * requested `scope` must be a subset of the client's (none requested: all of them).
   */
  token(authorization: string | undefined, rawBody: string): JsonObject {
    const params = parseOAuthParams(rawBody);
    // UNVERIFIED: the order Stytch checks grant type and client, and these error names (RFC 6749 §5.2's).
    if (params.grant_type !== "client_credentials")
      throw oauthError(400, "unsupported_grant_type", "grant_type must be client_credentials.");
    const { clientId, clientSecret } = clientCredentials(authorization, params);
    const client = clientId === undefined ? undefined : this.#clients.get(clientId);
    if (client === undefined || clientSecret === undefined || !sameSecret(client.clientSecret, clientSecret))
      throw oauthError(401, "invalid_client", "Client authentication failed.");
    const requested = params.scope === undefined || params.scope === "" ? client.scopes : params.scope.split(" ");
    const unknown = requested.find((scope) => !client.scopes.includes(scope));
    if (unknown !== undefined) throw oauthError(400, "invalid_scope", `The client has no scope ${unknown}.`);
    return {
      request_id: this.#project.newId("request-id"),
      status_code: 200,
      access_token: this.mint(client.clientId, { scope: requested.join(" ") }),
      token_type: "bearer",
      expires_in: M2M_TOKEN_LIFETIME_SECONDS,
    };
  }
}

/** `POST /v1/public/{project_id}/oauth2/token` (the client credentials grant). */
export function m2mTokenRoute(clients: M2MClients, project: Project): Route {
  return {
    method: "POST",
    path: `/v1/public/${project.projectId}/oauth2/token`,
    counter: "m2mToken",
    // Authenticated by the client's own credentials, never the project's.
    credentials: "none",
    handle: ({ authorization, rawBody }) => clients.token(authorization, rawBody),
  };
}

function sameSecret(expected: string, given: string): boolean {
  const a = Buffer.from(expected);
  const b = Buffer.from(given);
  return a.length === b.length && timingSafeEqual(a, b);
}

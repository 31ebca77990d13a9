// What a session endpoint reads from a request: its JSON body (small, an object, known fields only), the session
// credential (in the body, else the Authorization header, else the Stytch cookies) and a requested session
// lifetime within the configured bound.

import type { RefreshConfig } from "../config";
import { MissingCredentialError } from "../errors";
import { type Credential, classifyCredential, findCredential } from "../session/credentials";
import type { EndpointRequest } from "./proxy-exchange";

/** Largest request body accepted; a credential plus a few short fields fit in a fraction of it. */
export const MAX_BODY_BYTES = 8_192;

/** The body fields every session endpoint reads: the credential and the session lifetime. */
export const SESSION_FIELDS = ["session_token", "session_jwt", "session_duration_minutes"] as const;

/** A request the endpoint refuses to read: 400, before any Stytch call. */
export class BadRequestError extends Error {
  override readonly name = "BadRequestError";
}

/** The session credential of a request, and the session lifetime it asks for. */
export interface SessionRequest {
  readonly credential: Credential;
  /** Minutes from now, within the configured bound; `undefined`: not asked for. */
  readonly sessionDurationMinutes?: number;
}

/**
 * The JSON body as an object; no body (or only blanks) is `{}`.
 * @param fields the fields the endpoint knows; any other is refused
 * @throws BadRequestError for a body over {@link MAX_BODY_BYTES}, not JSON, not an object, or with an unknown field
 */
export function parseBody(body: string | undefined, fields: ReadonlySet<string>): Record<string, unknown> {
  if (body === undefined || body.trim() === "") return {};
  if (Buffer.byteLength(body) > MAX_BODY_BYTES) throw new BadRequestError(`body exceeds ${MAX_BODY_BYTES} bytes`);
  let value: unknown;
  try {
    value = JSON.parse(body);
  } catch {
    throw new BadRequestError("body is not JSON");
  }
  if (typeof value !== "object" || value === null || Array.isArray(value))
    throw new BadRequestError("body is not a JSON object");
  for (const key of Object.keys(value))
    if (!fields.has(key)) throw new BadRequestError(`unknown field ${JSON.stringify(key.slice(0, 64))}`);
  return value as Record<string, unknown>;
}

/**
 * The credential, from the body if it names one, else the Authorization header, else the Stytch cookies; and the
 * session lifetime asked for, a whole number of minutes from 5 to the configured maximum.
 * @throws BadRequestError for a malformed body field; MissingCredentialError (401) when there is no credential;
 *   MalformedCredentialError (401) for a credential of no Stytch shape
 */
export function readSessionRequest(
  request: EndpointRequest,
  fields: Record<string, unknown>,
  config: Pick<RefreshConfig, "maxSessionDurationMinutes" | "jwtCookieName" | "sessionCookieName">,
): SessionRequest {
  const sessionDurationMinutes = readSessionDuration(fields.session_duration_minutes, config.maxSessionDurationMinutes);
  const duration = sessionDurationMinutes === undefined ? {} : { sessionDurationMinutes };
  const { session_token: token, session_jwt: jwt } = fields;
  if (token !== undefined && jwt !== undefined)
    throw new BadRequestError("send session_token or session_jwt, not both");
  const value = token ?? jwt;
  if (value !== undefined) {
    if (typeof value !== "string" || value === "")
      throw new BadRequestError("session_token and session_jwt must be non-empty strings");
    const credential = classifyCredential(value, "body");
    if (credential.kind !== (token !== undefined ? "session_token" : "session_jwt"))
      throw new BadRequestError("the credential does not match its field name");
    return { credential, ...duration };
  }
  const event = request.event as EndpointRequest["event"] & {
    cookies?: string[];
    multiValueHeaders?: Record<string, string[] | undefined>;
  };
  const credential = findCredential(
    { headers: event.headers, multiValueHeaders: event.multiValueHeaders ?? null, cookies: event.cookies ?? null },
    config,
  );
  if (!credential)
    throw new MissingCredentialError(
      "no session credential in the body, the Authorization header or the Stytch cookies",
    );
  return { credential, ...duration };
}

function readSessionDuration(duration: unknown, maxMinutes: number): number | undefined {
  if (duration === undefined) return undefined;
  if (maxMinutes === 0)
    throw new BadRequestError("session_duration_minutes is not allowed: session extension is disabled");
  if (typeof duration !== "number" || !Number.isInteger(duration) || duration < 5 || duration > maxMinutes)
    throw new BadRequestError(`session_duration_minutes must be a whole number from 5 to ${maxMinutes}`);
  return duration;
}

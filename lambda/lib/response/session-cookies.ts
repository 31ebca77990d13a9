// Set-Cookie values for the Stytch session cookies, written the way the Stytch frontend SDK writes them
// (expiry = the SESSION's expiry, SameSite=Lax, Path=/), plus Secure and optional HttpOnly/Domain.

/** Cookie attributes shared by both session cookies. */
export interface SessionCookieOptions {
  readonly httpOnly: boolean;
  readonly domain: string | undefined;
}

const EPOCH = new Date(0).toUTCString();

/**
 * A cookie that lives as long as the session: `name=value; Path=/; Expires=…; Secure; SameSite=Lax`.
 * @param expiresAt RFC 3339 expiry of the session (not of the 5-minute JWT)
 */
export function sessionCookie(name: string, value: string, expiresAt: string, options: SessionCookieOptions): string {
  const expires = new Date(expiresAt);
  return serialize(name, value, Number.isNaN(expires.getTime()) ? undefined : expires.toUTCString(), options);
}

/** A Set-Cookie value that deletes the cookie in the browser. */
export function clearedCookie(name: string, options: SessionCookieOptions): string {
  return `${serialize(name, "", EPOCH, options)}; Max-Age=0`;
}

function serialize(name: string, value: string, expires: string | undefined, options: SessionCookieOptions): string {
  // Session JWTs and tokens are base64url, so they never need escaping; anything else is refused.
  if (!/^[A-Za-z0-9._~=-]*$/.test(value)) throw new Error("cookie value has characters outside base64url");
  const parts = [`${name}=${value}`, "Path=/"];
  if (expires) parts.push(`Expires=${expires}`);
  if (options.domain) parts.push(`Domain=${options.domain}`);
  // Always Secure, even for `npm start` on http://127.0.0.1: browsers treat loopback origins as potentially
  // trustworthy and keep Secure cookies from them (Chromium: test/browser-demo.test.ts; Firefox since 75 for
  // localhost). So no "insecure" switch exists that could reach a deployment by mistake.
  parts.push("Secure");
  if (options.httpOnly) parts.push("HttpOnly");
  parts.push("SameSite=Lax");
  return parts.join("; ");
}

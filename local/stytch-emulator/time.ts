// Time as Stytch counts it: epoch seconds inside, RFC 3339 with second precision on the wire.

/** The current time in epoch seconds: Stytch's timestamps have second precision. */
export function nowSeconds(): number {
  return Math.floor(Date.now() / 1000);
}

/** RFC 3339, UTC, second precision (`2024-07-16T21:38:53Z`), as in Stytch's payloads. */
export function rfc3339(epochSeconds: number): string {
  return new Date(epochSeconds * 1000).toISOString().replace(/\.\d{3}Z$/, "Z");
}

// The Set-Cookie values of the refresh endpoint: the attributes a browser decides by (Secure, SameSite, Path,
// Domain, HttpOnly, Expires). A real browser accepting them is checked in browser-demo.test.ts.

import { describe, expect, it } from "vitest";
import { clearedCookie, sessionCookie } from "../lambda/lib/response/session-cookies";

const EXPIRES_AT = "2026-12-01T22:00:00Z";
const HOST_ONLY = { httpOnly: false, domain: undefined };

describe("session cookies", () => {
  it("are Secure, SameSite=Lax, Path=/, host-only and readable by scripts by default, and expire with the session", () => {
    expect(sessionCookie("stytch_session_jwt", "a.b.c", EXPIRES_AT, HOST_ONLY)).toBe(
      "stytch_session_jwt=a.b.c; Path=/; Expires=Tue, 01 Dec 2026 22:00:00 GMT; Secure; SameSite=Lax",
    );
  });

  it("carry Domain and HttpOnly only when configured", () => {
    expect(sessionCookie("stytch_session", "tok", EXPIRES_AT, { httpOnly: true, domain: "example.com" })).toBe(
      "stytch_session=tok; Path=/; Expires=Tue, 01 Dec 2026 22:00:00 GMT; Domain=example.com; Secure; HttpOnly; SameSite=Lax",
    );
  });

  it("are deleted with the same Path and Domain they were set with (a browser keys cookies on name, domain and path)", () => {
    for (const options of [HOST_ONLY, { httpOnly: true, domain: "example.com" }]) {
      const set = sessionCookie("stytch_session", "tok", EXPIRES_AT, options).split("; ");
      const cleared = clearedCookie("stytch_session", options).split("; ");
      expect(cleared[0]).toBe("stytch_session=");
      expect(cleared).toContain("Max-Age=0");
      expect(cleared).toContain("Expires=Thu, 01 Jan 1970 00:00:00 GMT");
      for (const attribute of set.filter((part) => /^(Path|Domain)=/.test(part))) expect(cleared).toContain(attribute);
    }
  });

  it("leave out Expires for an unreadable expiry instead of writing an invalid date", () => {
    expect(sessionCookie("stytch_session", "tok", "not a date", HOST_ONLY)).toBe(
      "stytch_session=tok; Path=/; Secure; SameSite=Lax",
    );
  });

  it("refuse values outside base64url, so nothing can inject another attribute", () => {
    for (const value of ["a;b", "a b", "a\r\nSet-Cookie: x=1", 'a"b', "a,b"])
      expect(() => sessionCookie("stytch_session", value, EXPIRES_AT, HOST_ONLY)).toThrow(/base64url/);
  });
});

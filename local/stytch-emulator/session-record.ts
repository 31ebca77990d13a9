// A member session as the emulator stores it, and the rules of its custom claims (reference §2.1).

import { randomBytes } from "node:crypto";
import type { StoredFactor } from "./authentication-factors";
import type { JsonObject } from "./json";

/** A member session. All times are epoch seconds: Stytch's timestamps have second precision. */
export interface SessionRecord {
  memberSessionId: string;
  sessionToken: string;
  memberId: string;
  organizationId: string;
  startedAt: number;
  lastAccessedAt: number;
  expiresAt: number;
  authenticatedAt: number;
  /** How the member authenticated (authentication-factors.ts); absent: one email magic-link factor at `authenticatedAt`. */
  factors?: StoredFactor[];
  customClaims: JsonObject;
  revoked: boolean;
}

/** Claims a custom claim may not set (reference §2.1), plus Stytch's own namespace. */
const RESERVED_CLAIMS = new Set(["iss", "sub", "aud", "exp", "nbf", "iat", "jti"]);

/** Whether the session still authenticates at `now` (not revoked, not expired). */
export function isActive(session: SessionRecord, now: number): boolean {
  return !session.revoked && session.expiresAt > now;
}

/** 33 random bytes are exactly 44 base64url characters, the length of a Stytch session token. */
export function newSessionToken(): string {
  return randomBytes(33).toString("base64url");
}

/** Drops reserved claims and Stytch's namespace; a `null` value deletes the claim (reference §2.1). */
export function mergeCustomClaims(current: JsonObject, patch: JsonObject): JsonObject {
  const merged: JsonObject = { ...current };
  for (const [name, value] of Object.entries(patch)) {
    if (RESERVED_CLAIMS.has(name) || name.startsWith("https://stytch.com/")) continue;
    if (value === null || value === undefined) delete merged[name];
    else merged[name] = value;
  }
  return merged;
}

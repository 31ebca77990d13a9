// Unit tests for lambda/lib/permissions/step-up.ts: a route's step-up requirements, parsed from the table's JSON
// and judged against a session's authentication factors at a given time.

import { describe, expect, test } from "vitest";
import { checkStepUp, parseStepUp, type StepUpRequirement, stepUpJson } from "../lambda/lib/permissions/step-up";
import type { AuthenticationFactor } from "../lambda/lib/response/member-context";

const NOW = Date.parse("2026-03-01T12:00:00Z");
const MINUTE = 60_000;
const TOLERANCE = 5_000;
const CONNECTION = "saml-connection-test-d89ff7a0-e86f-4b4d-b6a3-9a74d967528e";

/** A factor authenticated `minutesAgo` minutes before NOW. */
function factor(type: string, deliveryMethod: string, minutesAgo: number, extra: Partial<AuthenticationFactor> = {}) {
  return {
    type,
    deliveryMethod,
    lastAuthenticatedAt: new Date(NOW - minutesAgo * MINUTE).toISOString().replace(".000", ""),
    ...extra,
  };
}
const magicLink = (minutesAgo = 30) => factor("magic_link", "email", minutesAgo);
const totp = (minutesAgo = 0) => factor("totp", "authenticator_app", minutesAgo);
const smsOtp = (minutesAgo = 0) => factor("otp", "sms", minutesAgo);
const recoveryCode = (minutesAgo = 0) => factor("recovery_codes", "recovery_code", minutesAgo);
const saml = (minutesAgo = 0, connectionId = CONNECTION) => factor("sso", "sso_saml", minutesAgo, { connectionId });
const oidc = (minutesAgo = 0) =>
  factor("sso", "sso_oidc", minutesAgo, { connectionId: "oidc-connection-test-1111-2222" });
const impersonated = (minutesAgo = 0) =>
  factor("impersonated", "impersonation", minutesAgo, { impersonatorId: "member-live-support" });

function requirement(json: unknown, method = "GET"): StepUpRequirement {
  const parsed = parseStepUp(json, method);
  if (typeof parsed === "string") throw new Error(parsed);
  return parsed;
}

/** The verdict for a request at NOW (uncached) with these factors. */
function judge(json: unknown, factors: AuthenticationFactor[], method = "GET", horizonMs = 0): string {
  return checkStepUp(requirement(json, method === "ANY" ? "ANY" : method), factors, method, NOW, horizonMs, TOLERANCE);
}

describe("parseStepUp", () => {
  test("a full requirement is read, and written back with its impersonation rule spelled out", () => {
    const parsed = requirement({ factors: ["mfa", `sso:${CONNECTION}`], within_minutes: 15 });
    expect(parsed).toEqual({ factors: ["mfa", `sso:${CONNECTION}`], withinMinutes: 15, impersonation: "refused" });
    expect(stepUpJson(parsed)).toEqual({
      factors: ["mfa", `sso:${CONNECTION}`],
      within_minutes: 15,
      impersonation: "refused",
    });
    expect(requirement({ impersonation: "read_only" })).toEqual({
      factors: [],
      withinMinutes: undefined,
      impersonation: "read_only",
    });
  });

  test.each([
    ["not an object", ["mfa"], "not an object"],
    ["empty", {}, "empty step_up"],
    ["an unknown key", { factors: ["mfa"], fresh: 5 }, 'unknown step_up key(s) "fresh"'],
    ["an empty factor list", { factors: [] }, "not a list of 1 to 8"],
    ["factors that are a string", { factors: "mfa" }, "not a list of 1 to 8"],
    ["an unknown factor", { factors: ["mfa", "fingerprint"] }, 'factor "fingerprint", which is not one of'],
    ["a factor twice", { factors: ["sso", "sso"] }, 'names the step_up factor "sso" twice'],
    ["an SSO connection that is not one", { factors: ["sso:okta"] }, 'factor "sso:okta"'],
    ["zero minutes", { within_minutes: 0 }, "from 1 to 1440"],
    ["a fraction of a minute", { within_minutes: 2.5 }, "from 1 to 1440"],
    ["more than a day", { within_minutes: 1_441 }, "from 1 to 1440"],
    ["minutes as a string", { within_minutes: "15" }, "from 1 to 1440"],
    ["an unknown impersonation rule", { impersonation: "audit" }, 'not one of "refused", "allowed", "read_only"'],
  ])("a step_up that is %s is refused, saying why", (_, json, problem) => {
    const parsed = parseStepUp(json, "GET");
    expect(typeof parsed).toBe("string");
    expect(parsed).toContain(problem);
  });

  test("read_only impersonation on a method that never reads is a mistake; on GET, HEAD, OPTIONS and ANY it is not", () => {
    expect(parseStepUp({ impersonation: "read_only" }, "POST")).toContain("read_only on POST");
    for (const method of ["GET", "HEAD", "OPTIONS", "ANY"])
      expect(typeof parseStepUp({ impersonation: "read_only" }, method)).toBe("object");
  });
});

describe("checkStepUp: each requirement, as an Allow and as a 403", () => {
  test.each([
    ["mfa", [magicLink(), totp()], [magicLink()]],
    ["mfa", [magicLink(), smsOtp()], [magicLink(), factor("otp", "whatsapp", 0)]],
    ["mfa", [magicLink(), recoveryCode()], [magicLink(), factor("email_otp", "email", 0)]],
    ["totp", [magicLink(), totp()], [magicLink(), smsOtp()]],
    ["sms_otp", [magicLink(), smsOtp()], [magicLink(), totp()]],
    ["sso", [saml()], [magicLink(), totp()]],
    ["sso", [oidc()], [factor("sso", "email", 0)]],
    [`sso:${CONNECTION}`, [saml()], [saml(0, "saml-connection-test-other")]],
  ])("factors [%s]: allowed with the right factor, step_up_required without", (wanted, meets, fails) => {
    expect(judge({ factors: [wanted] }, meets)).toBe("allowed");
    expect(judge({ factors: [wanted] }, fails)).toBe("step_up_required");
  });

  test("one of several factors is enough", () => {
    expect(judge({ factors: ["sso", "totp"] }, [magicLink(), totp()])).toBe("allowed");
    expect(judge({ factors: ["sso", "totp"] }, [saml()])).toBe("allowed");
    expect(judge({ factors: ["sso", "totp"] }, [magicLink()])).toBe("step_up_required");
  });

  test("within_minutes: the factor must be younger than the limit, to the millisecond", () => {
    const json = { factors: ["mfa"], within_minutes: 15 };
    expect(judge(json, [magicLink(), totp(14)])).toBe("allowed");
    expect(judge(json, [magicLink(), totp(15)])).toBe("step_up_required");
    const justIn = { ...totp(), lastAuthenticatedAt: new Date(NOW - 15 * MINUTE + 1_000).toISOString() };
    expect(judge(json, [magicLink(), justIn])).toBe("allowed");
    // The fresh factor must be the required one: a fresh magic link does not make an old TOTP fresh.
    expect(judge(json, [magicLink(0), totp(20)])).toBe("step_up_required");
  });

  test("within_minutes alone: any factor, recently", () => {
    expect(judge({ within_minutes: 10 }, [magicLink(5)])).toBe("allowed");
    expect(judge({ within_minutes: 10 }, [magicLink(11)])).toBe("step_up_required");
  });

  test("a cached answer must hold until its horizon: fresh now but stale within the horizon is refused", () => {
    const json = { factors: ["mfa"], within_minutes: 15 };
    // 9 minutes ago: 6 minutes left, more than a 5-minute horizon.
    expect(judge(json, [totp(9)], "GET", 5 * MINUTE)).toBe("allowed");
    // 10 minutes ago: exactly 5 minutes left, so it ends within the horizon.
    expect(judge(json, [totp(10)], "GET", 5 * MINUTE)).toBe("step_up_required");
    expect(judge(json, [totp(10)], "GET", 0)).toBe("allowed");
  });

  test("no requirement but impersonation: any member's own session passes", () => {
    expect(judge({ impersonation: "refused" }, [magicLink(600)])).toBe("allowed");
    expect(judge({ impersonation: "refused" }, [])).toBe("allowed");
  });
});

describe("checkStepUp: impersonation", () => {
  test("refused (the default): an impersonated session is refused even with every other factor fresh", () => {
    expect(judge({ factors: ["mfa"] }, [impersonated()])).toBe("impersonation_refused");
    expect(judge({ within_minutes: 60 }, [magicLink(0), totp(0), impersonated()])).toBe("impersonation_refused");
  });

  test("an impersonated factor hidden anywhere among others makes the session impersonated", () => {
    for (const factors of [
      [impersonated(), magicLink(), totp()],
      [magicLink(), impersonated(), totp()],
      [magicLink(), totp(), impersonated()],
    ])
      expect(judge({ factors: ["mfa"], within_minutes: 15 }, factors)).toBe("impersonation_refused");
  });

  test("allowed: the impersonation rule alone decides, factors and freshness are for the member's own sessions", () => {
    expect(judge({ factors: ["mfa"], within_minutes: 15, impersonation: "allowed" }, [impersonated(50)])).toBe(
      "allowed",
    );
  });

  test("read_only: GET, HEAD and OPTIONS are allowed, everything else refused; an unknown method is refused", () => {
    const json = { factors: ["mfa"], impersonation: "read_only" };
    for (const method of ["GET", "HEAD", "OPTIONS"]) expect(judge(json, [impersonated()], method)).toBe("allowed");
    for (const method of ["POST", "PUT", "PATCH", "DELETE"])
      expect(checkStepUp(requirement(json, "ANY"), [impersonated()], method, NOW, 0, TOLERANCE)).toBe(
        "impersonation_refused",
      );
    expect(checkStepUp(requirement(json, "ANY"), [impersonated()], undefined, NOW, 0, TOLERANCE)).toBe(
      "impersonation_refused",
    );
    // A member's own session on the same route still needs its MFA.
    expect(judge(json, [magicLink()], "GET")).toBe("step_up_required");
  });
});

describe("checkStepUp: evidence it cannot judge is never an Allow", () => {
  const json = { within_minutes: 60 };
  test.each([
    ["a missing or non-date last_authenticated_at", { ...totp(), lastAuthenticatedAt: "" }],
    ["an unknown factor type", factor("passkey", "webauthn_registration", 0)],
    ["an unreadable type", factor("", "authenticator_app", 0)],
    ["no delivery method", factor("totp", "", 0)],
    ["a timestamp in the future beyond the clock tolerance", totp(-1)],
  ])("%s among good factors: step_up_required", (_, bad) => {
    expect(judge(json, [magicLink(0), bad])).toBe("step_up_required");
    expect(judge({ factors: ["mfa"], impersonation: "allowed" }, [impersonated(), bad])).toBe("step_up_required");
  });

  test("a timestamp in the future within the clock tolerance is accepted", () => {
    const soon = { ...totp(), lastAuthenticatedAt: new Date(NOW + 4_000).toISOString() };
    expect(judge({ factors: ["totp"], within_minutes: 1 }, [soon])).toBe("allowed");
  });
});

import { describe, expect, it } from "vitest";
import { evaluateIamPolicy, MalformedIamPolicyError, wildcardMatches } from "../local/iam-policy-evaluator";

const ARN = "arn:aws:execute-api:local:000000000000:localapi/local/GET/me";
const STAGE = "arn:aws:execute-api:local:000000000000:localapi/local/*/*";

function policy(...statements: Array<Record<string, unknown>>) {
  return { Version: "2012-10-17", Statement: statements };
}
const allow = (Resource: unknown, Action: unknown = "execute-api:Invoke") => ({ Effect: "Allow", Action, Resource });
const deny = (Resource: unknown, Action: unknown = "execute-api:Invoke") => ({ Effect: "Deny", Action, Resource });

describe("evaluateIamPolicy", () => {
  it("allows when an Allow statement's wildcard resource covers the method ARN", () => {
    expect(evaluateIamPolicy(policy(allow(STAGE)), ARN)).toBe("allow");
  });

  it("lets a * expand over slashes, so a stage-wide Allow covers nested paths", () => {
    expect(
      evaluateIamPolicy(
        policy(allow(STAGE)),
        "arn:aws:execute-api:local:000000000000:localapi/local/POST/auth/refresh",
      ),
    ).toBe("allow");
  });

  it("allows an exact resource and denies implicitly for another method of the same path", () => {
    expect(evaluateIamPolicy(policy(allow(ARN)), ARN)).toBe("allow");
    expect(evaluateIamPolicy(policy(allow(ARN)), ARN.replace("/GET/", "/POST/"))).toBe("implicit_deny");
  });

  it("denies implicitly when the Allow is for another API or stage", () => {
    expect(evaluateIamPolicy(policy(allow("arn:aws:execute-api:local:000000000000:otherapi/local/*/*")), ARN)).toBe(
      "implicit_deny",
    );
    expect(evaluateIamPolicy(policy(allow("arn:aws:execute-api:local:000000000000:localapi/prod/*/*")), ARN)).toBe(
      "implicit_deny",
    );
  });

  it("denies implicitly when no statement matches at all, or there are none", () => {
    expect(evaluateIamPolicy(policy(), ARN)).toBe("implicit_deny");
    expect(evaluateIamPolicy(policy(deny("arn:aws:execute-api:local:000000000000:localapi/local/POST/*")), ARN)).toBe(
      "implicit_deny",
    );
  });

  it("lets an explicit Deny win over a matching Allow, whatever the order", () => {
    expect(evaluateIamPolicy(policy(allow(STAGE), deny(ARN)), ARN)).toBe("explicit_deny");
    expect(evaluateIamPolicy(policy(deny(ARN), allow(STAGE)), ARN)).toBe("explicit_deny");
  });

  it("accepts arrays of resources and actions, matching any element", () => {
    const resources = [
      "arn:aws:execute-api:local:000000000000:localapi/local/POST/*",
      "arn:aws:execute-api:local:000000000000:localapi/local/GET/m?",
    ];
    expect(evaluateIamPolicy(policy(allow(resources, ["s3:GetObject", "execute-api:*"])), ARN)).toBe("allow");
    expect(evaluateIamPolicy(policy(allow(resources.slice(0, 1))), ARN)).toBe("implicit_deny");
  });

  it("accepts a single statement object instead of an array", () => {
    expect(evaluateIamPolicy({ Version: "2012-10-17", Statement: allow(STAGE) }, ARN)).toBe("allow");
  });

  it("matches actions case-insensitively but ignores statements for other actions", () => {
    expect(evaluateIamPolicy(policy(allow(STAGE, "EXECUTE-API:invoke")), ARN)).toBe("allow");
    expect(evaluateIamPolicy(policy(allow(STAGE, "execute-api:ManageConnections")), ARN)).toBe("implicit_deny");
  });

  it("matches resources case-sensitively", () => {
    expect(evaluateIamPolicy(policy(allow(ARN.replace("/me", "/ME"))), ARN)).toBe("implicit_deny");
  });

  it("refuses documents API Gateway would refuse", () => {
    expect(() => evaluateIamPolicy(undefined, ARN)).toThrow(MalformedIamPolicyError);
    expect(() => evaluateIamPolicy({ Version: "2012-10-17" }, ARN)).toThrow(MalformedIamPolicyError);
    expect(() =>
      evaluateIamPolicy(policy({ Effect: "allow", Action: "execute-api:Invoke", Resource: STAGE }), ARN),
    ).toThrow(MalformedIamPolicyError);
    expect(() => evaluateIamPolicy(policy({ Effect: "Allow", Resource: STAGE }), ARN)).toThrow(MalformedIamPolicyError);
    expect(() => evaluateIamPolicy(policy(allow([])), ARN)).toThrow(MalformedIamPolicyError);
    expect(() => evaluateIamPolicy(policy(allow([STAGE, 42])), ARN)).toThrow(MalformedIamPolicyError);
  });
});

describe("wildcardMatches", () => {
  it.each([
    ["*", "", true],
    ["*", "anything/at:all", true],
    ["a*c", "abbbc", true],
    ["a*c", "abbbd", false],
    ["a?c", "abc", true],
    ["a?c", "ac", false],
    ["*/GET/*", "api/stage/GET/me", true],
    ["*/GET/*", "api/stage/POST/me", false],
    ["a**b", "axxb", true],
    ["abc", "abcd", false],
    ["abcd", "abc", false],
  ])("%s against %s → %s", (pattern, value, expected) => {
    expect(wildcardMatches(pattern, value)).toBe(expected);
  });

  it("treats a literal * in the value like any other character under a *", () => {
    expect(wildcardMatches("a*", "a*b")).toBe(true);
    expect(wildcardMatches("a*b", "a*")).toBe(false);
  });

  it("stays fast on patterns that make backtracking regexes explode", () => {
    const started = performance.now();
    expect(wildcardMatches("*a*a*a*a*a*a*a*a*a*a*b", "a".repeat(5_000))).toBe(false);
    expect(performance.now() - started).toBeLessThan(1_000);
  });
});

// The per-member IAM policy, judged the way API Gateway judges it: every request ARN is evaluated
// against the document with IAM's rules (explicit Deny wins, `*` crosses `/`), by local/iam-policy-evaluator.

import { describe, expect, test } from "vitest";
import { IamPolicyTooLargeError } from "../lambda/lib/errors";
import { buildMemberIamPolicy, IAM_POLICY_BUDGET_BYTES } from "../lambda/lib/permissions/member-iam-policy";
import type { RbacRole } from "../lambda/lib/permissions/permission-check";
import { parseRoutePermissions } from "../lambda/lib/permissions/route-table";
import { evaluateIamPolicy } from "../local/iam-policy-evaluator";
import { DEMO_RBAC_POLICY } from "../local/stytch-emulator";
import { thrownBy } from "./support/thrown";

const PREFIX = "arn:aws:execute-api:eu-west-1:123456789012:a1b2c3d4e5/prod";
const ROLES = DEMO_RBAC_POLICY.roles as RbacRole[];
const ORG = "organization-test-11111111-1111-4111-8111-111111111111";
const OTHER = "organization-test-22222222-2222-4222-8222-222222222222";

const DEMO_TABLE = parseRoutePermissions(
  JSON.stringify({
    "GET /orgs/{organization_id}/documents": { resource_id: "documents", action: "read" },
    "POST /orgs/{organization_id}/documents": { resource_id: "documents", action: "write" },
    "GET /orgs/{organization_id}/billing": { resource_id: "billing", action: "read" },
    "GET /by-slug/{organization_slug}/documents": { resource_id: "documents", action: "read" },
    "GET /me": "authenticated",
  }),
  "test",
);

function member(roles: string[], organizationId = ORG, organizationSlug = "acme") {
  return { organizationId, organizationSlug, roles: ["stytch_member", ...roles] };
}

/** What API Gateway does with the IAM policy for one request. */
function gateway(policy: unknown, method: string, path: string): "allow" | "403" {
  return evaluateIamPolicy(policy, `${PREFIX}/${method}${path}`) === "allow" ? "allow" : "403";
}

describe("one IAM policy for every route of the stage", () => {
  test("a viewer may read documents of their own organization and call /me, nothing else", () => {
    const policy = buildMemberIamPolicy(DEMO_TABLE, member(["viewer"]), ROLES, PREFIX);
    expect(policy.Statement).toEqual([
      {
        Action: "execute-api:Invoke",
        Effect: "Allow",
        Resource: [`${PREFIX}/GET/orgs/${ORG}/documents`, `${PREFIX}/GET/by-slug/acme/documents`, `${PREFIX}/GET/me`],
      },
    ]);
    expect(gateway(policy, "GET", `/orgs/${ORG}/documents`)).toBe("allow");
    expect(gateway(policy, "GET", "/by-slug/acme/documents")).toBe("allow");
    expect(gateway(policy, "GET", "/me")).toBe("allow");
    expect(gateway(policy, "POST", `/orgs/${ORG}/documents`)).toBe("403");
    expect(gateway(policy, "GET", `/orgs/${ORG}/billing`)).toBe("403");
  });

  test("tenancy: another organization's path is never covered, by ID or by slug", () => {
    const policy = buildMemberIamPolicy(DEMO_TABLE, member(["admin"]), ROLES, PREFIX);
    expect(gateway(policy, "GET", `/orgs/${ORG}/billing`)).toBe("allow");
    expect(gateway(policy, "GET", `/orgs/${OTHER}/billing`)).toBe("403");
    expect(gateway(policy, "GET", `/orgs/${OTHER}/documents`)).toBe("403");
    expect(gateway(policy, "GET", "/by-slug/globex/documents")).toBe("403");
  });

  test("editors write documents, admins see billing, stytch_member alone only reaches /me", () => {
    const editor = buildMemberIamPolicy(DEMO_TABLE, member(["editor"]), ROLES, PREFIX);
    expect(gateway(editor, "POST", `/orgs/${ORG}/documents`)).toBe("allow");
    expect(gateway(editor, "GET", `/orgs/${ORG}/billing`)).toBe("403");
    const nobody = buildMemberIamPolicy(DEMO_TABLE, member([]), ROLES, PREFIX);
    expect(gateway(nobody, "GET", "/me")).toBe("allow");
    expect(gateway(nobody, "GET", `/orgs/${ORG}/documents`)).toBe("403");
  });

  test("a member allowed nothing gets an explicit Deny of the stage, which is still a valid IAM policy", () => {
    const table = parseRoutePermissions(
      JSON.stringify({ "GET /orgs/{organization_id}/billing": { resource_id: "billing", action: "read" } }),
      "test",
    );
    const policy = buildMemberIamPolicy(table, member(["viewer"]), ROLES, PREFIX);
    expect(policy.Statement).toEqual([{ Action: "execute-api:Invoke", Effect: "Deny", Resource: `${PREFIX}/*/*` }]);
  });

  test("an organization slug or ID that could act as a wildcard is never written into an ARN", () => {
    const policy = buildMemberIamPolicy(DEMO_TABLE, member(["admin"], ORG, "ac*"), ROLES, PREFIX);
    expect(JSON.stringify(policy)).not.toContain("ac*");
    expect(gateway(policy, "GET", "/by-slug/acme/documents")).toBe("403");
    expect(gateway(policy, "GET", `/orgs/${ORG}/documents`)).toBe("allow");
  });

  test("the same member facts give the same document, whichever request triggered it (cache-safe)", () => {
    expect(buildMemberIamPolicy(DEMO_TABLE, member(["editor"]), ROLES, PREFIX)).toEqual(
      buildMemberIamPolicy(DEMO_TABLE, member(["editor"]), ROLES, PREFIX),
    );
  });

  test("ANY routes are written out per method, so no leading * can swallow a path", () => {
    const table = parseRoutePermissions(
      JSON.stringify({
        "ANY /orgs/{organization_id}/files/{proxy+}": "authenticated",
        "GET /orgs/{organization_id}/documents": { resource_id: "documents", action: "read" },
      }),
      "test",
    );
    const policy = buildMemberIamPolicy(table, member([]), ROLES, PREFIX);
    expect(gateway(policy, "DELETE", `/orgs/${ORG}/files/a/b`)).toBe("allow");
    expect(gateway(policy, "GET", `/orgs/${OTHER}/files/a/orgs/${ORG}/files/b`)).toBe("403");
    expect(JSON.stringify(policy)).not.toContain(`${PREFIX}/*/`);
  });
});

describe("overlapping wildcards", () => {
  const table = parseRoutePermissions(
    JSON.stringify({
      "GET /orgs/{organization_id}/documents/{id}": { resource_id: "documents", action: "read" },
      "GET /orgs/{organization_id}/documents/{id}/audit": { resource_id: "documents", action: "audit" },
    }),
    "test",
  );

  test("documents/{id} allowed next to a forbidden documents/{id}/audit: an explicit Deny keeps the audit route closed", () => {
    const policy = buildMemberIamPolicy(table, member(["viewer"]), ROLES, PREFIX);
    expect(policy.Statement).toEqual([
      { Action: "execute-api:Invoke", Effect: "Allow", Resource: [`${PREFIX}/GET/orgs/${ORG}/documents/?*`] },
      { Action: "execute-api:Invoke", Effect: "Deny", Resource: [`${PREFIX}/GET/orgs/*/documents/*/audit`] },
    ]);
    expect(gateway(policy, "GET", `/orgs/${ORG}/documents/d1`)).toBe("allow");
    expect(gateway(policy, "GET", `/orgs/${ORG}/documents/d1/audit`)).toBe("403");
  });

  test("with a second allowed route the audit route stays refused: every Allow is checked, not only the first", () => {
    const withMe = parseRoutePermissions(
      JSON.stringify({
        "GET /me": "authenticated",
        "GET /orgs/{organization_id}/documents/{id}": { resource_id: "documents", action: "read" },
        "GET /orgs/{organization_id}/documents/{id}/audit": { resource_id: "documents", action: "audit" },
      }),
      "test",
    );
    const policy = buildMemberIamPolicy(withMe, member(["viewer"]), ROLES, PREFIX);
    expect(gateway(policy, "GET", "/me")).toBe("allow");
    expect(gateway(policy, "GET", `/orgs/${ORG}/documents/d1`)).toBe("allow");
    expect(gateway(policy, "GET", `/orgs/${ORG}/documents/d1/audit`)).toBe("403");
  });

  test("without the Deny the wildcard would have let the audit route through (the trap this guards)", () => {
    const policy = buildMemberIamPolicy(table, member(["viewer"]), ROLES, PREFIX);
    const allowOnly = { ...policy, Statement: policy.Statement.filter((statement) => statement.Effect === "Allow") };
    expect(gateway(allowOnly, "GET", `/orgs/${ORG}/documents/d1/audit`)).toBe("allow");
  });

  test("a member who may call both gets no Deny", () => {
    const policy = buildMemberIamPolicy(table, member(["admin"]), ROLES, PREFIX);
    expect(policy.Statement).toHaveLength(1);
    expect(gateway(policy, "GET", `/orgs/${ORG}/documents/d1/audit`)).toBe("allow");
  });
});

describe("size", () => {
  /** 300 routes over 30 resources: far beyond what fits in one document written out. */
  function largeTable() {
    const routes: Record<string, unknown> = { "GET /me": "authenticated" };
    for (let r = 0; r < 30; r++) {
      for (const [method, suffix, action] of [
        ["GET", "", "read"],
        ["POST", "", "write"],
        ["GET", "/{item_id}", "read"],
        ["PUT", "/{item_id}", "write"],
        ["DELETE", "/{item_id}", "delete"],
        ["GET", "/{item_id}/history", "history"],
        ["GET", "/{item_id}/comments", "read"],
        ["POST", "/{item_id}/comments", "write"],
        ["GET", "/{item_id}/comments/{comment_id}", "read"],
        ["DELETE", "/{item_id}/comments/{comment_id}", "delete"],
      ]) {
        routes[`${method} /orgs/{organization_id}/collection-${r}${suffix}`] = { resource_id: `resource-${r}`, action };
      }
    }
    return parseRoutePermissions(JSON.stringify(routes), "test");
  }

  const largeRoles: RbacRole[] = [
    {
      role_id: "reader",
      permissions: Array.from({ length: 30 }, (_, r) => ({
        resource_id: `resource-${r}`,
        actions: ["read", "history"],
      })),
    },
    {
      role_id: "owner",
      permissions: Array.from({ length: 30 }, (_, r) => ({ resource_id: `resource-${r}`, actions: ["*"] })),
    },
  ];

  test("a large table is merged within API Gateway's budget and still decides every route exactly", () => {
    const table = largeTable();
    for (const roles of [["owner"], ["reader"]]) {
      const policy = buildMemberIamPolicy(table, member(roles), largeRoles, PREFIX);
      expect(Buffer.byteLength(JSON.stringify(policy))).toBeLessThanOrEqual(IAM_POLICY_BUDGET_BYTES);
      const reader = roles[0] === "reader";
      for (let r = 0; r < 30; r++) {
        const base = `/orgs/${ORG}/collection-${r}`;
        expect(gateway(policy, "GET", base)).toBe("allow");
        expect(gateway(policy, "GET", `${base}/i1`)).toBe("allow");
        expect(gateway(policy, "GET", `${base}/i1/history`)).toBe("allow");
        expect(gateway(policy, "GET", `${base}/i1/comments/c1`)).toBe("allow");
        expect(gateway(policy, "POST", base)).toBe(reader ? "403" : "allow");
        expect(gateway(policy, "DELETE", `${base}/i1/comments/c1`)).toBe(reader ? "403" : "allow");
        expect(gateway(policy, "PUT", `${base}/i1`)).toBe(reader ? "403" : "allow");
        expect(gateway(policy, "GET", `/orgs/${OTHER}/collection-${r}/i1`)).toBe("403");
      }
    }
  });

  test("written out, the same IAM policy would not fit: merging is what keeps it under the budget", () => {
    expect(() => buildMemberIamPolicy(largeTable(), member(["owner"]), largeRoles, PREFIX, 1_000_000)).not.toThrow();
    const exact = buildMemberIamPolicy(largeTable(), member(["owner"]), largeRoles, PREFIX, 1_000_000);
    expect(Buffer.byteLength(JSON.stringify(exact))).toBeGreaterThan(IAM_POLICY_BUDGET_BYTES);
  });

  test("merging never writes a pattern that reaches another organization's route, even under budget pressure", () => {
    const table = parseRoutePermissions(
      JSON.stringify({
        "GET /orgs/{organization_id}/documents": { resource_id: "documents", action: "read" },
        "POST /orgs/{organization_id}/documents": { resource_id: "documents", action: "write" },
        "ANY /orgs/{organization_id}/files/{proxy+}": "authenticated",
      }),
      "test",
    );
    const exact = buildMemberIamPolicy(table, member(["editor"]), ROLES, PREFIX);
    // A method-merged `*\/orgs/{ORG}/documents` would match GET/orgs/{OTHER}/files/x/orgs/{ORG}/documents.
    const leak = `/orgs/${OTHER}/files/x/orgs/${ORG}/documents`;
    expect(gateway(exact, "GET", leak)).toBe("403");
    const budget = Buffer.byteLength(JSON.stringify(exact)) - 1;
    let merged: unknown;
    try {
      merged = buildMemberIamPolicy(table, member(["editor"]), ROLES, PREFIX, budget);
    } catch (error) {
      expect(error).toBeInstanceOf(IamPolicyTooLargeError);
      return;
    }
    expect(gateway(merged, "GET", leak)).toBe("403");
  });

  test("an IAM policy that cannot be merged small enough is a fault, never a wider Allow", () => {
    const error = thrownBy(() => buildMemberIamPolicy(largeTable(), member(["reader"]), largeRoles, PREFIX, 100));
    expect(error).toBeInstanceOf(IamPolicyTooLargeError);
  });
});

describe("step-up routes", () => {
  test("a route with step-up requirements is in the member's IAM policy only where meetsStepUp says so", () => {
    const table = parseRoutePermissions(
      JSON.stringify({
        "GET /orgs/{organization_id}/billing": {
          resource_id: "billing",
          action: "read",
          step_up: { factors: ["mfa"], within_minutes: 15 },
        },
        "GET /me": "authenticated",
      }),
      "test",
    );
    const billing = `/orgs/${ORG}/billing`;
    const without = buildMemberIamPolicy(table, member(["admin"]), ROLES, PREFIX);
    expect(gateway(without, "GET", billing)).toBe("403");
    expect(gateway(without, "GET", "/me")).toBe("allow");
    const met = buildMemberIamPolicy(table, member(["admin"]), ROLES, PREFIX, undefined, () => true);
    expect(gateway(met, "GET", billing)).toBe("allow");
  });
});

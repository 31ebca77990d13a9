// Differential test: our route decisions against the official Stytch SDK's local check,
// `authenticateJwtLocal({session_jwt, authorization_check})`, over generated project RBAC policies, custom
// organization roles and member role sets. Both sides read the same RBAC policies from the same emulator.
//
// The SDK only speaks https, so a loopback TLS front (local/tls-front.ts) with a throwaway certificate
// (local/tls-cert.ts) stands before the emulator, and certificate checks are off IN THIS FILE ONLY.
process.env.NODE_TLS_REJECT_UNAUTHORIZED = "0";

import { mkdtempSync, readFileSync } from "node:fs";
import { tmpdir } from "node:os";
import * as path from "node:path";
import { B2BClient } from "stytch";
import { afterAll, beforeAll, describe, expect, test, vi } from "vitest";
import { createAuthorizer } from "../lambda/authorizer";
import type { DecisionRecord } from "../lambda/lib/operations/log";
import { type RbacPolicy, type RbacRole, type StytchEmulator, startStytchEmulator } from "../local/stytch-emulator";
import { generateLoopbackCertificate } from "../local/tls-cert";
import { startTlsFront, type TlsFront } from "../local/tls-front";
import { UNHURRIED_TIMEOUTS } from "./support/fixtures";

const RESOURCES = ["documents", "billing", "reports", "stytch.member"];
const ACTIONS = ["read", "write", "delete", "export"];
const ROLE_IDS = ["stytch_member", "stytch_admin", "viewer", "editor", "admin", "auditor", "custom-a", "custom-b"];
const ROUNDS = 12;
const MEMBERS_PER_ROUND = 6;

let stytch: StytchEmulator;
let front: TlsFront;

beforeAll(async () => {
  stytch = await startStytchEmulator();
  const dir = mkdtempSync(path.join(tmpdir(), "rbac-differential-"));
  const { certPath, keyPath } = generateLoopbackCertificate(dir);
  front = await startTlsFront("stytch-sdk", stytch.url, { cert: readFileSync(certPath), key: readFileSync(keyPath) });
});

afterAll(async () => {
  await front?.close();
  await stytch?.close();
});

/** A small deterministic PRNG (mulberry32), so a failure can be replayed from its round number. */
function random(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

function pick<T>(next: () => number, list: readonly T[]): T {
  return list[Math.floor(next() * list.length)]!;
}

function someOf<T>(next: () => number, list: readonly T[], chance: number): T[] {
  return list.filter(() => next() < chance);
}

function generatedRoles(next: () => number, roleIds: readonly string[]): RbacRole[] {
  return roleIds.map((role_id) => ({
    role_id,
    permissions: someOf(next, RESOURCES, 0.4).map((resource_id) => ({
      resource_id,
      actions: next() < 0.2 ? ["*"] : someOf(next, [...ACTIONS, "*"], 0.3),
    })),
  }));
}

/** One route per (resource, action), each with the organization in its path. */
const TABLE: Record<string, unknown> = Object.fromEntries(
  RESOURCES.flatMap((resource_id) =>
    ACTIONS.map((action) => [`GET /orgs/{organization_id}/${resource_id}/${action}`, { resource_id, action }]),
  ),
);

type Outcome = "allowed" | "tenancy_mismatch" | "permission_denied";

describe("our route decisions equal the Stytch SDK's authorization_check", () => {
  test.each(Array.from({ length: ROUNDS }, (_, round) => round))(
    "round %i of generated RBAC policies and role sets",
    async (round) => {
      vi.spyOn(console, "info").mockImplementation(() => undefined);
      const next = random(1000 + round);
      const slug = `org-${round}`;
      const otherSlug = `org-${round}-other`;
      stytch.rbacPolicy = {
        roles: generatedRoles(next, ROLE_IDS.slice(0, 6)),
        resources: [],
        scopes: [],
      } as RbacPolicy;
      stytch.createSession({ organizationSlug: slug });
      stytch.setOrganizationRoles(slug, generatedRoles(next, ["custom-a", "custom-b"]));
      const other = stytch.createSession({ organizationSlug: otherSlug });

      const sdk = new B2BClient({ project_id: stytch.projectId, secret: stytch.secret, custom_base_url: front.url });

      let record: DecisionRecord | undefined;
      const ours = createAuthorizer(
        {
          STYTCH_PROJECT_ID: stytch.projectId,
          STYTCH_SECRET: stytch.secret,
          STYTCH_API_URL: stytch.url,
          STYTCH_ROUTE_PERMISSIONS: JSON.stringify(TABLE),
          ...UNHURRIED_TIMEOUTS,
        },
        { onDecision: (decision) => (record = decision) },
      );

      let compared = 0;
      const outcomes = new Set<Outcome>();
      for (let m = 0; m < MEMBERS_PER_ROUND; m++) {
        const member = stytch.createSession({
          organizationSlug: slug,
          roles: someOf(next, [...ROLE_IDS, "unknown-role"], 0.35),
        });
        for (let c = 0; c < 8; c++) {
          const resource_id = pick(next, RESOURCES);
          const action = pick(next, ACTIONS);
          const organization_id = next() < 0.2 ? other.organizationId : member.organizationId;

          let theirs: Outcome;
          try {
            await sdk.sessions.authenticateJwtLocal({
              session_jwt: member.sessionJwt,
              authorization_check: { organization_id, resource_id, action },
            });
            theirs = "allowed";
          } catch (error) {
            const code = (error as { code?: string }).code;
            expect(["tenancy_mismatch", "invalid_permissions"]).toContain(code);
            theirs = code === "tenancy_mismatch" ? "tenancy_mismatch" : "permission_denied";
          }

          record = undefined;
          const routeKey = `GET /orgs/{organization_id}/${resource_id}/${action}`;
          const answer = (await ours({
            version: "2.0",
            type: "REQUEST",
            routeArn: `arn:aws:execute-api:eu-west-1:123456789012:a1b2c3d4e5/$default/GET/orgs/${organization_id}/${resource_id}/${action}`,
            identitySource: [],
            routeKey,
            rawPath: `/orgs/${organization_id}/${resource_id}/${action}`,
            rawQueryString: "",
            headers: { authorization: `Bearer ${member.sessionJwt}` },
            pathParameters: { organization_id },
            requestContext: {},
          } as never)) as { isAuthorized: boolean };
          const mine: Outcome = answer.isAuthorized
            ? "allowed"
            : ((record as DecisionRecord | undefined)?.reason as Outcome);

          expect({ round, member: member.roles, organization_id, resource_id, action, outcome: mine }).toEqual({
            round,
            member: member.roles,
            organization_id,
            resource_id,
            action,
            outcome: theirs,
          });
          outcomes.add(theirs);
          compared++;
        }
      }
      expect(compared).toBe(MEMBERS_PER_ROUND * 8);
      // Every round must exercise more than one outcome, or the comparison proves little.
      expect(outcomes.size).toBeGreaterThan(1);
    },
  );
});

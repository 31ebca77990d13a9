/**
 * The single route table of the demo API.
 *
 * The CDK stack (`infra/demo/stytch-api-stack.ts`) and the local dev server both read this table,
 * so a route is added, removed or re-secured in exactly one place. This module is plain data:
 * it imports no CDK code, so a Node server can load it cheaply.
 *
 * @module
 */
import type { CallerType, FactorRequirement, ImpersonationRule, RoutePermission } from "../route-permission-table";

/**
 * How a route is protected.
 *
 * - `"stytch"`: the Stytch session authorizer runs first; the handler reads the member from the
 *   authorizer context.
 * - `"none"`: public; the handler authenticates the request itself (if at all).
 */
export type RouteAuthorization = "stytch" | "none";

/** One HTTP route of the API and the Lambda handler that serves it. */
export interface ApiRoute {
  /** HTTP method. */
  readonly method: "GET" | "POST";
  /** Resource path, starting with `/`, without a stage prefix, e.g. `"/me"` or `"/auth/refresh"`. */
  readonly path: string;
  /** Construct id of the function serving the route; routes with the same id share one function. */
  readonly functionId: "Me" | "Refresh" | "SwitchOrganization" | "OrganizationData" | "ServiceUsage";
  /** Handler source file, relative to the repository root, e.g. `"lambda/demo/me.ts"`. */
  readonly entry: string;
  /** Name of the exported handler function in {@link ApiRoute.entry}. */
  readonly handler: "handler";
  /** Whether the Stytch authorizer protects the route. */
  readonly authorization: RouteAuthorization;
  /** For routes behind the authorizer: the permission the route needs (compiled into the authorizer's route table). */
  readonly permission?: RoutePermission;
  /**
   * For routes behind the authorizer: step-up requirements next to the permission (the construct's `stepUp`,
   * with the freshness limit in minutes so that this module stays plain data).
   */
  readonly stepUp?: {
    readonly factors?: readonly FactorRequirement[];
    readonly withinMinutes?: number;
    readonly impersonation?: ImpersonationRule;
  };
  /** For routes behind the authorizer: who may call it (default members only). */
  readonly callers?: readonly CallerType[];
  /** One-line description, used for documentation and resource descriptions. */
  readonly description: string;
}

/** Every route of the demo API, in the order they are created. */
export const API_ROUTES: readonly ApiRoute[] = [
  {
    method: "GET",
    path: "/me",
    functionId: "Me",
    entry: "lambda/demo/me.ts",
    handler: "handler",
    authorization: "stytch",
    permission: "authenticated",
    description: "The calling member, read from the authorizer context",
  },
  {
    method: "GET",
    path: "/orgs/{organization_id}/documents",
    functionId: "OrganizationData",
    entry: "lambda/demo/organization-data.ts",
    handler: "handler",
    authorization: "stytch",
    permission: { resourceId: "documents", action: "read" },
    callers: ["member", "connected_app"],
    description:
      "Documents of the member's organization (viewer, editor, admin), also to Connected Apps (agents) with read:documents",
  },
  {
    method: "POST",
    path: "/orgs/{organization_id}/documents",
    functionId: "OrganizationData",
    entry: "lambda/demo/organization-data.ts",
    handler: "handler",
    authorization: "stytch",
    permission: { resourceId: "documents", action: "write" },
    description: "Adds a document to the member's organization",
  },
  {
    method: "GET",
    path: "/orgs/{organization_id}/billing",
    functionId: "OrganizationData",
    entry: "lambda/demo/organization-data.ts",
    handler: "handler",
    authorization: "stytch",
    permission: { resourceId: "billing", action: "read" },
    // Step-up: an MFA factor (TOTP, SMS OTP, recovery code) authenticated within the last 15 minutes; impersonated
    // sessions are refused.
    stepUp: { factors: ["mfa"], withinMinutes: 15 },
    description: "Billing of the member's organization (admin only, after MFA within 15 minutes)",
  },
  {
    method: "GET",
    path: "/by-slug/{organization_slug}/documents",
    functionId: "OrganizationData",
    entry: "lambda/demo/organization-data.ts",
    handler: "handler",
    authorization: "stytch",
    permission: { resourceId: "documents", action: "read" },
    description: "The same documents, addressed by organization slug",
  },
  {
    method: "GET",
    path: "/service/usage",
    functionId: "ServiceUsage",
    entry: "lambda/demo/service-usage.ts",
    handler: "handler",
    authorization: "stytch",
    permission: { resourceId: "usage", action: "read" },
    callers: ["m2m"],
    description: "Usage across organizations, for back ends: M2M clients with the read:usage scope only",
  },
  {
    method: "POST",
    path: "/auth/refresh",
    functionId: "Refresh",
    entry: "lambda/refresh.ts",
    handler: "handler",
    authorization: "none",
    description: "Exchanges a Stytch session credential for a fresh session JWT and cookies",
  },
  {
    method: "POST",
    path: "/auth/switch-organization",
    functionId: "SwitchOrganization",
    entry: "lambda/switch-organization.ts",
    handler: "handler",
    authorization: "none",
    description: "Switches the member's session to another of their organizations (Stytch sessions.exchange)",
  },
];

/**
 * The CORS preflight both APIs give an allowed origin: the stack's CORS options, and `npm start`'s
 * preflight answers (local/gateway-cors.ts), so the two cannot drift apart.
 */
export const CORS_PREFLIGHT = {
  allowMethods: ["GET", "POST", "OPTIONS"],
  allowHeaders: ["Authorization", "Content-Type"],
  maxAgeSeconds: 3600,
} as const;

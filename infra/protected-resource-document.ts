/**
 * What agents (MCP clients and other Connected Apps) need to find out how to authenticate to an API: the RFC 9728
 * protected-resource metadata document, served at `/.well-known/oauth-protected-resource`, and the
 * `WWW-Authenticate: Bearer resource_metadata="…"` of every 401 (RFC 9728 §5.1), which points at it. Plain code
 * without CDK constructs, so that `npm start` serves the same document.
 *
 * @module
 */
import { apiUrlProblem } from "../lambda/lib/settings";
import { grantingScopes, type RoutePermissionTable, readRbacPolicyFile } from "./route-permission-table";

/** The well-known path of the metadata document (RFC 9728 §3). */
export const PROTECTED_RESOURCE_METADATA_PATH = "/.well-known/oauth-protected-resource";

/** Settings of the protected-resource metadata ({@link StytchAuthorizerProps.protectedResource}). */
export interface StytchProtectedResourceOptions {
  /**
   * The OAuth authorization server that issues the access tokens: your Stytch project's domain, or (as Stytch
   * recommends for MCP) your custom domain, e.g. `https://login.example.com`. An https origin.
   */
  readonly authorizationServer: string;
  /**
   * The scopes to advertise (`scopes_supported`).
   * @default - the scopes of the route table's `policyFile` that grant a permission of a route open to Connected
   *   Apps; none (the field is left out) without a policy file
   */
  readonly scopes?: readonly string[];
  /**
   * The resource identifier (`resource`): the API's URL as agents call it, e.g. `https://api.example.com/v1` behind
   * a custom domain. The metadata's URL is this plus `/.well-known/oauth-protected-resource`.
   * @default - the REST API's stage URL (required for an imported REST API)
   */
  readonly resource?: string;
  /** A human-readable name (`resource_name`). @default - none */
  readonly resourceName?: string;
}

// Advertised scopes go into a mapping template: no VTL (`$`, `#`) or JSON-escaping characters.
const ADVERTISED_SCOPE = /^[A-Za-z0-9._:*/+-]{1,128}$/;

/**
 * The problems of the options a synth must refuse: an authorization server that is not an https origin, a scope
 * that is not a plain scope token.
 */
export function protectedResourceProblems(options: StytchProtectedResourceOptions): string[] {
  const problems: string[] = [];
  const serverProblem = apiUrlProblem(options.authorizationServer);
  if (serverProblem !== undefined) problems.push(`protectedResource.authorizationServer ${serverProblem}`);
  for (const scope of options.scopes ?? [])
    if (!ADVERTISED_SCOPE.test(scope))
      problems.push(`protectedResource.scopes: "${scope}" is not a plain scope (letters, digits and . _ : * / + -)`);
  return problems;
}

/** The RFC 9728 document (§2): the resource, its authorization server, the scopes, bearer tokens in the header. */
export function protectedResourceDocument(
  resource: string,
  options: Pick<StytchProtectedResourceOptions, "authorizationServer" | "resourceName">,
  scopes: readonly string[] | undefined,
): Record<string, unknown> {
  return {
    resource,
    authorization_servers: [new URL(options.authorizationServer).origin],
    ...(scopes && scopes.length > 0 ? { scopes_supported: [...scopes] } : {}),
    bearer_methods_supported: ["header"],
    ...(options.resourceName ? { resource_name: options.resourceName } : {}),
  };
}

/** The `WWW-Authenticate` value of a 401 that points agents at the metadata (RFC 9728 §5.1). */
export function bearerChallenge(metadataUrl: string): string {
  return `Bearer resource_metadata="${metadataUrl}"`;
}

/**
 * The scopes to advertise by default: those of the table's policy file that grant the permission of a route open to
 * Connected Apps (every scope of the file when such a route asks for no permission).
 */
export function defaultAdvertisedScopes(table: RoutePermissionTable | undefined): string[] | undefined {
  if (table?.options.policyFile === undefined) return undefined;
  const policy = readRbacPolicyFile(table.options.policyFile);
  const scopes = new Set<string>();
  for (const entry of Object.values(table.toJSON())) {
    if (entry === "authenticated" || !entry.callers?.includes("connected_app")) continue;
    if (entry.resource_id === undefined || entry.action === undefined)
      for (const scope of policy.scopes ?? []) scopes.add(scope.scope);
    else for (const scope of grantingScopes(policy, entry.resource_id, entry.action)) scopes.add(scope);
  }
  return [...scopes].sort();
}

// The banner of `npm start`: what is served, in which mode, and a curl walkthrough that works when pasted
// into a bash shell. Kept apart from the CLI so a test can run the exact text it prints.

import { findRoute, type RoutePermission } from "../lambda/lib/permissions/route-table";
import { DEV_ROUTES, MFA_REQUIRED_DEMO_ORGANIZATION } from "./dev-session-routes";
import type { LocalApi } from "./local-api";

/** The route table entries the walkthrough talks about, found by their handler file rather than by path. */
const ME_ENTRY = "lambda/demo/me.ts";
const REFRESH_ENTRY = "lambda/refresh.ts";
const SWITCH_ENTRY = "lambda/switch-organization.ts";
const ORGANIZATION_DATA_ENTRY = "lambda/demo/organization-data.ts";
const SERVICE_USAGE_ENTRY = "lambda/demo/service-usage.ts";

type BannerApi = Pick<LocalApi, "url" | "mode" | "routes" | "routeTable" | "demoUrl"> & {
  readonly stytch?: Pick<NonNullable<LocalApi["stytch"]>, "rbacPolicy">;
};

/**
 * The start-up banner: the API and demo page URLs, mode, the route table the authorizer enforces (each served
 * route with what it needs, from the table itself, yours or the demo's) and, in emulator mode, the curl walkthrough.
 */
export function banner(api: BannerApi): string {
  const { table, source } = api.routeTable;
  const devRoutes = api.mode === "emulator" ? DEV_ROUTES.map((r) => ({ ...r, access: "dev only" })) : [];
  const served = [
    ...api.routes.map((r) => ({
      method: r.method,
      path: r.path,
      access: r.authorization === "stytch" ? accessOf(findRoute(table, `${r.method} ${r.path}`)?.permission) : "public",
      description: r.description,
    })),
    ...devRoutes,
  ];
  const unserved = table.routes.filter(
    (entry) =>
      !api.routes.some((r) => r.authorization === "stytch" && findRoute(table, `${r.method} ${r.path}`) === entry),
  );
  const pathWidth = Math.max(...served.map((r) => r.path.length)) + 1;
  const accessWidth = Math.max(...served.map((r) => r.access.length)) + 1;
  const lines = [
    `API: ${api.url}`,
    ...(api.demoUrl ? [`Demo page: ${api.demoUrl}`] : []),
    "",
    api.mode === "emulator"
      ? "Emulator mode: embedded Stytch, no account needed."
      : "Stytch mode: your Stytch project.",
    "",
    source === "demo"
      ? "Route table: the demo's (infra/demo/routes.ts), compiled as the CDK construct compiles it."
      : `Route table: yours, from ${source}; a route it does not list answers 403.`,
    ...(api.stytch && source === "demo" ? [`Roles (embedded Stytch): ${demoRoles(api.stytch.rbacPolicy)}.`] : []),
    ...served.map(
      (r) => `  ${r.method.padEnd(5)} ${r.path.padEnd(pathWidth)} ${r.access.padEnd(accessWidth)} ${r.description}`,
    ),
    ...unserved.map((entry) => `  (your table also lists ${entry.routeKey}, which npm start does not serve: 404)`),
    "",
    ...(api.mode === "emulator"
      ? ["Try it (paste into bash):", ...curlWalkthrough(api).map((line) => `  ${line}`), ...machineLines(api)]
      : stytchModeHint(api)),
    "",
    "Ctrl+C to stop.",
  ];
  return lines.join("\n");
}

/** What a route needs, as the banner shows it. */
function accessOf(permission: RoutePermission | undefined): string {
  if (permission === undefined) return "not in table: 403";
  return permission === "authenticated" ? "any member" : `${permission.resourceId}:${permission.action}`;
}

/** The project's own roles (not Stytch's `stytch_…` ones) with their descriptions. */
function demoRoles(policy: { roles: ReadonlyArray<{ role_id: string; description?: string }> }): string {
  return policy.roles
    .filter((role) => !role.role_id.startsWith("stytch_"))
    .map((role) => (role.description ? `${role.role_id} (${role.description.toLowerCase()})` : role.role_id))
    .join(", ");
}

/**
 * The curl walkthrough, one shell line per element (comments included). Emulator mode only: it logs in via
 * /dev/login. Its files (cookie jar, login answer) go to a temporary folder, never the current one. The
 * per-route steps need the demo's route table and roles, so they are left out when the table is yours.
 */
export function curlWalkthrough(
  api: Pick<LocalApi, "url" | "routes"> & Partial<Pick<LocalApi, "routeTable">>,
): string[] {
  const me = api.routes.find((r) => r.entry === ME_ENTRY);
  const refresh = api.routes.find((r) => r.entry === REFRESH_ENTRY);
  const switchOrganization = api.routes.find((r) => r.entry === SWITCH_ENTRY);
  const organizationRoute = (method: string, resource: string) =>
    api.routes.find(
      (r) =>
        r.entry === ORGANIZATION_DATA_ENTRY && r.method === method && r.path === `/orgs/{organization_id}/${resource}`,
    );
  const demoTable = (api.routeTable?.source ?? "demo") === "demo";
  const documents = demoTable ? organizationRoute("GET", "documents") : undefined;
  const billing = demoTable ? organizationRoute("GET", "billing") : undefined;
  const url = api.url;
  const jar = `"$D/cookies.txt"`;
  let step = 0;
  const lines = [
    `# ${++step}. Log in as a demo member (an admin, with MFA just now); the cookie jar (in a temporary folder, $D) gets stytch_session and stytch_session_jwt`,
    `D=$(mktemp -d); curl -s -c ${jar} -X POST ${url}/dev/login -H 'content-type: application/json' -d '{"roles":["admin"]}' | tee "$D/login.json"; echo`,
    `JWT=$(node -p 'require(process.argv[1]).session_jwt' "$D/login.json"); TOKEN=$(node -p 'require(process.argv[1]).session_token' "$D/login.json"); ORG=$(node -p 'require(process.argv[1]).organization_id' "$D/login.json")`,
  ];
  if (me) {
    lines.push(
      `# ${++step}. ${me.method} ${me.path} with the session JWT as a bearer token`,
      `curl -s -w '\\n' ${url}${me.path} -H "Authorization: Bearer $JWT"`,
      `# ${++step}. ${me.method} ${me.path} with only the cookie jar, as a browser would`,
      `curl -s -w '\\n' -b ${jar} ${url}${me.path}`,
    );
  }
  if (documents && billing) {
    const at = (route: { path: string }, organization: string) =>
      `${url}${route.path.replace("{organization_id}", organization)}`;
    lines.push(
      `# ${++step}. Per-route permissions: the admin may read billing of their own organization${billing.stepUp ? " (MFA just now meets its step-up requirement)" : ""}: 200`,
      `curl -s -w '  HTTP %{http_code}\\n' ${at(billing, "$ORG")} -H "Authorization: Bearer $JWT"`,
      `# ${++step}. A viewer of the same organization reads documents (200) but not billing: 403 (a valid member, never a 401)`,
      `VIEWER=$(curl -s -X POST ${url}/dev/login -H 'content-type: application/json' -d '{"roles":["viewer"]}' | node -p 'JSON.parse(require("fs").readFileSync(0)).session_jwt')`,
      `curl -s -w '  HTTP %{http_code}\\n' ${at(documents, "$ORG")} -H "Authorization: Bearer $VIEWER"`,
      `curl -s -w '  HTTP %{http_code}\\n' ${at(billing, "$ORG")} -H "Authorization: Bearer $VIEWER"`,
      `# ${++step}. Another organization's path: 403 even for an admin (tenancy comes first)`,
      `OTHER=$(curl -s -X POST ${url}/dev/login -H 'content-type: application/json' -d '{"organization_slug":"globex"}' | node -p 'JSON.parse(require("fs").readFileSync(0)).organization_id')`,
      `curl -s -w '  HTTP %{http_code}\\n' ${at(documents, "$OTHER")} -H "Authorization: Bearer $JWT"`,
    );
    if (billing.stepUp?.withinMinutes !== undefined) {
      const login = (factors: string) =>
        `$(curl -s -X POST ${url}/dev/login -H 'content-type: application/json' -d '{"roles":["admin"],"factors":${factors}}' | node -p 'JSON.parse(require("fs").readFileSync(0)).session_jwt')`;
      lines.push(
        `# ${++step}. Step-up: billing also needs MFA within ${billing.stepUp.withinMinutes} minutes. An admin whose MFA was 20 minutes ago: 403 step_up_required; an impersonated admin: 403 impersonation_refused`,
        `STALE=${login('[{"factor":"magic_link","minutes_ago":20},{"factor":"totp","minutes_ago":20}]')}`,
        `curl -s -w '  HTTP %{http_code}\\n' ${at(billing, "$ORG")} -H "Authorization: Bearer $STALE"`,
        `SUPPORT=${login('[{"factor":"impersonated"}]')}`,
        `curl -s -w '  HTTP %{http_code}\\n' ${at(billing, "$ORG")} -H "Authorization: Bearer $SUPPORT"`,
      );
    }
  }
  if (refresh) {
    lines.push(
      `# ${++step}. Refresh with the cookie jar: a new session JWT, and the stytch_session_jwt cookie rotated in the jar`,
      `curl -s -w '\\n' -b ${jar} -c ${jar} -X ${refresh.method} ${url}${refresh.path}`,
    );
  }
  lines.push(
    `# ${++step}. Log out: revokes the session and clears both cookies`,
    `curl -s -w '\\n' -b ${jar} -c ${jar} -X POST ${url}/dev/logout`,
  );
  if (me) {
    lines.push(
      `# ${++step}. The opaque session token is dead at once: 401`,
      `curl -s -i -w '\\n' ${url}${me.path} -H "Authorization: Bearer $TOKEN"`,
      `# ${++step}. The JWT still works until it expires (at most 5 minutes), unless the server runs with STYTCH_MAX_TOKEN_AGE_SECONDS=0`,
      `curl -s -w '\\n' ${url}${me.path} -H "Authorization: Bearer $JWT"`,
    );
  }
  if (switchOrganization) {
    const mfa = MFA_REQUIRED_DEMO_ORGANIZATION;
    const switchTo = (variable: string) =>
      `curl -s -w '\\n' -b "$D/switch.txt" -c "$D/switch.txt" -X ${switchOrganization.method} ${url}${switchOrganization.path} -H 'content-type: application/json' -d "{\\"organization_id\\":\\"$${variable}\\"}"`;
    lines.push(
      `# ${++step}. Switching organization: a new member of acme who also belongs to globex and ${mfa} (${mfa} requires MFA)`,
      `curl -s -c "$D/switch.txt" -X POST ${url}/dev/login -H 'content-type: application/json' -d '{"also_member_of":["globex","${mfa}"]}' -o "$D/switch.json"`,
      `GLOBEX=$(node -p 'require(process.argv[1]).also_member_of.globex' "$D/switch.json"); MFA_ORG=$(node -p 'require(process.argv[1]).also_member_of["${mfa}"]' "$D/switch.json")`,
      `# ${++step}. Switch to globex with the cookie jar: a session in globex, and both cookies rotated in the jar`,
      switchTo("GLOBEX"),
      ...(me
        ? [
            `# ${++step}. ${me.method} ${me.path} with the jar: the same person, now a member of globex`,
            `curl -s -w '\\n' -b "$D/switch.txt" ${url}${me.path}`,
          ]
        : []),
      `# ${++step}. Switch to ${mfa}, which requires MFA: 200 with member_authenticated false and an intermediate session token; the jar keeps the globex session`,
      switchTo("MFA_ORG"),
    );
  }
  lines.push(`rm -r "$D"   # the temporary folder`);
  return lines;
}

/**
 * The walkthrough of machine callers, one shell line per element: an M2M token (client credentials, at the
 * emulator's token endpoint) on the M2M route (200) and on a members-only route (403); the RFC 9728 metadata a 401
 * points agents at; an agent's Connected-App token for a viewer on the documents route (200), in another
 * organization (403) and on a members-only route (403). Emulator mode only: it uses the /dev routes.
 */
export function machineWalkthrough(
  api: Pick<LocalApi, "url" | "routes"> & Partial<Pick<LocalApi, "routeTable">>,
): string[] {
  // Its steps rely on the demo table's callers and permissions.
  if ((api.routeTable?.source ?? "demo") !== "demo") return [];
  const usage = api.routes.find((r) => r.entry === SERVICE_USAGE_ENTRY);
  const me = api.routes.find((r) => r.entry === ME_ENTRY);
  const documents = api.routes.find(
    (r) => r.entry === ORGANIZATION_DATA_ENTRY && r.method === "GET" && r.path === "/orgs/{organization_id}/documents",
  );
  const billing = api.routes.find(
    (r) => r.entry === ORGANIZATION_DATA_ENTRY && r.method === "GET" && r.path === "/orgs/{organization_id}/billing",
  );
  if (!usage || !me || !documents || !billing) return [];
  const url = api.url;
  const json = (file: string, field: string) => `$(node -p 'require(process.argv[1]).${field}' "$M/${file}")`;
  const fromStdin = (field: string) => `node -p 'JSON.parse(require("fs").readFileSync(0)).${field}'`;
  const at = (route: { path: string }, organization: string) =>
    `${url}${route.path.replace("{organization_id}", organization)}`;
  let step = 0;
  return [
    `# ${++step}. An M2M client (made in the Stytch dashboard; here by the emulator) gets a token at Stytch's token endpoint: client credentials`,
    `M=$(mktemp -d); curl -s -X POST ${url}/dev/m2m-client -H 'content-type: application/json' -d '{"scopes":["read:usage"]}' > "$M/m2m.json"`,
    `MACHINE=$(curl -s -X POST "${json("m2m.json", "token_url")}" -d grant_type=client_credentials -d client_id="${json("m2m.json", "client_id")}" -d client_secret="${json("m2m.json", "client_secret")}" | ${fromStdin("access_token")})`,
    `# ${++step}. ${usage.method} ${usage.path} admits M2M clients with the scope read:usage: 200`,
    `curl -s -w '  HTTP %{http_code}\\n' ${url}${usage.path} -H "Authorization: Bearer $MACHINE"`,
    `# ${++step}. ${me.method} ${me.path} is for members only: 403 (a valid caller of a type the route does not accept, never a 401)`,
    `curl -s -w '  HTTP %{http_code}\\n' ${url}${me.path} -H "Authorization: Bearer $MACHINE"`,
    `# ${++step}. Agents: a 401 names the protected-resource metadata (RFC 9728), which names the authorization server and the scopes`,
    `curl -s -o /dev/null -D - ${url}${me.path} | grep -i '^www-authenticate'`,
    `curl -s ${url}/.well-known/oauth-protected-resource; echo`,
    `# ${++step}. An agent (a Connected App) acting for a viewer, with the scope read:documents, reads the viewer's organization's documents: 200`,
    `curl -s -X POST ${url}/dev/login -H 'content-type: application/json' -d '{"roles":["viewer"]}' > "$M/viewer.json"`,
    `AGENT=$(curl -s -X POST ${url}/dev/agent-token -H 'content-type: application/json' -d "{\\"member_id\\":\\"${json("viewer.json", "member_id")}\\",\\"scopes\\":[\\"read:documents\\"]}" | ${fromStdin("access_token")}); VIEWER_ORG=${json("viewer.json", "organization_id")}`,
    `curl -s -w '  HTTP %{http_code}\\n' ${at(documents, "$VIEWER_ORG")} -H "Authorization: Bearer $AGENT"`,
    `# ${++step}. Never another organization's (403, tenancy), never a members-only route such as billing (403)`,
    `ELSEWHERE=$(curl -s -X POST ${url}/dev/login -H 'content-type: application/json' -d '{"organization_slug":"initech"}' | ${fromStdin("organization_id")})`,
    `curl -s -w '  HTTP %{http_code}\\n' ${at(documents, "$ELSEWHERE")} -H "Authorization: Bearer $AGENT"`,
    `curl -s -w '  HTTP %{http_code}\\n' ${at(billing, "$VIEWER_ORG")} -H "Authorization: Bearer $AGENT"`,
    `rm -r "$M"   # the temporary folder`,
  ];
}

/** The machine walkthrough under its heading, when there is one. */
function machineLines(api: Parameters<typeof machineWalkthrough>[0]): string[] {
  const lines = machineWalkthrough(api);
  return lines.length === 0 ? [] : ["", "Machines and agents (paste into bash):", ...lines.map((line) => `  ${line}`)];
}

function stytchModeHint(api: Pick<LocalApi, "url" | "routes">): string[] {
  const me = api.routes.find((r) => r.entry === ME_ENTRY);
  if (!me) return [];
  return [
    "Sign in through your app (Stytch frontend SDK), copy its stytch_session_jwt cookie, then:",
    "  JWT='<the cookie value>'",
    `  curl -s -w '\\n' ${api.url}${me.path} -H "Authorization: Bearer $JWT"`,
    "(/dev/login and /dev/logout exist only with the embedded emulator: unset STYTCH_PROJECT_ID and STYTCH_SECRET.)",
  ];
}

// The banner of `npm start`: what is served, in which mode, and a curl walkthrough that works when pasted
// into a bash shell. Kept apart from the CLI so a test can run the exact text it prints.

import { DEV_ROUTES } from "./dev-session-routes";
import type { LocalApi } from "./local-api";

/** The route table entries the walkthrough talks about, found by their handler file rather than by path. */
const ME_ENTRY = "lambda/demo/me.ts";
const REFRESH_ENTRY = "lambda/refresh.ts";
const ORGANIZATION_DATA_ENTRY = "lambda/demo/organization-data.ts";
const SERVICE_USAGE_ENTRY = "lambda/demo/service-usage.ts";

/** The start-up banner: the API and demo page URLs, mode, the served routes and (in emulator mode) the curl walkthrough. */
export function banner(api: Pick<LocalApi, "url" | "mode" | "routes" | "demoUrl">): string {
  const devRoutes = api.mode === "emulator" ? DEV_ROUTES.map((r) => ({ ...r, access: "dev only  " })) : [];
  const served = [
    ...api.routes.map((r) => ({
      method: r.method,
      path: r.path,
      access: r.authorization === "stytch" ? "authorizer" : "public    ",
      description: r.description,
    })),
    ...devRoutes,
  ];
  const width = Math.max(...served.map((r) => r.path.length)) + 1;
  const lines = [
    `API: ${api.url}`,
    ...(api.demoUrl ? [`Demo page: ${api.demoUrl}`] : []),
    "",
    api.mode === "emulator"
      ? "Emulator mode: embedded Stytch, no account needed."
      : "Stytch mode: your Stytch project.",
    "",
    ...served.map((r) => `  ${r.method.padEnd(5)} ${r.path.padEnd(width)} ${r.access}  ${r.description}`),
    "",
    ...(api.mode === "emulator"
      ? [
          "Try it (paste into bash):",
          ...curlWalkthrough(api).map((line) => `  ${line}`),
          "",
          "Machines and agents (paste into bash):",
          ...machineWalkthrough(api).map((line) => `  ${line}`),
        ]
      : stytchModeHint(api)),
    "",
    "Ctrl+C to stop.",
  ];
  return lines.join("\n");
}

/** The curl walkthrough, one shell line per element (comments included). Emulator mode only: it logs in via /dev/login. */
export function curlWalkthrough(api: Pick<LocalApi, "url" | "routes">): string[] {
  const me = api.routes.find((r) => r.entry === ME_ENTRY);
  const refresh = api.routes.find((r) => r.entry === REFRESH_ENTRY);
  const organizationRoute = (method: string, resource: string) =>
    api.routes.find(
      (r) =>
        r.entry === ORGANIZATION_DATA_ENTRY && r.method === method && r.path === `/orgs/{organization_id}/${resource}`,
    );
  const documents = organizationRoute("GET", "documents");
  const billing = organizationRoute("GET", "billing");
  const url = api.url;
  let step = 0;
  const lines = [
    `# ${++step}. Log in as a demo member (an admin); the cookie jar gets stytch_session and stytch_session_jwt`,
    `curl -s -c cookies.txt -X POST ${url}/dev/login -H 'content-type: application/json' -d '{"roles":["admin"]}' | tee login.json; echo`,
    `JWT=$(node -p 'require("./login.json").session_jwt'); TOKEN=$(node -p 'require("./login.json").session_token'); ORG=$(node -p 'require("./login.json").organization_id')`,
  ];
  if (me) {
    lines.push(
      `# ${++step}. ${me.method} ${me.path} with the session JWT as a bearer token`,
      `curl -s -w '\\n' ${url}${me.path} -H "Authorization: Bearer $JWT"`,
      `# ${++step}. ${me.method} ${me.path} with only the cookie jar, as a browser would`,
      `curl -s -w '\\n' -b cookies.txt ${url}${me.path}`,
    );
  }
  if (documents && billing) {
    const at = (route: { path: string }, organization: string) =>
      `${url}${route.path.replace("{organization_id}", organization)}`;
    lines.push(
      `# ${++step}. Per-route permissions: the admin may read billing of their own organization: 200`,
      `curl -s -w '  HTTP %{http_code}\\n' ${at(billing, "$ORG")} -H "Authorization: Bearer $JWT"`,
      `# ${++step}. A viewer of the same organization reads documents (200) but not billing: 403 (a valid member, never a 401)`,
      `VIEWER=$(curl -s -X POST ${url}/dev/login -H 'content-type: application/json' -d '{"roles":["viewer"]}' | node -p 'JSON.parse(require("fs").readFileSync(0)).session_jwt')`,
      `curl -s -w '  HTTP %{http_code}\\n' ${at(documents, "$ORG")} -H "Authorization: Bearer $VIEWER"`,
      `curl -s -w '  HTTP %{http_code}\\n' ${at(billing, "$ORG")} -H "Authorization: Bearer $VIEWER"`,
      `# ${++step}. Another organization's path: 403 even for an admin (tenancy comes first)`,
      `OTHER=$(curl -s -X POST ${url}/dev/login -H 'content-type: application/json' -d '{"organization_slug":"globex"}' | node -p 'JSON.parse(require("fs").readFileSync(0)).organization_id')`,
      `curl -s -w '  HTTP %{http_code}\\n' ${at(documents, "$OTHER")} -H "Authorization: Bearer $JWT"`,
    );
  }
  if (refresh) {
    lines.push(
      `# ${++step}. Refresh with the cookie jar: a new session JWT, and the stytch_session_jwt cookie rotated in the jar`,
      `curl -s -w '\\n' -b cookies.txt -c cookies.txt -X ${refresh.method} ${url}${refresh.path}`,
    );
  }
  lines.push(
    `# ${++step}. Log out: revokes the session and clears both cookies`,
    `curl -s -w '\\n' -b cookies.txt -c cookies.txt -X POST ${url}/dev/logout`,
  );
  if (me) {
    lines.push(
      `# ${++step}. The opaque session token is dead at once: 401`,
      `curl -s -i -w '\\n' ${url}${me.path} -H "Authorization: Bearer $TOKEN"`,
      `# ${++step}. The JWT still works until it expires (at most 5 minutes), unless the server runs with STYTCH_MAX_TOKEN_AGE_SECONDS=0`,
      `curl -s -w '\\n' ${url}${me.path} -H "Authorization: Bearer $JWT"`,
    );
  }
  return lines;
}

/**
 * The walkthrough of machine callers, one shell line per element: an M2M token (client credentials, at the
 * emulator's token endpoint) on the M2M route (200) and on a members-only route (403); the RFC 9728 metadata a 401
 * points agents at; an agent's Connected-App token for a viewer on the documents route (200), in another
 * organization (403) and on a members-only route (403). Emulator mode only: it uses the /dev routes.
 */
export function machineWalkthrough(api: Pick<LocalApi, "url" | "routes">): string[] {
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
  const json = (file: string, field: string) => `$(node -p 'require("./${file}").${field}')`;
  const fromStdin = (field: string) => `node -p 'JSON.parse(require("fs").readFileSync(0)).${field}'`;
  const at = (route: { path: string }, organization: string) =>
    `${url}${route.path.replace("{organization_id}", organization)}`;
  let step = 0;
  return [
    `# ${++step}. An M2M client (made in the Stytch dashboard; here by the emulator) gets a token at Stytch's token endpoint: client credentials`,
    `curl -s -X POST ${url}/dev/m2m-client -H 'content-type: application/json' -d '{"scopes":["read:usage"]}' > m2m.json`,
    `MACHINE=$(curl -s -X POST "${json("m2m.json", "token_url")}" -d grant_type=client_credentials -d client_id="${json("m2m.json", "client_id")}" -d client_secret="${json("m2m.json", "client_secret")}" | ${fromStdin("access_token")})`,
    `# ${++step}. ${usage.method} ${usage.path} admits M2M clients with the scope read:usage: 200`,
    `curl -s -w '  HTTP %{http_code}\\n' ${url}${usage.path} -H "Authorization: Bearer $MACHINE"`,
    `# ${++step}. ${me.method} ${me.path} is for members only: 403 (a valid caller of a type the route does not accept, never a 401)`,
    `curl -s -w '  HTTP %{http_code}\\n' ${url}${me.path} -H "Authorization: Bearer $MACHINE"`,
    `# ${++step}. Agents: a 401 names the protected-resource metadata (RFC 9728), which names the authorization server and the scopes`,
    `curl -s -o /dev/null -D - ${url}${me.path} | grep -i '^www-authenticate'`,
    `curl -s ${url}/.well-known/oauth-protected-resource; echo`,
    `# ${++step}. An agent (a Connected App) acting for a viewer, with the scope read:documents, reads the viewer's organization's documents: 200`,
    `curl -s -X POST ${url}/dev/login -H 'content-type: application/json' -d '{"roles":["viewer"]}' > viewer.json`,
    `AGENT=$(curl -s -X POST ${url}/dev/agent-token -H 'content-type: application/json' -d "{\\"member_id\\":\\"${json("viewer.json", "member_id")}\\",\\"scopes\\":[\\"read:documents\\"]}" | ${fromStdin("access_token")}); VIEWER_ORG=${json("viewer.json", "organization_id")}`,
    `curl -s -w '  HTTP %{http_code}\\n' ${at(documents, "$VIEWER_ORG")} -H "Authorization: Bearer $AGENT"`,
    `# ${++step}. Never another organization's (403, tenancy), never a members-only route such as billing (403)`,
    `ELSEWHERE=$(curl -s -X POST ${url}/dev/login -H 'content-type: application/json' -d '{"organization_slug":"initech"}' | ${fromStdin("organization_id")})`,
    `curl -s -w '  HTTP %{http_code}\\n' ${at(documents, "$ELSEWHERE")} -H "Authorization: Bearer $AGENT"`,
    `curl -s -w '  HTTP %{http_code}\\n' ${at(billing, "$VIEWER_ORG")} -H "Authorization: Bearer $AGENT"`,
  ];
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

// Which route of the table a request path belongs to, as API Gateway resolves REST resources: literal paths,
// and `{name}` path parameters that each match one segment.

/**
 * The routes serving a request path: the exact path if the table has it, else the template with the most literal segments whose `{name}`
 * segments each match one non-empty segment, with those segments' decoded values.
 */
export function matchPath<Route>(
  routesByPath: ReadonlyMap<string, readonly Route[]>,
  pathname: string,
): { routes: readonly Route[]; pathParameters?: Record<string, string> } | undefined {
  const exact = routesByPath.get(pathname);
  if (exact) return { routes: exact };
  const segments = pathname.split("/");
  let best: { routes: readonly Route[]; pathParameters: Record<string, string>; literals: number } | undefined;
  for (const [template, routes] of routesByPath) {
    const parts = template.split("/");
    if (!template.includes("{") || parts.length !== segments.length) continue;
    const pathParameters: Record<string, string> = {};
    let literals = 0;
    const matches = parts.every((part, i) => {
      const name = /^\{([A-Za-z0-9_]+)\}$/.exec(part)?.[1];
      if (name === undefined) return part === segments[i] && ++literals > 0;
      if (segments[i] === "") return false;
      try {
        pathParameters[name] = decodeURIComponent(segments[i]!);
      } catch {
        return false; // malformed percent-encoding matches nothing
      }
      return true;
    });
    // API Gateway prefers the resource with more literal segments (`/orgs/by-slug/x` over `/orgs/{id}/x`).
    if (matches && (!best || literals > best.literals)) best = { routes, pathParameters, literals };
  }
  return best && { routes: best.routes, pathParameters: best.pathParameters };
}

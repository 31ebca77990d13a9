// Which route of the table a request path belongs to, as API Gateway resolves REST resources: literal paths,
// and `{name}` path parameters that each match one segment.

/**
 * The routes serving a request path: the exact path if the table has it, else the first template whose `{name}`
 * segments each match one non-empty segment, with those segments' decoded values.
 */
export function matchPath<Route>(
  routesByPath: ReadonlyMap<string, readonly Route[]>,
  pathname: string,
): { routes: readonly Route[]; pathParameters?: Record<string, string> } | undefined {
  const exact = routesByPath.get(pathname);
  if (exact) return { routes: exact };
  const segments = pathname.split("/");
  for (const [template, routes] of routesByPath) {
    const parts = template.split("/");
    if (!template.includes("{") || parts.length !== segments.length) continue;
    const pathParameters: Record<string, string> = {};
    const matches = parts.every((part, i) => {
      const name = /^\{([A-Za-z0-9_]+)\}$/.exec(part)?.[1];
      if (name === undefined) return part === segments[i];
      if (segments[i] === "") return false;
      try {
        pathParameters[name] = decodeURIComponent(segments[i]!);
      } catch {
        return false; // malformed percent-encoding matches nothing
      }
      return true;
    });
    if (matches) return { routes, pathParameters };
  }
  return undefined;
}

// Evaluates an authorizer's IAM policy against a method ARN, the way API Gateway does before it lets a
// request through. The local server must not trust "the authorizer returned something" as an Allow: a
// policy whose Resource misses the route, or a stray Deny, is a 403 in AWS and must be one here too,
// otherwise bugs like the single-method-Allow caching trap would only show up after deploying.

/** The outcome of evaluating an IAM policy for one request. */
export type IamPolicyDecision = "allow" | "explicit_deny" | "implicit_deny";

/** The action API Gateway checks for every request. */
export const INVOKE_ACTION = "execute-api:Invoke";

/** The IAM policy document is not something API Gateway accepts (it would answer 500 AuthorizerConfigurationException). */
export class MalformedIamPolicyError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "MalformedIamPolicyError";
  }
}

/**
 * Evaluates an IAM policy document for a request, with IAM's precedence: an explicit Deny that matches wins,
 * then an Allow that matches; when nothing matches the request is implicitly denied.
 *
 * `Statement` may be one statement or an array; `Action` and `Resource` may be a string or an array of strings.
 * Actions match case-insensitively, resources case-sensitively; both support the `*` and `?` wildcards.
 *
 * @param document the `policyDocument` returned by the authorizer (unvalidated)
 * @param methodArn the request's `arn:aws:execute-api:{region}:{account}:{apiId}/{stage}/{VERB}/{path}`
 * @param action the action being authorized (API Gateway always checks `execute-api:Invoke`)
 * @throws MalformedIamPolicyError when the document is not a well-formed IAM policy
 */
export function evaluateIamPolicy(
  document: unknown,
  methodArn: string,
  action: string = INVOKE_ACTION,
): IamPolicyDecision {
  if (!isObject(document)) throw new MalformedIamPolicyError("policyDocument is not an object");
  const statements = document.Statement;
  if (statements === undefined) throw new MalformedIamPolicyError("policyDocument has no Statement");
  const list = Array.isArray(statements) ? statements : [statements];
  let allowed = false;
  for (const statement of list) {
    if (!isObject(statement)) throw new MalformedIamPolicyError("a Statement is not an object");
    const effect = statement.Effect;
    if (effect !== "Allow" && effect !== "Deny")
      throw new MalformedIamPolicyError('a Statement has an Effect other than "Allow" or "Deny"');
    const actions = stringList(statement.Action, "Action");
    const resources = stringList(statement.Resource, "Resource");
    const matches =
      actions.some((pattern) => wildcardMatches(pattern.toLowerCase(), action.toLowerCase())) &&
      resources.some((pattern) => wildcardMatches(pattern, methodArn));
    if (!matches) continue;
    // An explicit Deny cannot be overridden by any Allow, so there is no need to look further.
    if (effect === "Deny") return "explicit_deny";
    allowed = true;
  }
  return allowed ? "allow" : "implicit_deny";
}

/**
 * IAM-style wildcard matching of a whole string: `*` matches any run of characters (including `/` and `:`,
 * which is why `…/prod/*` also covers nested paths), `?` matches exactly one character.
 * Greedy matching with a single backtrack point: at worst pattern × value steps, never the exponential blow-up
 * a backtracking regular expression can hit on hostile patterns.
 */
export function wildcardMatches(pattern: string, value: string): boolean {
  let p = 0;
  let v = 0;
  let starAt = -1;
  let resumeAt = 0;
  while (v < value.length) {
    if (p < pattern.length && pattern[p] === "*") {
      starAt = p++;
      resumeAt = v;
    } else if (p < pattern.length && (pattern[p] === "?" || pattern[p] === value[v])) {
      p++;
      v++;
    } else if (starAt >= 0) {
      // Let the last star swallow one more character and retry from there.
      p = starAt + 1;
      v = ++resumeAt;
    } else {
      return false;
    }
  }
  while (p < pattern.length && pattern[p] === "*") p++;
  return p === pattern.length;
}

function stringList(value: unknown, key: string): string[] {
  const list = Array.isArray(value) ? value : [value];
  if (list.length === 0 || !list.every((item): item is string => typeof item === "string")) {
    throw new MalformedIamPolicyError(`a Statement's ${key} is not a string or an array of strings`);
  }
  return list;
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

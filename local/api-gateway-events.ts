// The events a REST API (v1, Lambda proxy integration) hands to Lambda: the REQUEST authorizer event and
// the proxy event of the route's handler. Built here the way API Gateway builds them, so that the real
// authorizer and the real handlers run unchanged on localhost (see reference api-gateway-authorizers.md §C).

import type {
  APIGatewayEventIdentity,
  APIGatewayEventRequestContextWithAuthorizer,
  APIGatewayProxyEvent,
  APIGatewayRequestAuthorizerEvent,
  Context,
} from "aws-lambda";

/** The fake AWS coordinates of the local API; they only appear inside ARNs and request contexts. */
export const LOCAL_API = Object.freeze({
  partition: "aws",
  region: "local",
  accountId: "000000000000",
  apiId: "localapi",
  stage: "local",
});

/** One HTTP request as received by the local server, before API Gateway shapes it into an event. */
export interface LocalRequest {
  /** Upper-case HTTP method. */
  readonly method: string;
  /** The URL path, without the query string. */
  readonly path: string;
  readonly searchParams: URLSearchParams;
  /** Node's `rawHeaders`: names (as sent) and values, alternating. */
  readonly rawHeaders: readonly string[];
  readonly body: Buffer;
  readonly sourceIp: string;
  readonly requestId: string;
  /** When the request arrived (epoch milliseconds). */
  readonly receivedAt: number;
  /** Values of the route's `{name}` path segments, URL-decoded; absent for a route without any. */
  readonly pathParameters?: Readonly<Record<string, string>>;
}

/** The route a request matched: its method and its resource path (the route table's `path`). */
export interface MatchedRoute {
  readonly method: string;
  readonly path: string;
}

/** An authorizer context as API Gateway passes it on: every value a string (or null). */
export type StringifiedAuthorizerContext = Record<string, string | null>;

/** `requestContext.authorizer` of a REST proxy event: the stringified context plus API Gateway's own two keys. */
export type ProxyAuthorizerContext = { [key: string]: string | number | null } & {
  principalId: string;
  integrationLatency: number;
};

/** The authorizer returned a context value API Gateway refuses (an object or an array): a 500 in AWS. */
export class ContextShapeError extends Error {
  constructor(key: string) {
    super(
      `authorizer context value "${key}" is an object or an array; API Gateway only accepts strings, numbers and booleans`,
    );
    this.name = "ContextShapeError";
  }
}

/** `arn:aws:execute-api:local:000000000000:localapi/local/{METHOD}{path}`, the ARN the authorizer is asked about. */
export function methodArnOf(method: string, path: string): string {
  const { partition, region, accountId, apiId, stage } = LOCAL_API;
  return `arn:${partition}:execute-api:${region}:${accountId}:${apiId}/${stage}/${method}${path}`;
}

/** The REST API REQUEST authorizer event for a request to a route. Cookies arrive only in the `Cookie` header. */
export function requestAuthorizerEvent(route: MatchedRoute, request: LocalRequest): APIGatewayRequestAuthorizerEvent {
  const { headers, multiValueHeaders } = headerMaps(request.rawHeaders);
  const query = queryMaps(request.searchParams);
  return {
    type: "REQUEST",
    methodArn: methodArnOf(request.method, request.path),
    resource: route.path,
    path: request.path,
    httpMethod: request.method,
    headers,
    multiValueHeaders,
    ...query,
    pathParameters: request.pathParameters ? { ...request.pathParameters } : null,
    stageVariables: null,
    requestContext: requestContext(route, request, headers),
  };
}

/**
 * The Lambda proxy event for a route's handler.
 * @param authorizer the authorizer's context, already stringified, with `principalId`; omit for routes without authorizer
 */
export function proxyEvent(
  route: MatchedRoute,
  request: LocalRequest,
  authorizer?: ProxyAuthorizerContext,
): APIGatewayProxyEvent {
  const { headers, multiValueHeaders } = headerMaps(request.rawHeaders);
  // REST APIs without binary media types pass the body as text; an empty body is null, not "".
  const body = request.body.length > 0 ? request.body.toString("utf8") : null;
  return {
    resource: route.path,
    path: request.path,
    httpMethod: request.method,
    headers,
    multiValueHeaders,
    ...queryMaps(request.searchParams),
    pathParameters: request.pathParameters ? { ...request.pathParameters } : null,
    stageVariables: null,
    requestContext: { ...requestContext(route, request, headers), authorizer },
    body,
    isBase64Encoded: false,
  };
}

/**
 * Flattens an authorizer context the way API Gateway does for REST APIs: strings stay, numbers and booleans
 * become strings, `null` stays `null`, `undefined` disappears (it never survives JSON).
 * @throws ContextShapeError for objects and arrays, which API Gateway answers with a 500
 */
export function stringifyContext(context: unknown): StringifiedAuthorizerContext {
  const flat: StringifiedAuthorizerContext = {};
  if (context === undefined || context === null) return flat;
  if (typeof context !== "object" || Array.isArray(context)) throw new ContextShapeError("(context)");
  for (const [key, value] of Object.entries(context)) {
    if (value === undefined) continue;
    if (value === null) flat[key] = null;
    else if (typeof value === "string") flat[key] = value;
    else if (typeof value === "number" || typeof value === "boolean") flat[key] = String(value);
    else throw new ContextShapeError(key);
  }
  return flat;
}

/** A Lambda context for a local invocation; handlers that look at the deadline see `timeoutMs` from now. */
export function lambdaContext(functionName: string, requestId: string, timeoutMs: number): Context {
  const deadline = Date.now() + timeoutMs;
  const { partition, region, accountId } = LOCAL_API;
  return {
    callbackWaitsForEmptyEventLoop: true,
    functionName,
    functionVersion: "$LATEST",
    invokedFunctionArn: `arn:${partition}:lambda:${region}:${accountId}:function:${functionName}`,
    memoryLimitInMB: "1024",
    awsRequestId: requestId,
    logGroupName: `/aws/lambda/${functionName}`,
    logStreamName: "local",
    getRemainingTimeInMillis: () => Math.max(0, deadline - Date.now()),
    done: () => undefined,
    fail: () => undefined,
    succeed: () => undefined,
  };
}

/** `headers` keeps the last value of a repeated header, `multiValueHeaders` all of them (names as first sent). */
function headerMaps(rawHeaders: readonly string[]): {
  headers: Record<string, string>;
  multiValueHeaders: Record<string, string[]>;
} {
  const headers: Record<string, string> = {};
  const multiValueHeaders: Record<string, string[]> = {};
  const nameOf = new Map<string, string>();
  for (let i = 0; i + 1 < rawHeaders.length; i += 2) {
    const lower = rawHeaders[i]!.toLowerCase();
    let name = nameOf.get(lower);
    if (name === undefined) {
      name = rawHeaders[i]!;
      nameOf.set(lower, name);
      multiValueHeaders[name] = [];
    }
    headers[name] = rawHeaders[i + 1]!;
    multiValueHeaders[name]!.push(rawHeaders[i + 1]!);
  }
  return { headers, multiValueHeaders };
}

/** Query parameters as API Gateway passes them: decoded, last value wins in the single-valued map, null when none. */
function queryMaps(
  searchParams: URLSearchParams,
): Pick<APIGatewayProxyEvent, "queryStringParameters" | "multiValueQueryStringParameters"> {
  if (searchParams.size === 0) return { queryStringParameters: null, multiValueQueryStringParameters: null };
  const single: Record<string, string> = {};
  const multi: Record<string, string[]> = {};
  for (const [name, value] of searchParams) {
    single[name] = value;
    (multi[name] ??= []).push(value);
  }
  return { queryStringParameters: single, multiValueQueryStringParameters: multi };
}

function requestContext(
  route: MatchedRoute,
  request: LocalRequest,
  headers: Record<string, string>,
): APIGatewayEventRequestContextWithAuthorizer<undefined> {
  const userAgent = Object.entries(headers).find(([name]) => name.toLowerCase() === "user-agent")?.[1] ?? null;
  const host = Object.entries(headers).find(([name]) => name.toLowerCase() === "host")?.[1] ?? "localhost";
  return {
    accountId: LOCAL_API.accountId,
    apiId: LOCAL_API.apiId,
    authorizer: undefined,
    domainName: host,
    domainPrefix: host.split(".")[0]!,
    extendedRequestId: request.requestId,
    httpMethod: request.method,
    identity: identity(request.sourceIp, userAgent),
    // Served like a custom domain (no stage prefix in the URL), so the context path is the request path.
    path: request.path,
    protocol: "HTTP/1.1",
    requestId: request.requestId,
    requestTime: requestTime(request.receivedAt),
    requestTimeEpoch: request.receivedAt,
    resourceId: LOCAL_API.stage,
    resourcePath: route.path,
    stage: LOCAL_API.stage,
  };
}

function identity(sourceIp: string, userAgent: string | null): APIGatewayEventIdentity {
  return {
    accessKey: null,
    accountId: null,
    apiKey: null,
    apiKeyId: null,
    caller: null,
    clientCert: null,
    cognitoAuthenticationProvider: null,
    cognitoAuthenticationType: null,
    cognitoIdentityId: null,
    cognitoIdentityPoolId: null,
    principalOrgId: null,
    sourceIp,
    user: null,
    userAgent,
    userArn: null,
  };
}

const MONTHS = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"];

/** API Gateway's `requestTime` format: `09/Apr/2015:12:34:56 +0000`. */
function requestTime(epochMs: number): string {
  const d = new Date(epochMs);
  const two = (n: number) => String(n).padStart(2, "0");
  return `${two(d.getUTCDate())}/${MONTHS[d.getUTCMonth()]}/${d.getUTCFullYear()}:${two(d.getUTCHours())}:${two(d.getUTCMinutes())}:${two(d.getUTCSeconds())} +0000`;
}

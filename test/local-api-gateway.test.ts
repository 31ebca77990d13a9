// Unit tests of the local server's API Gateway emulation: events, authorizer results, proxy results.
// The e2e behaviour over HTTP is in local-api.test.ts.

import type { APIGatewayRequestAuthorizerEvent } from "aws-lambda";
import { describe, expect, it } from "vitest";
import { RETRY_AFTER_SECONDS } from "../infra/gateway-responses";
import { AUTHORIZER_FAILURE_RETRY_AFTER_SECONDS, authorize } from "../local/api-gateway-authorization";
import {
  ContextShapeError,
  type LocalRequest,
  methodArnOf,
  proxyEvent,
  requestAuthorizerEvent,
  stringifyContext,
} from "../local/api-gateway-events";
import { fromProxyResult, MalformedProxyResultError } from "../local/proxy-response";
import { formatRequestLine, maskPath } from "../local/request-log";
import { matchPath } from "../local/route-match";

const ROUTE = { method: "GET", path: "/me" };
const ARN = "arn:aws:execute-api:local:000000000000:localapi/local/GET/me";
const STAGE = "arn:aws:execute-api:local:000000000000:localapi/local/*/*";

function request(overrides: Partial<LocalRequest> = {}): LocalRequest {
  return {
    method: "GET",
    path: "/me",
    searchParams: new URLSearchParams(),
    rawHeaders: ["Host", "127.0.0.1:3000", "Cookie", "a=1", "X-Twice", "first", "x-twice", "second"],
    body: Buffer.alloc(0),
    sourceIp: "127.0.0.1",
    requestId: "req-1",
    receivedAt: Date.UTC(2026, 3, 9, 12, 34, 56),
    ...overrides,
  };
}

const authEvent = (): APIGatewayRequestAuthorizerEvent => requestAuthorizerEvent(ROUTE, request());
const authorizerAllowing = (resource: string | string[], context?: unknown) => async () => ({
  principalId: "member-1",
  policyDocument: {
    Version: "2012-10-17",
    Statement: [{ Action: "execute-api:Invoke", Effect: "Allow", Resource: resource }],
  },
  ...(context === undefined ? {} : { context }),
});

describe("the REQUEST authorizer event", () => {
  it("carries the method ARN, resource, path, method and the request's headers like a REST API", () => {
    const event = authEvent();
    expect(event.type).toBe("REQUEST");
    expect(event.methodArn).toBe(ARN);
    expect(methodArnOf("POST", "/auth/refresh")).toBe(
      "arn:aws:execute-api:local:000000000000:localapi/local/POST/auth/refresh",
    );
    expect(event).toMatchObject({
      resource: "/me",
      path: "/me",
      httpMethod: "GET",
      queryStringParameters: null,
      pathParameters: null,
    });
    expect(event.headers).toEqual({ Host: "127.0.0.1:3000", Cookie: "a=1", "X-Twice": "second" });
    expect(event.multiValueHeaders).toEqual({
      Host: ["127.0.0.1:3000"],
      Cookie: ["a=1"],
      "X-Twice": ["first", "second"],
    });
    expect(event.requestContext).toMatchObject({
      httpMethod: "GET",
      resourcePath: "/me",
      stage: "local",
      requestId: "req-1",
      requestTime: "09/Apr/2026:12:34:56 +0000",
    });
  });

  it("passes query parameters decoded, the last value winning in the single-valued map", () => {
    const event = requestAuthorizerEvent(ROUTE, request({ searchParams: new URLSearchParams("a=1&a=2&b=x%20y") }));
    expect(event.queryStringParameters).toEqual({ a: "2", b: "x y" });
    expect(event.multiValueQueryStringParameters).toEqual({ a: ["1", "2"], b: ["x y"] });
  });
});

describe("the handler's proxy event", () => {
  it("has the authorizer context with principalId, and a null body when there is none", () => {
    const event = proxyEvent(ROUTE, request(), { member_id: "m", principalId: "m", integrationLatency: 3 });
    expect(event.requestContext.authorizer).toEqual({ member_id: "m", principalId: "m", integrationLatency: 3 });
    expect(event.body).toBeNull();
    expect(event.isBase64Encoded).toBe(false);
  });

  it("has no authorizer context for a route without authorizer, and the body as text", () => {
    const event = proxyEvent(ROUTE, request({ method: "POST", body: Buffer.from('{"a":1}') }));
    expect(event.requestContext.authorizer).toBeUndefined();
    expect(event.body).toBe('{"a":1}');
  });
});

describe("stringifyContext", () => {
  it("turns numbers and booleans into strings, keeps null, drops undefined", () => {
    expect(stringifyContext({ s: "x", n: 42, f: 1.5, t: true, no: false, nil: null, gone: undefined })).toEqual({
      s: "x",
      n: "42",
      f: "1.5",
      t: "true",
      no: "false",
      nil: null,
    });
  });

  it("refuses objects and arrays, as API Gateway does", () => {
    expect(() => stringifyContext({ roles: ["admin"] })).toThrow(ContextShapeError);
    expect(() => stringifyContext({ nested: { a: 1 } })).toThrow(ContextShapeError);
  });
});

describe("authorize", () => {
  it("uses the deployed stack's Retry-After", () => {
    expect(AUTHORIZER_FAILURE_RETRY_AFTER_SECONDS).toBe(RETRY_AFTER_SECONDS);
  });

  it("answers 401 with the deployed stack's body when the authorizer rejects with exactly Unauthorized", async () => {
    const outcome = await authorize(async () => Promise.reject(new Error("Unauthorized")), authEvent());
    expect(outcome.kind).toBe("reject");
    if (outcome.kind !== "reject") return;
    expect(outcome.response.statusCode).toBe(401);
    expect(JSON.parse(outcome.response.body)).toEqual({ message: "Unauthorized", reason: "unauthorized" });
    expect(outcome.response.headers["www-authenticate"]).toBe("Bearer");
  });

  it("answers 503 with Retry-After for any other failure, even one that merely mentions Unauthorized", async () => {
    for (const error of [new Error("Authorizer upstream fault"), new Error("Unauthorized!"), "boom"]) {
      const outcome = await authorize(async () => Promise.reject(error), authEvent());
      expect(outcome.kind === "reject" && outcome.response.statusCode).toBe(503);
      expect(outcome.kind === "reject" && outcome.response.headers["retry-after"]).toBe(
        String(AUTHORIZER_FAILURE_RETRY_AFTER_SECONDS),
      );
    }
  });

  it("lets an Allow covering the method ARN through, with the context stringified and principalId added", async () => {
    const outcome = await authorize(
      authorizerAllowing(STAGE, { member_id: "member-1", truncated: true, count: 2 }),
      authEvent(),
    );
    expect(outcome.kind).toBe("allow");
    if (outcome.kind !== "allow") return;
    expect(outcome.authorizer).toMatchObject({
      member_id: "member-1",
      truncated: "true",
      count: "2",
      principalId: "member-1",
    });
    expect(typeof outcome.authorizer.integrationLatency).toBe("number");
  });

  it("answers 403 for an Allow that does not cover the method ARN (implicit deny), with the context's reason, here none", async () => {
    const outcome = await authorize(authorizerAllowing(ARN.replace("/GET/", "/POST/")), authEvent());
    expect(outcome.kind === "reject" && outcome.response.statusCode).toBe(403);
    // The stack's template reads "$context.authorizer.reason": API Gateway substitutes an absent key as "".
    expect(outcome.kind === "reject" && JSON.parse(outcome.response.body)).toEqual({
      message: "Forbidden",
      reason: "",
    });
    expect(outcome.kind === "reject" && outcome.note).toBe("policy_implicit_deny");
  });

  it("answers 403 for a Deny with the reason its context gives, so that a frontend can tell step-up from not permitted", async () => {
    for (const reason of ["step_up_required", "impersonation_refused", "permission_denied"]) {
      const outcome = await authorize(
        async () => ({
          principalId: "member-1",
          policyDocument: {
            Version: "2012-10-17",
            Statement: [{ Action: "execute-api:Invoke", Effect: "Deny", Resource: ARN }],
          },
          context: { reason },
        }),
        authEvent(),
      );
      expect(outcome.kind === "reject" && JSON.parse(outcome.response.body)).toEqual({ message: "Forbidden", reason });
    }
  });

  it("answers 403 for an explicit Deny", async () => {
    const outcome = await authorize(
      async () => ({
        principalId: "m",
        policyDocument: {
          Version: "2012-10-17",
          Statement: [{ Action: "execute-api:Invoke", Effect: "Deny", Resource: ARN }],
        },
      }),
      authEvent(),
    );
    expect(outcome.kind === "reject" && outcome.response.statusCode).toBe(403);
    expect(outcome.kind === "reject" && outcome.note).toBe("policy_explicit_deny");
  });

  it("honours the HTTP API simple response shape", async () => {
    const allowed = await authorize(async () => ({ isAuthorized: true, context: { member_id: "m" } }), authEvent());
    expect(allowed.kind === "allow" && allowed.authorizer.member_id).toBe("m");
    const refused = await authorize(async () => ({ isAuthorized: false }), authEvent());
    expect(refused.kind === "reject" && refused.response.statusCode).toBe(403);
  });

  it("answers 503 (the stack's AUTHORIZER_CONFIGURATION_ERROR) for output API Gateway cannot use", async () => {
    const outputs = [
      { policyDocument: { Version: "2012-10-17", Statement: [] } },
      { principalId: "m" },
      undefined,
      "Allow",
    ];
    for (const output of outputs) {
      const outcome = await authorize(async () => output, authEvent());
      expect(outcome.kind === "reject" && outcome.response.statusCode).toBe(503);
    }
    const nested = await authorize(authorizerAllowing(STAGE, { roles: ["admin"] }), authEvent());
    expect(nested.kind === "reject" && nested.response.statusCode).toBe(503);
    expect(nested.kind === "reject" && nested.note).toBe("bad_context_value");
    expect(nested.kind === "reject" && nested.response.headers["x-amzn-ErrorType"]).toBe(
      "AuthorizerConfigurationException",
    );
  });
});

describe("fromProxyResult", () => {
  it("merges headers and multiValueHeaders, the multi-value ones winning for the same name", () => {
    const response = fromProxyResult({
      statusCode: 200,
      headers: { "Content-Type": "text/plain", "Set-Cookie": "lost=1", "X-N": 7 },
      multiValueHeaders: { "set-cookie": ["a=1", "b=2"] },
      body: "hi",
    });
    expect(response.headers).toEqual({ "Content-Type": "text/plain", "set-cookie": ["a=1", "b=2"], "X-N": "7" });
    expect(response.body.toString()).toBe("hi");
  });

  it("decodes a base64 body and defaults the content type to application/json", () => {
    const response = fromProxyResult({
      statusCode: 201,
      body: Buffer.from("raw bytes").toString("base64"),
      isBase64Encoded: true,
    });
    expect(response.statusCode).toBe(201);
    expect(response.body.toString()).toBe("raw bytes");
    expect(response.headers["content-type"]).toBe("application/json");
  });

  it("refuses results a REST API answers with 502", () => {
    for (const result of [
      undefined,
      "ok",
      {},
      { statusCode: "200" },
      { statusCode: 200, body: { a: 1 } },
      { statusCode: 200, headers: { a: ["x"] } },
    ]) {
      expect(() => fromProxyResult(result)).toThrow(MalformedProxyResultError);
    }
  });
});

describe("the request log line", () => {
  it("names method, path, status, the authorizer's reason and latency", () => {
    expect(
      formatRequestLine({
        method: "GET",
        path: "/me",
        status: 401,
        latencyMs: 1.26,
        decision: { outcome: "deny", reason: "revoked", path: "remote", latencyMs: 1 },
      }),
    ).toBe("GET /me 401 authorizer=revoked 1.3ms");
    expect(
      formatRequestLine({
        method: "GET",
        path: "/me",
        status: 200,
        latencyMs: 2,
        decision: { outcome: "allow", path: "local", latencyMs: 1 },
      }),
    ).toBe("GET /me 200 authorizer=allow:local 2.0ms");
    expect(formatRequestLine({ method: "POST", path: "/x", status: 404, latencyMs: 0 })).toBe(
      "POST /x 404 authorizer=- 0.0ms",
    );
  });

  it("masks path segments that look like a token", () => {
    expect(maskPath("/me/eyJhbGciOi.eyJzdWIiOi.c2lnbmF0dXJl/x")).toBe("/me/…/x");
    expect(maskPath("/t/lTkhIleqvmDdWUUs2IFe90fYAlbmdaN4oYsJS-wXbEzH")).toBe("/t/…");
    expect(maskPath("/auth/refresh")).toBe("/auth/refresh");
  });
});

describe("matching a request path to the route table", () => {
  const table = new Map<string, string[]>([
    ["/me", ["me"]],
    ["/orgs/{organization_id}/documents", ["documents"]],
    ["/orgs/mine/documents", ["literal"]],
  ]);

  it("prefers the literal path, else fills each {name} segment with one decoded, non-empty segment", () => {
    expect(matchPath(table, "/me")).toEqual({ routes: ["me"] });
    expect(matchPath(table, "/orgs/mine/documents")).toEqual({ routes: ["literal"] });
    expect(matchPath(table, "/orgs/organization-test-1/documents")).toEqual({
      routes: ["documents"],
      pathParameters: { organization_id: "organization-test-1" },
    });
    expect(matchPath(table, "/orgs/a%20b/documents")?.pathParameters).toEqual({ organization_id: "a b" });
  });

  it("matches nothing for empty, extra or missing segments, or malformed percent-encoding", () => {
    for (const path of [
      "/orgs//documents",
      "/orgs/x/documents/",
      "/orgs/x/y/documents",
      "/orgs/documents",
      "/orgs/%E0%A4%A/documents",
      "/me/",
    ]) {
      expect(matchPath(table, path), path).toBeUndefined();
    }
  });

  it("passes the path parameters to the authorizer and the handler, as a REST API does", () => {
    const req = request({ path: "/orgs/o-1/documents", pathParameters: { organization_id: "o-1" } });
    const route = { method: "GET", path: "/orgs/{organization_id}/documents" };
    expect(requestAuthorizerEvent(route, req)).toMatchObject({
      resource: route.path,
      path: "/orgs/o-1/documents",
      pathParameters: { organization_id: "o-1" },
    });
    expect(requestAuthorizerEvent(route, req).methodArn).toBe(
      "arn:aws:execute-api:local:000000000000:localapi/local/GET/orgs/o-1/documents",
    );
    expect(proxyEvent(route, req).pathParameters).toEqual({ organization_id: "o-1" });
  });
});

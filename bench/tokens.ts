// Distinct, freshly minted Stytch B2B session JWTs from the project's own emulator, and the REST
// REQUEST authorizer events that carry them.
//
// Every token is a real RS256 signature over a full Stytch-shaped payload (issuer `stytch.com/<projectId>`,
// audience the project ID, session and organization claims). Tokens differ by a unique `jti`, so no
// verifier can answer one of them from a cache filled by another: "first seen" really is first seen.

import type { APIGatewayRequestAuthorizerEvent } from "aws-lambda";
import type { StytchEmulator } from "../local/stytch-emulator";

/** The method ARN of every benchmark event (a REST API stage `prod`, resource `/me`). */
export const METHOD_ARN = "arn:aws:execute-api:eu-west-1:123456789012:a1b2c3d4e5/prod/GET/me";

/** A minted token and the member it names, to check every verifier's answer against. */
export interface MintedToken {
  readonly jwt: string;
  readonly sub: string;
}

/** Mints distinct session JWTs for a pool of emulator sessions, and keeps the cost of doing so. */
export class TokenMint {
  private readonly sessions: Array<{ id: string; memberId: string }> = [];
  private sequence = 0;
  /** Total wall time spent signing, and how many tokens that bought: the basis of the memory-phase budget. */
  readonly cost = { ns: 0n, count: 0 };

  /**
   * @param emulator the running emulator whose current key signs the tokens
   * @param sessionCount how many distinct members/sessions to rotate through (several organizations)
   */
  constructor(
    private readonly emulator: StytchEmulator,
    sessionCount = 16,
  ) {
    for (let i = 0; i < sessionCount; i++) {
      const created = this.emulator.createSession({
        organizationSlug: `org-${i % 4}`,
        roles: i % 3 === 0 ? ["admin"] : ["viewer"],
        durationMinutes: 24 * 60,
      });
      this.sessions.push({ id: created.memberSessionId, memberId: created.memberId });
    }
  }

  /** One new token, distinct from every other token this mint has produced. */
  mint(): MintedToken {
    const started = process.hrtime.bigint();
    const session = this.sessions[this.sequence % this.sessions.length]!;
    const jti = `bench-${process.pid}-${++this.sequence}`;
    const jwt = this.emulator.signJwt(
      { alg: "RS256", kid: this.emulator.currentKid, typ: "JWT" },
      this.emulator.sessionPayload(session.id, { jti }),
    );
    this.cost.ns += process.hrtime.bigint() - started;
    this.cost.count++;
    return { jwt, sub: session.memberId };
  }

  /** `count` new tokens. */
  mintMany(count: number): MintedToken[] {
    return Array.from({ length: count }, () => this.mint());
  }

  /** Mean signing cost per token so far, in milliseconds. */
  msPerToken(): number {
    return this.cost.count === 0 ? Number.NaN : Number(this.cost.ns) / 1e6 / this.cost.count;
  }
}

/**
 * A REST API REQUEST authorizer event carrying `Authorization: Bearer <jwt>`, as API Gateway sends it.
 * It goes through JSON like the Lambda runtime's deserialisation, so every string in it is a fresh,
 * flat string: nothing (such as a cached string hash) carries over from another event.
 */
export function restRequestEvent(jwt: string): APIGatewayRequestAuthorizerEvent {
  const authorization = `Bearer ${jwt}`;
  const event: APIGatewayRequestAuthorizerEvent = {
    type: "REQUEST",
    methodArn: METHOD_ARN,
    resource: "/me",
    path: "/me",
    httpMethod: "GET",
    headers: {
      Authorization: authorization,
      Host: "a1b2c3d4e5.execute-api.eu-west-1.amazonaws.com",
      "User-Agent": "bench",
    },
    multiValueHeaders: {
      Authorization: [authorization],
      Host: ["a1b2c3d4e5.execute-api.eu-west-1.amazonaws.com"],
      "User-Agent": ["bench"],
    },
    pathParameters: null,
    queryStringParameters: null,
    multiValueQueryStringParameters: null,
    stageVariables: null,
    requestContext: {
      accountId: "123456789012",
      apiId: "a1b2c3d4e5",
      stage: "prod",
      httpMethod: "GET",
      path: "/prod/me",
      resourcePath: "/me",
      resourceId: "abc123",
      requestId: "bench",
      requestTimeEpoch: 0,
      protocol: "HTTP/1.1",
      identity: { sourceIp: "203.0.113.7", userAgent: "bench" },
      authorizer: undefined,
    } as unknown as APIGatewayRequestAuthorizerEvent["requestContext"],
  };
  return JSON.parse(JSON.stringify(event)) as APIGatewayRequestAuthorizerEvent;
}

/** Fresh, flat copies of token strings, so one verifier's string-level caching cannot help another's. */
export function freshCopies(jwts: readonly string[]): string[] {
  return JSON.parse(JSON.stringify(jwts)) as string[];
}

// The rows of the latency table: the floor, three peers and our handler, each fed the same tokens with
// its key set already warm; and the mixed-traffic rows, where each token is used 10 times, interleaved. Each row turns a round's tokens into its own inputs (outside the timed
// region), makes one call per input, and names the member in each result so that every single answer
// can be checked: a verifier that rejects the tokens would invalidate the comparison.

import { createPublicKey, type JsonWebKey, type KeyObject, verify as rsaVerify } from "node:crypto";
import { JwtVerifier } from "aws-jwt-verify";
import { compactVerify, createRemoteJWKSet, importJWK, type JWTVerifyOptions, jwtVerify } from "jose";
import { B2BClient } from "stytch";
import type { AuthorizerHandler } from "../lambda/authorizer";
import { freshCopies, type MintedToken, restRequestEvent } from "./tokens";

/** How many times each token of the mixed-traffic stream is used. */
export const USES_PER_TOKEN = 10;

/** The tokens of one round: distinct first-seen tokens, one more for the repeated-token row, and the mixed stream. */
export interface RoundTokens {
  readonly tokens: readonly MintedToken[];
  readonly repeated: MintedToken;
  /**
   * Mixed traffic: as many requests as `tokens`, made of `tokens.length / USES_PER_TOKEN` further fresh
   * tokens, each used {@link USES_PER_TOKEN} times in a shuffled order, as clients reuse a JWT during
   * its five minutes. Distinct from `tokens`, so no other row has seen them.
   */
  readonly mixed: readonly MintedToken[];
}

/** What a row needs for one timed batch. */
export interface PreparedBatch {
  readonly inputs: readonly unknown[];
  /** The member each input's answer must name. */
  readonly expected: readonly string[];
  /** Untimed work right before the batch (e.g. the first sighting of the repeated token). */
  readonly prime?: () => Promise<void>;
}

/** One row of the table. */
export interface BenchRow {
  readonly id:
    | "floor"
    | "aws-jwt-verify"
    | "jose"
    | "jose-cached-key"
    | "jose-compact-verify"
    | "stytch-sdk"
    | "ours-first-seen"
    | "ours-repeated"
    | "ours-mixed"
    | "aws-jwt-verify-mixed"
    | "jose-mixed"
    | "stytch-sdk-mixed";
  /** Rows of the mixed-traffic table (the same stream for every one of them). */
  readonly mixed?: boolean;
  readonly label: string;
  /** Synchronous calls are timed without `await`, so the floor is not charged for a microtask per call. */
  readonly sync: boolean;
  prepare(round: RoundTokens): PreparedBatch;
  call(input: unknown): unknown;
  /** The member a result names (`undefined` when it names none). */
  subOf(result: unknown): string | undefined;
}

/** Where each row gets its keys, and what it verifies against. */
export interface RowSetup {
  readonly projectId: string;
  readonly secret: string;
  /** The emulator's JWKS document (for the floor's key and aws-jwt-verify's cacheJwks). */
  readonly jwks: { keys: Array<Record<string, unknown>> };
  /** HTTPS origins (loopback TLS fronts of the emulator), one per consumer, so fetches can be counted apart. */
  readonly urls: {
    readonly jose: string;
    readonly stytchSdk: string;
    readonly awsJwtVerify: string;
    readonly ours: string;
  };
  /** Our handler, built by createAuthorizer(env) and already warm. */
  readonly handler: AuthorizerHandler;
}

/** The Lambda context our handler receives (it reads the remaining time for its Stytch deadline). */
const LAMBDA_CONTEXT = { getRemainingTimeInMillis: () => 3_000, awsRequestId: "bench" };

const jwtInputs = (round: RoundTokens): PreparedBatch => ({
  inputs: freshCopies(round.tokens.map((t) => t.jwt)),
  expected: round.tokens.map((t) => t.sub),
});

// The mixed stream gets fresh string copies too, but one per token (not per request): a client sends the
// same string again, and the Lambda runtime hands each request its own copy, as restRequestEvent does.
const mixedJwtInputs = (round: RoundTokens): PreparedBatch => ({
  inputs: freshCopies(round.mixed.map((t) => t.jwt)),
  expected: round.mixed.map((t) => t.sub),
});

const allowedPrincipal = (result: unknown): string | undefined => {
  const policy = result as { principalId?: string; policyDocument?: { Statement?: Array<{ Effect?: string }> } };
  return policy.policyDocument?.Statement?.[0]?.Effect === "Allow" ? policy.principalId : undefined;
};

/**
 * The floor: what any correct verifier must at least do. One RS256 verification with node:crypto and a
 * JSON.parse of the payload; the key is imported once as a KeyObject. No claim checks at all.
 */
export function floorVerify(key: KeyObject, jwt: string): Record<string, unknown> {
  const firstDot = jwt.indexOf(".");
  const secondDot = jwt.indexOf(".", firstDot + 1);
  const ok = rsaVerify(
    "sha256",
    Buffer.from(jwt.slice(0, secondDot), "latin1"),
    key,
    Buffer.from(jwt.slice(secondDot + 1), "base64url"),
  );
  if (!ok) throw new Error("floor: bad signature");
  return JSON.parse(Buffer.from(jwt.slice(firstDot + 1, secondDot), "base64url").toString("utf8")) as Record<
    string,
    unknown
  >;
}

/**
 * Builds every row and warms each peer's key set (one verification each), so no row pays a JWKS
 * download inside the timed region.
 * @param warmToken a valid token used only for warming
 */
export async function createRows(setup: RowSetup, warmToken: MintedToken): Promise<BenchRow[]> {
  const { projectId } = setup;
  const jwksPath = `/v1/b2b/sessions/jwks/${projectId}`;
  const issuer = `stytch.com/${projectId}`;

  const floorKey = createPublicKey({ key: setup.jwks.keys[0] as JsonWebKey, format: "jwk" });

  const awsVerifier = JwtVerifier.create({
    issuer,
    audience: projectId,
    jwksUri: `${setup.urls.awsJwtVerify}${jwksPath}`,
  });
  // Hydrated from the same document the emulator serves: verifySync never fetches.
  awsVerifier.cacheJwks(setup.jwks as unknown as Parameters<typeof awsVerifier.cacheJwks>[0]);

  const joseJwks = createRemoteJWKSet(new URL(`${setup.urls.jose}${jwksPath}`));
  const joseOptions = { issuer, audience: projectId, algorithms: ["RS256"], typ: "JWT" };
  // Bare jwtVerify with the key imported once as a CryptoKey, and the options our verifier passes:
  // the yardstick for our first-seen overhead.
  const joseKey = await importJWK(
    { ...(setup.jwks.keys[0] as JsonWebKey), alg: "RS256" } as Parameters<typeof importJWK>[0],
    "RS256",
  );
  const joseCachedKeyOptions: JWTVerifyOptions = {
    ...joseOptions,
    issuer: [issuer, setup.urls.ours],
    requiredClaims: ["exp", "nbf", "iat"],
    clockTolerance: 5,
  };

  const stytch = new B2BClient({ project_id: projectId, secret: setup.secret, custom_base_url: setup.urls.stytchSdk });

  const rows: BenchRow[] = [
    {
      id: "floor",
      label: "floor: node:crypto RS256 verify + JSON.parse",
      sync: true,
      prepare: jwtInputs,
      call: (jwt) => floorVerify(floorKey, jwt as string),
      subOf: (payload) => (payload as { sub?: string }).sub,
    },
    {
      id: "aws-jwt-verify",
      label: "aws-jwt-verify JwtVerifier.verifySync",
      sync: true,
      prepare: jwtInputs,
      call: (jwt) => awsVerifier.verifySync(jwt as string),
      subOf: (payload) => (payload as { sub?: string }).sub,
    },
    {
      id: "jose",
      label: "jose jwtVerify + createRemoteJWKSet",
      sync: false,
      prepare: jwtInputs,
      call: (jwt) => jwtVerify(jwt as string, joseJwks, joseOptions),
      subOf: (result) => (result as { payload: { sub?: string } }).payload.sub,
    },
    {
      id: "jose-cached-key",
      label: "jose jwtVerify, CryptoKey imported once",
      sync: false,
      prepare: jwtInputs,
      call: (jwt) => jwtVerify(jwt as string, joseKey, joseCachedKeyOptions),
      subOf: (result) => (result as { payload: { sub?: string } }).payload.sub,
    },
    {
      // For reference only: the signature alone, no claims (what jwtVerify adds on top of it).
      id: "jose-compact-verify",
      label: "jose compactVerify (signature only), CryptoKey",
      sync: false,
      prepare: jwtInputs,
      call: async (jwt) =>
        JSON.parse(
          new TextDecoder().decode((await compactVerify(jwt as string, joseKey, { algorithms: ["RS256"] })).payload),
        ) as unknown,
      subOf: (payload) => (payload as { sub?: string }).sub,
    },
    {
      id: "stytch-sdk",
      label: "stytch B2BClient authenticateJwtLocal",
      sync: false,
      prepare: jwtInputs,
      call: (jwt) => stytch.sessions.authenticateJwtLocal({ session_jwt: jwt as string }),
      subOf: (session) => (session as { member_id?: string }).member_id,
    },
    {
      id: "ours-first-seen",
      label: "ours: handler(event)→policy, first-seen",
      sync: false,
      prepare: (round) => ({
        inputs: round.tokens.map((t) => restRequestEvent(t.jwt)),
        expected: round.tokens.map((t) => t.sub),
      }),
      call: (event) => setup.handler(event as Parameters<AuthorizerHandler>[0], LAMBDA_CONTEXT),
      subOf: allowedPrincipal,
    },
    {
      id: "ours-repeated",
      label: "ours: handler(event)→policy, repeated",
      sync: false,
      prepare: (round) => ({
        // A fresh event object per call, as the Lambda runtime deserialises one per invocation.
        inputs: round.tokens.map(() => restRequestEvent(round.repeated.jwt)),
        expected: round.tokens.map(() => round.repeated.sub),
        prime: async () => {
          const first = await setup.handler(restRequestEvent(round.repeated.jwt), LAMBDA_CONTEXT);
          if (allowedPrincipal(first) !== round.repeated.sub)
            throw new Error("ours-repeated: priming call did not Allow");
        },
      }),
      call: (event) => setup.handler(event as Parameters<AuthorizerHandler>[0], LAMBDA_CONTEXT),
      subOf: allowedPrincipal,
    },
    {
      id: "ours-mixed",
      label: "ours: handler(event)→policy",
      sync: false,
      mixed: true,
      prepare: (round) => ({
        inputs: round.mixed.map((t) => restRequestEvent(t.jwt)),
        expected: round.mixed.map((t) => t.sub),
      }),
      call: (event) => setup.handler(event as Parameters<AuthorizerHandler>[0], LAMBDA_CONTEXT),
      subOf: allowedPrincipal,
    },
  ];

  // The peers on the mixed stream: the same calls, fed the stream (none of them remembers a verdict).
  for (const id of ["aws-jwt-verify", "jose", "stytch-sdk"] as const) {
    const row = rows.find((candidate) => candidate.id === id)!;
    rows.push({ ...row, id: `${id}-mixed`, mixed: true, prepare: mixedJwtInputs });
  }

  // Warm every key set (jose and the SDK download their JWKS here) and check that each row accepts a token.
  for (const row of rows) {
    if (row.id === "ours-mixed") continue; // the same handler as ours-first-seen, already warm
    const result = await row.call(row.id.startsWith("ours") ? restRequestEvent(warmToken.jwt) : warmToken.jwt);
    if (row.subOf(result) !== warmToken.sub) throw new Error(`${row.id} rejected a valid token while warming`);
  }
  return rows;
}

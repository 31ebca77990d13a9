// The Stytch project secret (see createSecretProvider).

import type { SecretsProvider } from "@aws-lambda-powertools/parameters/secrets";
import type { SecretSource } from "../config";
import { ConfigurationError, SecretUnavailableError } from "../errors";

/** Resolves the project secret; cached, retried after a failure. */
export interface SecretProvider {
  (): Promise<string>;
  /**
   * Stytch refused the project credentials: the next call reads the secret again (bypassing the
   * cache), unless a rejection already caused a re-read in the last few seconds.
   */
  credentialsRejected(): void;
}

/** Tuning of {@link createSecretProvider}; the defaults are what deployed functions use. */
export interface SecretProviderOptions {
  /** How long a value read from Secrets Manager is reused before it is read again. Default 300 s. */
  readonly maxAgeSeconds?: number;
  /** Least time between two re-reads caused by rejected credentials. Default 5 s. */
  readonly rereadAfterRejectionMs?: number;
}

/** Reuse a value read from Secrets Manager this long (rotation in Stytch overlaps, so minutes are fine). */
const SECRET_MAX_AGE_SECONDS = 300;
/** At most one forced re-read per this interval: a wrong secret must not turn every request into a Secrets Manager call. */
export const REREAD_AFTER_REJECTION_MS = 5_000;
/** Minimum pause between two failed Secrets Manager reads, so an outage is not hammered. */
const RETRY_AFTER_FAILURE_MS = 2_000;

/**
 * Creates the provider for a configured secret source: the Stytch project secret, from STYTCH_SECRET
 * (local, dev) or from Secrets Manager (STYTCH_SECRET_ARN, deployed), read with Powertools Parameters. A
 * value read from Secrets Manager is cached for a few minutes, and read again at once when Stytch rejects
 * the project credentials (at most once every few seconds), so a `put-secret-value` reaches warm containers
 * within seconds. Powertools and the AWS SDK (external in the bundle: the Lambda runtime ships it) are loaded
 * only when an ARN is configured.
 *
 * A JSON secret may hold the value under `secret`, `STYTCH_SECRET` or `stytch_secret`; otherwise the
 * whole SecretString is the secret. When a later read fails, the last good value is served (an
 * outage of Secrets Manager must not turn into a Stytch outage).
 */
export function createSecretProvider(source: SecretSource, options: SecretProviderOptions = {}): SecretProvider {
  if (source.kind === "value") {
    const value = Promise.resolve(source.value);
    return Object.assign(() => value, { credentialsRejected: () => {} });
  }
  const maxAge = options.maxAgeSeconds ?? SECRET_MAX_AGE_SECONDS;
  const rereadAfterRejectionMs = options.rereadAfterRejectionMs ?? REREAD_AFTER_REJECTION_MS;
  let secrets: Promise<SecretsProvider> | undefined;
  let inflight: Promise<string> | undefined;
  let lastGood: string | undefined;
  let forceNext = false;
  let forcedAt = -Infinity;
  let failedAt = -Infinity;

  const read = async (forceFetch: boolean): Promise<string> => {
    let secretString: unknown;
    try {
      secrets ??= import("@aws-lambda-powertools/parameters/secrets").then(
        ({ SecretsProvider }) =>
          // Two attempts and short timeouts: the read sits inside an API Gateway request.
          new SecretsProvider({
            clientConfig: { maxAttempts: 2, requestHandler: { connectionTimeout: 1_000, requestTimeout: 3_000 } },
          }),
      );
      secretString = await (await secrets).get(source.arn, { maxAge, forceFetch });
    } catch (error) {
      throw new SecretUnavailableError(
        `Secrets Manager read failed (${error instanceof Error ? error.name : "error"})`,
        { cause: error },
      );
    }
    const secret = extractSecret(typeof secretString === "string" ? secretString : undefined);
    if (!secret) throw new ConfigurationError("the Stytch secret in Secrets Manager is empty");
    return secret;
  };

  const provider = (): Promise<string> => {
    if (inflight) return inflight;
    if (Date.now() - failedAt < RETRY_AFTER_FAILURE_MS) {
      return lastGood !== undefined
        ? Promise.resolve(lastGood)
        : Promise.reject(new SecretUnavailableError("the project secret could not be read recently; retrying shortly"));
    }
    const forceFetch = forceNext;
    forceNext = false;
    inflight = read(forceFetch)
      .then(
        (secret) => (lastGood = secret),
        (error: unknown) => {
          failedAt = Date.now();
          if (lastGood !== undefined && error instanceof SecretUnavailableError) return lastGood;
          throw error;
        },
      )
      .finally(() => (inflight = undefined));
    return inflight;
  };
  return Object.assign(provider, {
    credentialsRejected: () => {
      const now = Date.now();
      if (now - forcedAt < rereadAfterRejectionMs) return;
      forcedAt = now;
      forceNext = true;
    },
  });
}

/** Finds the secret in a SecretString that is either the bare secret or a JSON object holding it. */
export function extractSecret(secretString: string | undefined): string | undefined {
  const raw = secretString?.trim();
  if (!raw) return undefined;
  if (raw.startsWith("{")) {
    try {
      const json = JSON.parse(raw) as Record<string, unknown>;
      for (const key of ["secret", "STYTCH_SECRET", "stytch_secret"]) {
        const value = json[key];
        if (typeof value === "string" && value.trim() !== "") return value.trim();
      }
      return undefined;
    } catch {
      return raw;
    }
  }
  return raw;
}

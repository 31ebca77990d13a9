// The Stytch project secret: from STYTCH_SECRET (local, dev) or read once per container from
// Secrets Manager (STYTCH_SECRET_ARN, deployed). The AWS SDK is external in the bundle (the Lambda
// runtime ships it) and is loaded only when an ARN is configured.

import type { SecretSource } from "./config";
import { ConfigurationError, SecretUnavailableError } from "./errors";

/** Resolves the project secret; cached after the first success, retried after a failure. */
export type SecretProvider = () => Promise<string>;

/** Minimum pause between two failed Secrets Manager reads, so an outage is not hammered. */
const RETRY_AFTER_FAILURE_MS = 2_000;

/**
 * Creates the provider for a configured secret source.
 * A JSON secret may hold the value under `secret`, `STYTCH_SECRET` or `stytch_secret`; otherwise the
 * whole SecretString is the secret.
 */
export function createSecretProvider(source: SecretSource): SecretProvider {
  if (source.kind === "value") {
    const value = Promise.resolve(source.value);
    return () => value;
  }
  let cached: Promise<string> | undefined;
  let failedAt = Number.NEGATIVE_INFINITY;
  return () => {
    if (cached) return cached;
    if (Date.now() - failedAt < RETRY_AFTER_FAILURE_MS) {
      return Promise.reject(new SecretUnavailableError("the project secret could not be read recently; retrying shortly"));
    }
    cached = readSecret(source.arn).catch((error: unknown) => {
      cached = undefined;
      failedAt = Date.now();
      throw error;
    });
    return cached;
  };
}

async function readSecret(arn: string): Promise<string> {
  let secretString: string | undefined;
  try {
    const { SecretsManagerClient, GetSecretValueCommand } = await import("@aws-sdk/client-secrets-manager");
    const client = new SecretsManagerClient({ maxAttempts: 2 });
    const result = await client.send(new GetSecretValueCommand({ SecretId: arn }), { abortSignal: AbortSignal.timeout(3_000) });
    secretString = result.SecretString;
  } catch (error) {
    throw new SecretUnavailableError(`Secrets Manager read failed (${error instanceof Error ? error.name : "error"})`, { cause: error });
  }
  const secret = extractSecret(secretString);
  if (!secret) throw new ConfigurationError("the Stytch secret in Secrets Manager is empty: put the project secret into it");
  return secret;
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

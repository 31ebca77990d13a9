// The project secret: a value from the environment, or read from Secrets Manager (Powertools
// Parameters over the real AWS SDK, against the loopback Secrets Manager emulator), cached, and re-read
// when Stytch rejects the project credentials.

import { afterEach, beforeEach, describe, expect, test, vi } from "vitest";
import { createAuthorizer, UPSTREAM_FAULT } from "../lambda/authorizer";
import { ConfigurationError, SecretUnavailableError } from "../lambda/lib/errors";
import { createSecretProvider, extractSecret, REREAD_AFTER_REJECTION_MS } from "../lambda/lib/stytch/project-secret";
import type { StytchEmulator } from "../local/stytch-emulator";
import type { SecretsManagerEmulator } from "./emulator/secrets-manager-emulator";
import { restRequestEvent } from "./support/authorizer-events";
import { UNHURRIED_TIMEOUTS, useSecretsManagerEmulator, useStytchEmulator } from "./support/fixtures";

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

describe("extracting the secret from a SecretString", () => {
  test.each([
    ["a bare secret", "secret-test-abc", "secret-test-abc"],
    ["a bare secret with whitespace", "  secret-test-abc\n", "secret-test-abc"],
    ["a JSON object with `secret`", '{"secret":"secret-test-abc"}', "secret-test-abc"],
    ["a JSON object with `STYTCH_SECRET`", '{"STYTCH_SECRET":"secret-test-abc"}', "secret-test-abc"],
    ["a JSON object without a known key", '{"password":"x"}', undefined],
    ["an empty string", "", undefined],
    ["nothing", undefined, undefined],
  ])("%s", (_name, input, expected) => {
    expect(extractSecret(input)).toBe(expected);
  });
});

describe("reading the secret from Secrets Manager", () => {
  let secretsManager: SecretsManagerEmulator;
  const arn = "arn:aws:secretsmanager:eu-west-1:123456789012:secret:stytch-AbCdEf";
  useSecretsManagerEmulator((emulator) => (secretsManager = emulator));

  test("the secret is read once and then served from memory until it is older than its maximum age", async () => {
    secretsManager.secrets.set(arn, "secret-test-from-secrets-manager");
    secretsManager.calls.getSecretValue = 0;
    const provider = createSecretProvider({ kind: "arn", arn });
    expect(await Promise.all([provider(), provider()])).toEqual([
      "secret-test-from-secrets-manager",
      "secret-test-from-secrets-manager",
    ]);
    expect(await provider()).toBe("secret-test-from-secrets-manager");
    expect(secretsManager.calls.getSecretValue).toBe(1);

    const shortLived = createSecretProvider({ kind: "arn", arn }, { maxAgeSeconds: 1 });
    expect(await shortLived()).toBe("secret-test-from-secrets-manager");
    secretsManager.secrets.set(arn, "secret-test-rotated");
    expect(await shortLived()).toBe("secret-test-from-secrets-manager");
    await sleep(1_100);
    expect(await shortLived()).toBe("secret-test-rotated");
    expect(secretsManager.calls.getSecretValue).toBe(3);
  });

  test("a rejection of the project credentials makes the next call re-read, at most once per interval", async () => {
    secretsManager.secrets.set(arn, "secret-test-old");
    const provider = createSecretProvider({ kind: "arn", arn }, { rereadAfterRejectionMs: 300 });
    expect(await provider()).toBe("secret-test-old");
    secretsManager.secrets.set(arn, "secret-test-new");
    expect(await provider()).toBe("secret-test-old"); // cached: nothing asked for a re-read
    provider.credentialsRejected();
    expect(await provider()).toBe("secret-test-new");
    expect(secretsManager.calls.getSecretValue).toBe(2);
    // A second rejection inside the interval changes nothing: a wrong secret must not cost a read per request.
    secretsManager.secrets.set(arn, "secret-test-newer");
    provider.credentialsRejected();
    expect(await provider()).toBe("secret-test-new");
    expect(secretsManager.calls.getSecretValue).toBe(2);
    await sleep(350);
    provider.credentialsRejected();
    expect(await provider()).toBe("secret-test-newer");
    expect(secretsManager.calls.getSecretValue).toBe(3);
  });

  test("when a later read fails, the last good value is served and Secrets Manager is not hammered", async () => {
    secretsManager.secrets.set(arn, "secret-test-good");
    const provider = createSecretProvider({ kind: "arn", arn });
    expect(await provider()).toBe("secret-test-good");
    secretsManager.failing = true;
    provider.credentialsRejected();
    expect(await provider()).toBe("secret-test-good");
    const calls = secretsManager.calls.getSecretValue;
    expect(await provider()).toBe("secret-test-good");
    expect(secretsManager.calls.getSecretValue).toBe(calls);
  });

  test("a failed read is a fault, not cached, and retried after a pause", async () => {
    secretsManager.secrets.set(arn, "secret-test-recovered");
    secretsManager.failing = true;
    secretsManager.calls.getSecretValue = 0;
    const provider = createSecretProvider({ kind: "arn", arn });
    await expect(provider()).rejects.toBeInstanceOf(SecretUnavailableError);
    // Inside the pause the provider refuses without calling Secrets Manager again.
    await expect(provider()).rejects.toBeInstanceOf(SecretUnavailableError);
    const callsDuringPause = secretsManager.calls.getSecretValue;
    secretsManager.failing = false;
    await new Promise((resolve) => setTimeout(resolve, 2_100));
    expect(await provider()).toBe("secret-test-recovered");
    expect(secretsManager.calls.getSecretValue).toBe(callsDuringPause + 1);
  });

  test("an unknown secret is a fault and an empty one a configuration error", async () => {
    await expect(createSecretProvider({ kind: "arn", arn: `${arn}-missing` })()).rejects.toBeInstanceOf(
      SecretUnavailableError,
    );
    secretsManager.secrets.set(arn, "   ");
    await expect(createSecretProvider({ kind: "arn", arn })()).rejects.toBeInstanceOf(ConfigurationError);
  });
});

describe("a put-secret-value reaches a warm authorizer within seconds", () => {
  let stytch: StytchEmulator;
  let secretsManager: SecretsManagerEmulator;
  const arn = "arn:aws:secretsmanager:eu-west-1:123456789012:secret:stytch-warm-GhIjKl";
  useStytchEmulator((emulator) => (stytch = emulator));
  useSecretsManagerEmulator((emulator) => (secretsManager = emulator));
  beforeEach(() => {
    for (const method of ["log", "info", "warn", "error", "debug"] as const)
      vi.spyOn(console, method).mockImplementation(() => {});
  });
  afterEach(() => vi.restoreAllMocks());

  test("the deploy placeholder gives 503; after the real secret is put, the same handler allows within seconds", async () => {
    /**
     * The README's deploy flow: the stack creates the secret with a random placeholder, the function
     * starts with it, and the operator then runs put-secret-value. Stytch rejects the placeholder; the
     * rejection makes the warm container read the secret again (rate-limited), so the new value takes
     * effect without waiting for containers to recycle.
     */
    secretsManager.secrets.set(arn, "placeholder-generated-by-secrets-manager");
    const handler = createAuthorizer({
      STYTCH_PROJECT_ID: stytch.projectId,
      STYTCH_SECRET_ARN: arn,
      STYTCH_API_URL: stytch.url,
      ...UNHURRIED_TIMEOUTS,
    });
    const event = restRequestEvent({ Authorization: `Bearer ${stytch.createSession().sessionToken}` });
    await expect(handler(event)).rejects.toThrow(UPSTREAM_FAULT);
    await expect(handler(event)).rejects.toThrow(UPSTREAM_FAULT);

    secretsManager.secrets.set(arn, stytch.secret);
    const putAt = Date.now();
    let outcomes = 0;
    for (;;) {
      outcomes += 1;
      const allowed = await handler(event).then(
        () => true,
        () => false,
      );
      if (allowed) break;
      expect(Date.now() - putAt, "still refused after the re-read interval").toBeLessThan(
        REREAD_AFTER_REJECTION_MS + 2_000,
      );
      await sleep(250);
    }
    // Bounded: the first read, one forced re-read right after the first rejection, one after the interval.
    expect(secretsManager.calls.getSecretValue).toBeLessThanOrEqual(3);
    expect(outcomes).toBeGreaterThan(1);
    await expect(handler(event)).resolves.toMatchObject({ principalId: expect.any(String) });
  });
});

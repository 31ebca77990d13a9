// The project secret: a value from the environment, or read once from Secrets Manager with the AWS SDK.

import { describe, expect, test } from "vitest";
import { ConfigurationError, SecretUnavailableError } from "../lambda/lib/errors";
import { createSecretProvider, extractSecret } from "../lambda/lib/project-secret";
import type { SecretsManagerEmulator } from "./emulator/secrets-manager-emulator";
import { useSecretsManagerEmulator } from "./support/fixtures";

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

  test("the secret is read once and then served from memory", async () => {
    secretsManager.secrets.set(arn, "secret-test-from-secrets-manager");
    secretsManager.calls.getSecretValue = 0;
    const provider = createSecretProvider({ kind: "arn", arn });
    expect(await Promise.all([provider(), provider()])).toEqual(["secret-test-from-secrets-manager", "secret-test-from-secrets-manager"]);
    expect(await provider()).toBe("secret-test-from-secrets-manager");
    expect(secretsManager.calls.getSecretValue).toBe(1);
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
    await expect(createSecretProvider({ kind: "arn", arn: `${arn}-missing` })()).rejects.toBeInstanceOf(SecretUnavailableError);
    secretsManager.secrets.set(arn, "   ");
    await expect(createSecretProvider({ kind: "arn", arn })()).rejects.toBeInstanceOf(ConfigurationError);
  });
});

// Shared vitest fixtures: one emulator per test file, reset before every test.

import { afterAll, beforeAll, beforeEach } from "vitest";
import {
  DEMO_RBAC_POLICY,
  type RbacPolicy,
  type StytchEmulator,
  startStytchEmulator,
} from "../../local/stytch-emulator";
import { type SecretsManagerEmulator, startSecretsManagerEmulator } from "../emulator/secrets-manager-emulator";

/**
 * Network timeouts for handlers whose timeouts are not what a test is about: the largest the configuration
 * accepts. The defaults (2 s for a key-set download, 5 s for a Stytch call) are production budgets; on a loaded
 * machine a loopback download can outlast them, and the handler then takes its fallback (no key set: screen the
 * JWT and ask Stytch) instead of the path the test means to exercise. Tests about timeouts set their own.
 */
export const UNHURRIED_TIMEOUTS: Readonly<Record<string, string>> = Object.freeze({
  STYTCH_JWKS_TIMEOUT_MS: "10000",
  STYTCH_API_TIMEOUT_MS: "10000",
});

/**
 * Starts one Stytch emulator for the enclosing file or describe block, hands it over through `use`,
 * and before each test zeroes its counters and switches its faults off.
 */
export function useStytchEmulator(use: (emulator: StytchEmulator) => void): void {
  let emulator: StytchEmulator | undefined;
  beforeAll(async () => {
    emulator = await startStytchEmulator();
    use(emulator);
  });
  afterAll(async () => {
    await emulator?.close();
  });
  beforeEach(() => {
    emulator!.resetCounters();
    emulator!.faults.authenticate = "none";
    emulator!.faults.exchange = "none";
    emulator!.faults.jwks = "none";
    emulator!.faults.rbac = "none";
    emulator!.rbacPolicy = structuredClone(DEMO_RBAC_POLICY) as RbacPolicy;
    emulator!.organizationPoliciesEnabled = true;
    emulator!.organizationPolicyFault = "none";
  });
}

/**
 * Starts a Secrets Manager emulator for the enclosing describe block and points the AWS SDK at it
 * (endpoint, region, dummy credentials) through the environment, restoring the environment afterwards.
 * Before each test it stops failing and zeroes its call counter.
 */
export function useSecretsManagerEmulator(use: (emulator: SecretsManagerEmulator) => void): void {
  let emulator: SecretsManagerEmulator | undefined;
  const saved: Record<string, string | undefined> = {};
  beforeAll(async () => {
    emulator = await startSecretsManagerEmulator();
    for (const [name, value] of Object.entries(emulator.sdkEnvironment())) {
      saved[name] = process.env[name];
      process.env[name] = value;
    }
    use(emulator);
  });
  afterAll(async () => {
    for (const [name, value] of Object.entries(saved)) {
      if (value === undefined) delete process.env[name];
      else process.env[name] = value;
    }
    await emulator?.close();
  });
  beforeEach(() => {
    emulator!.failing = false;
    emulator!.calls.getSecretValue = 0;
  });
}

import { defineConfig } from "vitest/config";

export default defineConfig({
  test: {
    include: ["test/**/*.test.ts"],
    globals: true,
    // CDK's Template.fromStack leaves cdk.outXXXX folders in the temp dir; this removes them.
    setupFiles: ["aws-cdk-lib/testhelpers/jest-autoclean"],
    // The handlers' JSON log lines (and whatever else a test prints) are shown for failing tests only: a
    // passing run is a list of test files. Tests that read the logs capture them (test/support/log-capture.ts).
    silent: "passed-only",
    testTimeout: 30_000,
    hookTimeout: 30_000,
    env: {
      // Powertools writes through the global console in dev mode, so tests can capture log lines.
      POWERTOOLS_DEV: "true",
      AWS_EC2_METADATA_DISABLED: "true",
    },
  },
});

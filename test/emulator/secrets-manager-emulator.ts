// A loopback stand-in for AWS Secrets Manager's GetSecretValue (JSON 1.1 protocol), so tests can run
// the real AWS SDK v3 client against a real HTTP endpoint via AWS_ENDPOINT_URL_SECRETS_MANAGER.

import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";

/** A running emulator. */
export interface SecretsManagerEmulator {
  readonly url: string;
  /** Secret ARN → SecretString. */
  readonly secrets: Map<string, string>;
  /** Number of GetSecretValue requests received. */
  readonly calls: { getSecretValue: number };
  /** When set, every request fails with HTTP 500 (InternalServiceError). */
  failing: boolean;
  /** Environment variables that point the AWS SDK at this emulator with dummy credentials. */
  sdkEnvironment(): Record<string, string>;
  close(): Promise<void>;
}

/** Starts the emulator on an ephemeral loopback port. */
export async function startSecretsManagerEmulator(): Promise<SecretsManagerEmulator> {
  const secrets = new Map<string, string>();
  const calls = { getSecretValue: 0 };
  const state = { failing: false };
  const server: Server = createServer((request, response) => {
    const chunks: Buffer[] = [];
    request.on("data", (chunk: Buffer) => chunks.push(chunk));
    request.on("end", () => {
      const target = String(request.headers["x-amz-target"] ?? "");
      const reply = (status: number, body: unknown, errorType?: string) => {
        response.writeHead(status, {
          "content-type": "application/x-amz-json-1.1",
          ...(errorType ? { "x-amzn-errortype": errorType } : {}),
        });
        response.end(JSON.stringify(body));
      };
      if (target !== "secretsmanager.GetSecretValue")
        return reply(400, { __type: "UnknownOperationException" }, "UnknownOperationException");
      calls.getSecretValue += 1;
      if (state.failing)
        return reply(500, { __type: "InternalServiceError", message: "emulated outage" }, "InternalServiceError");
      let secretId = "";
      try {
        secretId = String(
          (JSON.parse(Buffer.concat(chunks).toString("utf8")) as { SecretId?: unknown }).SecretId ?? "",
        );
      } catch {
        return reply(400, { __type: "InvalidRequestException", message: "bad JSON" }, "InvalidRequestException");
      }
      const value = secrets.get(secretId);
      if (value === undefined) {
        return reply(
          400,
          { __type: "ResourceNotFoundException", message: "Secrets Manager can't find the specified secret." },
          "ResourceNotFoundException",
        );
      }
      reply(200, {
        ARN: secretId,
        Name: secretId.split(":").pop(),
        SecretString: value,
        VersionId: "00000000-0000-0000-0000-000000000001",
        VersionStages: ["AWSCURRENT"],
        CreatedDate: 1_700_000_000,
      });
    });
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return {
    url,
    secrets,
    calls,
    get failing() {
      return state.failing;
    },
    set failing(value: boolean) {
      state.failing = value;
    },
    sdkEnvironment: () => ({
      AWS_ENDPOINT_URL_SECRETS_MANAGER: url,
      AWS_REGION: "us-east-1",
      AWS_ACCESS_KEY_ID: "AKIDEXAMPLE",
      AWS_SECRET_ACCESS_KEY: "emulator-secret-access-key",
    }),
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

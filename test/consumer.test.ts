// The package as a new user gets it: `npm pack`, then `npm install` of the tarball into a separate CDK
// app that has no esbuild and an older aws-cdk-lib 2.x than ours. The app is the README's "Attach to
// your own API" section, verbatim; next to it, downstream handlers of every API Gateway event type
// (test/types/member-context-handlers.ts) compile against the installed package. The app synthesizes
// offline, the template is checked, and cfn-lint lints it.
//
// It needs the npm registry (or a warm npm cache), like `npm install` itself.

import { execFile, execFileSync, spawnSync } from "node:child_process";
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import * as path from "node:path";
import { promisify } from "node:util";
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import type { StytchEmulator } from "../local/stytch-emulator";
import type { SecretsManagerEmulator } from "./emulator/secrets-manager-emulator";
import { useSecretsManagerEmulator, useStytchEmulator } from "./support/fixtures";

const REPO = path.resolve(__dirname, "..");
const README = readFileSync(path.join(REPO, "README.md"), "utf8");
const PACKAGE = JSON.parse(readFileSync(path.join(REPO, "package.json"), "utf8")) as {
  name: string;
  version: string;
  peerDependencies: Record<string, string>;
  devDependencies: Record<string, string>;
};
const TARBALL = `${PACKAGE.name}-${PACKAGE.version}.tgz`;

/** The oldest aws-cdk-lib the peer range admits: older than ours, so the test proves the range. */
const OLDER_AWS_CDK_LIB = PACKAGE.peerDependencies["aws-cdk-lib"].replace(/^\^/, "");

/** The fenced blocks of one `## ` section of the README. */
function readmeBlocks(section: string, language: string): string[] {
  const start = README.indexOf(`\n## ${section}\n`);
  if (start < 0) throw new Error(`README has no section ${section}`);
  const end = README.indexOf("\n## ", start + 1);
  const body = README.slice(start, end < 0 ? undefined : end);
  return [...body.matchAll(new RegExp(`\`\`\`${language}\\n([\\s\\S]*?)\`\`\``, "g"))].map((m) => m[1]);
}

function run(command: string, args: string[], cwd: string, env: NodeJS.ProcessEnv = process.env): string {
  const result = spawnSync(command, args, { cwd, env, encoding: "utf8", maxBuffer: 64 * 1024 * 1024 });
  if (result.status !== 0) {
    throw new Error(
      `${command} ${args.join(" ")} failed (${result.status}):\n${(result.stdout + result.stderr).slice(-4000)}`,
    );
  }
  return result.stdout;
}

function cfnLintAvailable(): boolean {
  return spawnSync("cfn-lint", ["--version"], { encoding: "utf8" }).status === 0;
}

describe("the packed tarball in a separate CDK app", () => {
  let scratch: string;
  let template: { Resources: Record<string, { Type: string; Properties: Record<string, any> }> };
  let cdkOut: string;

  beforeAll(() => {
    scratch = mkdtempSync(path.join(tmpdir(), "stytch-consumer-"));
    // 1. The README's Install commands: pack here (prepack builds dist/), install there.
    const install = readmeBlocks("Install", "bash")[0] ?? "";
    expect(install).toMatch(/^npm pack\b/m);
    expect(install).toMatch(new RegExp(`^npm install \\./${TARBALL.replace(/\./g, "\\.")}\\b`, "m"));
    run("npm", ["pack", "--pack-destination", scratch, "--silent"], REPO);

    // 2. A scratch app on an older aws-cdk-lib, without esbuild; the types users add for their handlers.
    writeFileSync(
      path.join(scratch, "package.json"),
      JSON.stringify({
        name: "consumer-app",
        private: true,
        dependencies: { "aws-cdk-lib": OLDER_AWS_CDK_LIB, constructs: PACKAGE.devDependencies.constructs },
        devDependencies: {
          "@types/aws-lambda": PACKAGE.devDependencies["@types/aws-lambda"],
          "@types/node": PACKAGE.devDependencies["@types/node"],
        },
      }),
    );
    run("npm", ["install", `./${TARBALL}`, "--no-audit", "--no-fund", "--prefer-offline", "--loglevel=error"], scratch);

    // 3. The README's app, verbatim, and the downstream handlers, importing the package by name.
    const [appSource] = readmeBlocks("Attach to your own API", "ts");
    writeFileSync(path.join(scratch, "app.ts"), appSource);
    const handlers = readFileSync(path.join(REPO, "test", "types", "member-context-handlers.ts"), "utf8");
    writeFileSync(
      path.join(scratch, "handlers.ts"),
      handlers.replace('from "../../lambda/index"', `from "${PACKAGE.name}"`),
    );
    writeFileSync(
      path.join(scratch, "tsconfig.json"),
      JSON.stringify({
        compilerOptions: {
          target: "ES2022",
          module: "nodenext",
          moduleResolution: "nodenext",
          strict: true,
          // Library checking on: the package's .d.ts must hold against this older aws-cdk-lib.
          skipLibCheck: false,
          types: ["node"],
          outDir: "out",
        },
        files: ["app.ts", "handlers.ts"],
      }),
    );
    execFileSync(path.join(REPO, "node_modules", ".bin", "tsc"), ["-p", scratch], { cwd: scratch, stdio: "pipe" });

    // 4. Synthesize offline: the user's handler asset, then the compiled app with plain node.
    mkdirSync(path.join(scratch, "build", "orders"), { recursive: true });
    writeFileSync(
      path.join(scratch, "build", "orders", "index.js"),
      "exports.handler = async () => ({ statusCode: 200 });\n",
    );
    cdkOut = path.join(scratch, "cdk.out");
    run(process.execPath, [path.join("out", "app.js")], scratch, { ...process.env, CDK_OUTDIR: cdkOut });
    template = JSON.parse(readFileSync(path.join(cdkOut, "OrdersApi.template.json"), "utf8"));
  }, 300_000);

  afterAll(() => {
    if (scratch) rmSync(scratch, { recursive: true, force: true });
  });

  const resourcesOf = (type: string) => Object.values(template.Resources).filter((r) => r.Type === type);

  test("the tarball holds the compiled package, the prebuilt handlers and the documents, and nothing else", () => {
    const listing = run("tar", ["-tzf", path.join(scratch, TARBALL)], scratch)
      .split("\n")
      .filter(Boolean);
    const files = listing.map((f) => f.replace(/^package\//, "")).sort();
    expect(files).toEqual(expect.arrayContaining(["LICENSE", "README.md", "CHANGELOG.md", "package.json"]));
    for (const required of [
      "dist/lambda/index.js",
      "dist/lambda/index.d.ts",
      "dist/infra/index.js",
      "dist/infra/index.d.ts",
      "dist/assets/authorizer/index.js",
      "dist/assets/refresh/index.js",
    ]) {
      expect(files).toContain(required);
    }
    const unexpected = files.filter(
      (f) =>
        !/^(LICENSE|README\.md|CHANGELOG\.md|package\.json)$/.test(f) &&
        !/^dist\/(lambda|infra)\/[a-z-]+\.(js|d\.ts)$/.test(f) &&
        // The metric names are plain data shared by the handlers and the monitoring construct, the member- and
        // caller-context readers (and the caller types they return) are the Lambda-side entry's own code, and the
        // constructs load the environment they deploy with the handlers' own configuration loaders at synth (plain
        // code, no dependencies); no other handler internals ship.
        !/^dist\/lambda\/lib\/(operations\/metric-names|response\/(member|caller)-context|callers\/caller)\.(js|d\.ts)$/.test(
          f,
        ) &&
        !/^dist\/lambda\/lib\/(config|settings|errors|permissions\/(route-table|arn-patterns)|response\/cors)\.(js|d\.ts)$/.test(
          f,
        ) &&
        !/^dist\/assets\/(authorizer|refresh)\/index\.js$/.test(f),
    );
    expect(unexpected).toEqual([]);
    expect(
      files.some((f) => /(^|\/)(test|bench|local|emulator)/.test(f) || (f.endsWith(".ts") && !f.endsWith(".d.ts"))),
    ).toBe(false);
  });

  test("the app installed the package with its older aws-cdk-lib and without esbuild", () => {
    const installedCdk = JSON.parse(
      readFileSync(path.join(scratch, "node_modules", "aws-cdk-lib", "package.json"), "utf8"),
    );
    expect(installedCdk.version).toBe(OLDER_AWS_CDK_LIB);
    expect(installedCdk.version).not.toBe(PACKAGE.devDependencies["aws-cdk-lib"]);
    expect(existsSync(path.join(scratch, "node_modules", "esbuild"))).toBe(false);
    // No nested copy: the package uses the app's aws-cdk-lib and constructs (peer dependencies).
    expect(existsSync(path.join(scratch, "node_modules", PACKAGE.name, "node_modules"))).toBe(false);
    const lock = readFileSync(path.join(scratch, "package-lock.json"), "utf8");
    expect(lock).not.toMatch(/"node_modules\/(jose|@aws-sdk\/client-secrets-manager|@aws-lambda-powertools\/[a-z]+)"/);
  });

  test("the README app attaches the authorizer to the REST API and the HTTP API", () => {
    const [restAuthorizer] = resourcesOf("AWS::ApiGateway::Authorizer");
    expect(restAuthorizer.Properties).toMatchObject({ Type: "REQUEST", AuthorizerResultTtlInSeconds: 0 });
    const [httpAuthorizer] = resourcesOf("AWS::ApiGatewayV2::Authorizer");
    expect(httpAuthorizer.Properties).toMatchObject({
      AuthorizerType: "REQUEST",
      EnableSimpleResponses: true,
      AuthorizerPayloadFormatVersion: "2.0",
    });
    const methods = resourcesOf("AWS::ApiGateway::Method").filter((m) => m.Properties.HttpMethod === "GET");
    expect(methods.map((m) => m.Properties.AuthorizationType)).toEqual(["CUSTOM"]);
    const routes = resourcesOf("AWS::ApiGatewayV2::Route");
    expect(routes.map((r) => [r.Properties.RouteKey, r.Properties.AuthorizationType])).toEqual([
      ["GET /orders", "CUSTOM"],
    ]);
  });

  test("the REST API gets the gateway responses of the status table, with CORS for the API's origin", () => {
    const responses = new Map(
      resourcesOf("AWS::ApiGateway::GatewayResponse").map((r) => [r.Properties.ResponseType, r.Properties]),
    );
    expect([...responses.keys()].sort()).toEqual([
      "ACCESS_DENIED",
      "AUTHORIZER_CONFIGURATION_ERROR",
      "AUTHORIZER_FAILURE",
      "UNAUTHORIZED",
    ]);
    const cors = {
      "gatewayresponse.header.Access-Control-Allow-Origin": "'https://app.example.com'",
      "gatewayresponse.header.Access-Control-Allow-Credentials": "'true'",
    };
    expect(responses.get("UNAUTHORIZED")).toMatchObject({ StatusCode: "401", ResponseParameters: cors });
    expect(responses.get("ACCESS_DENIED")).toMatchObject({ StatusCode: "403", ResponseParameters: cors });
    for (const fault of ["AUTHORIZER_FAILURE", "AUTHORIZER_CONFIGURATION_ERROR"]) {
      expect(responses.get(fault)).toMatchObject({
        StatusCode: "503",
        ResponseParameters: { ...cors, "gatewayresponse.header.Retry-After": "'5'" },
      });
    }
  });

  test("the authorizer function deploys the package's prebuilt bundle", () => {
    const [authorizerFn] = resourcesOf("AWS::Lambda::Function").filter((f) =>
      /authorizer/.test(f.Properties.Description ?? ""),
    );
    expect(authorizerFn.Properties).toMatchObject({
      Runtime: "nodejs24.x",
      Handler: "index.handler",
      Architectures: ["arm64"],
    });
    const bundle = readFileSync(
      path.join(scratch, "node_modules", PACKAGE.name, "dist", "assets", "authorizer", "index.js"),
    );
    const assetDirs = readdirSync(cdkOut).filter((d) => d.startsWith("asset."));
    const deployed = assetDirs.filter((d) => {
      const file = path.join(cdkOut, d, "index.js");
      return existsSync(file) && readFileSync(file).equals(bundle);
    });
    expect(deployed).toHaveLength(1);
    expect(authorizerFn.Properties.Code.S3Key).toContain(deployed[0].replace(/^asset\./, ""));
  });

  describe("the installed prebuilt authorizer, run as Lambda runs it", () => {
    let stytch: StytchEmulator;
    let secretsManager: SecretsManagerEmulator;
    useStytchEmulator((emulator) => (stytch = emulator));
    useSecretsManagerEmulator((emulator) => (secretsManager = emulator));

    test("allows a Stytch session token, reading the project secret from Secrets Manager with the runtime's AWS SDK", async () => {
      /**
       * A separate node process loads the bundle exactly as deployed. The AWS SDK is external to the
       * bundle (Lambda's runtime provides it): NODE_PATH stands in for the runtime's copy.
       */
      const arn = "arn:aws:secretsmanager:eu-west-1:123456789012:secret:stytch-Consum";
      secretsManager.secrets.set(arn, JSON.stringify({ secret: stytch.secret }));
      const session = stytch.createSession({ roles: ["admin"] });
      const bundle = path.join(scratch, "node_modules", PACKAGE.name, "dist", "assets", "authorizer", "index.js");
      const script = `require(${JSON.stringify(bundle)}).handler({ type: "TOKEN", authorizationToken: "Bearer " + process.env.TOKEN, methodArn: "arn:aws:execute-api:eu-west-1:123456789012:abc/prod/GET/orders" }).then((r) => console.log(JSON.stringify(r)), (e) => { console.log(JSON.stringify({ error: e.message })); })`;
      const { stdout } = await promisify(execFile)(process.execPath, ["-e", script], {
        cwd: scratch,
        env: {
          PATH: process.env.PATH,
          NODE_PATH: path.join(REPO, "node_modules"),
          ...secretsManager.sdkEnvironment(),
          STYTCH_PROJECT_ID: stytch.projectId,
          STYTCH_SECRET_ARN: arn,
          STYTCH_API_URL: stytch.url,
          POWERTOOLS_LOG_LEVEL: "ERROR",
          TOKEN: session.sessionToken,
        },
      });
      const response = JSON.parse(stdout.trim().split("\n").pop() ?? "{}");
      expect(response).toMatchObject({
        principalId: session.memberId,
        policyDocument: {
          Statement: [{ Effect: "Allow", Resource: "arn:aws:execute-api:eu-west-1:123456789012:abc/prod/*/*" }],
        },
        context: { member_id: session.memberId, auth_method: "session_token", roles: JSON.stringify(session.roles) },
      });
      expect(stytch.calls.authenticate).toBe(1);
      expect(secretsManager.calls.getSecretValue).toBe(1);
    });
  });

  test.skipIf(!cfnLintAvailable() && process.env.CI !== "true")("cfn-lint finds no errors in the template", () => {
    const result = spawnSync(
      "cfn-lint",
      ["--non-zero-exit-code", "error", "--", path.join(cdkOut, "OrdersApi.template.json")],
      {
        encoding: "utf8",
      },
    );
    expect(result.error).toBeUndefined();
    expect(result.stdout + result.stderr, "cfn-lint errors").not.toMatch(/^E\d+/m);
    expect(result.status).toBe(0);
  });
});

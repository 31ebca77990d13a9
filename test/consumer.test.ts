// The package as a new user gets it. `npm pack` once, then `npm install` of the tarball into two separate apps:
//
// - a CDK app on the oldest aws-cdk-lib 2.x the peer range admits, without esbuild. Every TypeScript block of the
//   README and of docs/ is compiled there as pasted (each is a complete module), every one that is a CDK app
//   (it ends in `app.synth()`) is synthesized offline, and the README's "Attach it to your API" app is checked
//   and linted with cfn-lint. Downstream handlers of every API Gateway event type
//   (test/types/member-context-handlers.ts) compile against the installed package, with library checking on.
// - a Lambda-only app: the tarball, @types/aws-lambda and @types/node, nothing else. It must not get aws-cdk-lib or
//   constructs (they are optional peers), and the README's member-reading handler compiles and runs there on
//   the context the package's own prebuilt authorizer produces.
//
// It needs the npm registry (or a warm npm cache), like `npm install` itself.

import { execFile, execFileSync, spawnSync } from "node:child_process";
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import * as path from "node:path";
import { promisify } from "node:util";
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import { type StytchEmulator, startStytchEmulator } from "../local/stytch-emulator";
import type { SecretsManagerEmulator } from "./emulator/secrets-manager-emulator";
import { type DocBlock, docBlocks, REPO, snippetFileName } from "./support/doc-snippets";
import { useSecretsManagerEmulator, useStytchEmulator } from "./support/fixtures";

const PACKAGE = JSON.parse(readFileSync(path.join(REPO, "package.json"), "utf8")) as {
  name: string;
  version: string;
  peerDependencies: Record<string, string>;
  peerDependenciesMeta?: Record<string, { optional?: boolean }>;
  devDependencies: Record<string, string>;
};
const TARBALL = `${PACKAGE.name}-${PACKAGE.version}.tgz`;
const TSC = path.join(REPO, "node_modules", ".bin", "tsc");

/** The oldest aws-cdk-lib the peer range admits: older than ours, so the test proves the range. */
const OLDER_AWS_CDK_LIB = PACKAGE.peerDependencies["aws-cdk-lib"].replace(/^\^/, "");

const BLOCKS = docBlocks();
const TS_BLOCKS = BLOCKS.filter((block) => block.language === "ts");
/** A block that is a CDK app: it imports aws-cdk-lib and synthesizes. */
const isCdkApp = (block: DocBlock) => /^app\.synth\(\);$/m.test(block.code);
/** A block a Lambda-only consumer can compile: it imports nothing of the CDK. */
const isLambdaSide = (block: DocBlock) =>
  !/from "(aws-cdk-lib|constructs|stytch-b2b-apigw-authorizer\/cdk)/.test(block.code);

/** The blocks of one `## ` section of the README. */
function readmeBlocks(section: string, language: string): DocBlock[] {
  const blocks = BLOCKS.filter((b) => b.file === "README.md" && b.section === section && b.language === language);
  if (blocks.length === 0) throw new Error(`README has no ${language} block in section ${section}`);
  return blocks;
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

/** Compiles a scratch app with the repository's TypeScript; errors name the snippet files (and so the document lines). */
function compile(dir: string, files: readonly string[], types: readonly string[]): void {
  writeFileSync(
    path.join(dir, "tsconfig.json"),
    JSON.stringify({
      compilerOptions: {
        target: "ES2022",
        module: "nodenext",
        moduleResolution: "nodenext",
        strict: true,
        // Library checking on: the package's .d.ts must hold against what this app installed.
        skipLibCheck: false,
        types,
        outDir: "out",
      },
      files,
    }),
  );
  try {
    execFileSync(TSC, ["-p", dir], { cwd: dir, stdio: "pipe", encoding: "utf8" });
  } catch (error) {
    const { stdout = "", stderr = "" } = error as { stdout?: string; stderr?: string };
    throw new Error(`tsc failed in ${path.basename(dir)}:\n${stdout}${stderr}`);
  }
}

function cfnLintAvailable(): boolean {
  return spawnSync("cfn-lint", ["--version"], { encoding: "utf8" }).status === 0;
}

let root: string;
let tarball: string;

beforeAll(() => {
  root = mkdtempSync(path.join(tmpdir(), "stytch-consumer-"));
  // The README's Install commands: pack here (prepack builds dist/), install there. Packed once for both apps.
  const [install] = readmeBlocks("Attach it to your API", "bash");
  expect(install!.code).toMatch(/^npm pack\b/m);
  expect(install!.code).toMatch(new RegExp(`^npm install \\./${TARBALL.replace(/\./g, "\\.")}\\b`, "m"));
  run("npm", ["pack", "--pack-destination", root, "--silent"], REPO);
  tarball = path.join(root, TARBALL);
}, 300_000);

afterAll(() => {
  if (root) rmSync(root, { recursive: true, force: true });
});

describe("the packed tarball", () => {
  test("holds the compiled package, the prebuilt handlers and the documents, and nothing else", () => {
    const files = run("tar", ["-tzf", tarball], root)
      .split("\n")
      .filter(Boolean)
      .map((f) => f.replace(/^package\//, ""))
      .sort();
    expect(files).toEqual(expect.arrayContaining(["LICENSE", "README.md", "CHANGELOG.md", "package.json"]));
    for (const required of [
      "dist/lambda/index.js",
      "dist/lambda/index.d.ts",
      "dist/infra/index.js",
      "dist/infra/index.d.ts",
      "dist/assets/authorizer/index.js",
      "dist/assets/refresh/index.js",
      "dist/assets/switch-organization/index.js",
      "dist/bin/stytch-b2b-apigw-authorizer.js",
    ]) {
      expect(files).toContain(required);
    }
    const unexpected = files.filter(
      (f) =>
        !/^(LICENSE|README\.md|CHANGELOG\.md|package\.json)$/.test(f) &&
        !/^dist\/(lambda|infra)\/[a-z-]+\.(js|d\.ts)$/.test(f) &&
        // The metric names are plain data shared by the handlers and the monitoring construct, the member-context
        // reader is the Lambda-side entry's own code, the 503 contract is shared by the gateway responses and the
        // handlers, and the constructs load the environment they deploy with the handlers' own configuration
        // loaders at synth (plain code, no dependencies); no other handler internals ship.
        !/^dist\/lambda\/lib\/(operations\/metric-names|response\/(member-context|caller-context|unavailable)|callers\/caller)\.(js|d\.ts)$/.test(
          f,
        ) &&
        !/^dist\/lambda\/lib\/(config|settings|errors|shipped-file|permissions\/(route-table|arn-patterns|step-up)|response\/cors)\.(js|d\.ts)$/.test(
          f,
        ) &&
        // The snapshot format's one definition and its key filter: the constructs check a snapshot at synth.
        !/^dist\/lambda\/lib\/(stytch\/project-snapshot|session\/usable-jwks|permissions\/permission-check)\.(js|d\.ts)$/.test(
          f,
        ) &&
        !/^dist\/assets\/(authorizer|refresh|switch-organization)\/index\.js$/.test(f) &&
        !/^dist\/bin\/stytch-b2b-apigw-authorizer\.js$/.test(f),
    );
    expect(unexpected).toEqual([]);
    expect(
      files.some((f) => /(^|\/)(test|bench|local|emulator)/.test(f) || (f.endsWith(".ts") && !f.endsWith(".d.ts"))),
    ).toBe(false);
  });

  test("declares aws-cdk-lib and constructs as optional peers: the CDK entry uses the app's copies, the Lambda entry needs neither", () => {
    expect(Object.keys(PACKAGE.peerDependencies).sort()).toEqual(["aws-cdk-lib", "constructs"]);
    for (const peer of Object.keys(PACKAGE.peerDependencies))
      expect(PACKAGE.peerDependenciesMeta?.[peer]?.optional, peer).toBe(true);
  });
});

describe("a CDK app that installs the tarball", () => {
  let app: string;
  /** CDK output folder of each synthesized document app, by snippet file. */
  const outputs = new Map<string, string>();
  let template: { Resources: Record<string, { Type: string; Properties: Record<string, any> }> };
  let cdkOut: string;
  /** The Stytch of the README app's project, which the package's bin takes the snapshot of. */
  let projectStytch: StytchEmulator | undefined;
  let binOutput: string;

  beforeAll(async () => {
    app = path.join(root, "cdk-app");
    mkdirSync(app);
    // An app on an older aws-cdk-lib, without esbuild; the types users add for their handlers.
    writeFileSync(
      path.join(app, "package.json"),
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
    run("npm", ["install", tarball, "--no-audit", "--no-fund", "--prefer-offline", "--loglevel=error"], app);

    // Every TypeScript block of the documents, as pasted, and the downstream handlers, importing the package by name.
    const files = TS_BLOCKS.map((block) => {
      const name = snippetFileName(block);
      writeFileSync(path.join(app, name), block.code);
      return name;
    });
    const handlers = readFileSync(path.join(REPO, "test", "types", "member-context-handlers.ts"), "utf8");
    writeFileSync(
      path.join(app, "handlers.ts"),
      handlers.replace('from "../../lambda/index"', `from "${PACKAGE.name}"`),
    );
    compile(app, [...files, "handlers.ts"], ["node"]);

    // The README's stand-in for the user's handler, run as printed: it makes the folder the attach app deploys.
    const [standIn] = readmeBlocks("Attach it to your API", "bash").slice(1);
    run("bash", ["-c", standIn!.code], app);

    // The project snapshot the attach app deploys, taken by the package's bin as the README says, from the Stytch
    // of the app's project (asynchronously: the emulator answers from this process).
    const [attachApp] = readmeBlocks("Attach it to your API", "ts");
    const projectId = /projectId: "(project-[^"]+)"/.exec(attachApp!.code)?.[1];
    projectStytch = await startStytchEmulator({ projectId });
    const snapshotCommand = /npx (stytch-b2b-apigw-authorizer snapshot --out (\S+))`/.exec(attachApp!.code);
    expect(snapshotCommand?.[2]).toBe("stytch-snapshot.json");
    binOutput = (
      await promisify(execFile)("npx", ["--no", ...snapshotCommand![1]!.split(" ")], {
        cwd: app,
        env: {
          ...process.env,
          STYTCH_PROJECT_ID: projectStytch.projectId,
          STYTCH_SECRET: projectStytch.secret,
          STYTCH_API_URL: projectStytch.url,
        },
      })
    ).stdout;

    // Every document app synthesizes offline, with plain node, as `cdk synth` would run it.
    await Promise.all(
      TS_BLOCKS.filter(isCdkApp).map(async (block) => {
        const name = snippetFileName(block);
        const out = path.join(app, `cdk.out.${name}`);
        await promisify(execFile)(process.execPath, [path.join("out", name.replace(/\.ts$/, ".js"))], {
          cwd: app,
          env: { ...process.env, CDK_OUTDIR: out },
        }).catch((error: { stderr?: string }) => {
          throw new Error(`${block.file}:${block.line} does not synthesize:\n${error.stderr ?? error}`);
        });
        outputs.set(name, out);
      }),
    );
    const [attach] = readmeBlocks("Attach it to your API", "ts");
    cdkOut = outputs.get(snippetFileName(attach!))!;
    template = JSON.parse(readFileSync(path.join(cdkOut, "OrdersApi.template.json"), "utf8"));
  }, 300_000);

  afterAll(async () => {
    await projectStytch?.close();
  });

  const resourcesOf = (type: string) => Object.values(template.Resources).filter((r) => r.Type === type);

  test("every TypeScript block of the README and docs/ compiled as pasted, and every CDK app among them synthesized", () => {
    expect(TS_BLOCKS.length).toBeGreaterThanOrEqual(5);
    const apps = TS_BLOCKS.filter(isCdkApp);
    expect(apps.map((b) => b.file)).toEqual(expect.arrayContaining(["README.md", "docs/route-permissions.md"]));
    for (const block of apps) {
      const out = outputs.get(snippetFileName(block))!;
      expect(
        readdirSync(out).some((f) => f.endsWith(".template.json")),
        `${block.file}:${block.line}`,
      ).toBe(true);
    }
  });

  test("installed the package with its older aws-cdk-lib and without esbuild", () => {
    const installedCdk = JSON.parse(
      readFileSync(path.join(app, "node_modules", "aws-cdk-lib", "package.json"), "utf8"),
    );
    expect(installedCdk.version).toBe(OLDER_AWS_CDK_LIB);
    expect(installedCdk.version).not.toBe(PACKAGE.devDependencies["aws-cdk-lib"]);
    expect(existsSync(path.join(app, "node_modules", "esbuild"))).toBe(false);
    // No nested copy: the package uses the app's aws-cdk-lib and constructs (peer dependencies).
    expect(existsSync(path.join(app, "node_modules", PACKAGE.name, "node_modules"))).toBe(false);
    const lock = readFileSync(path.join(app, "package-lock.json"), "utf8");
    expect(lock).not.toMatch(/"node_modules\/(jose|@aws-sdk\/client-secrets-manager|@aws-lambda-powertools\/[a-z]+)"/);
  });

  test("the README's attach app puts the authorizer in front of the REST API and the HTTP API", () => {
    const [restAuthorizer] = resourcesOf("AWS::ApiGateway::Authorizer");
    expect(restAuthorizer!.Properties).toMatchObject({ Type: "REQUEST", AuthorizerResultTtlInSeconds: 0 });
    const [httpAuthorizer] = resourcesOf("AWS::ApiGatewayV2::Authorizer");
    expect(httpAuthorizer!.Properties).toMatchObject({
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

  test("the README's attach app gets the status table's gateway responses, with CORS for the API's origin", () => {
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

  test("the README's attach app outputs the command that puts the Stytch secret into its placeholder", () => {
    const outputs = (template as unknown as { Outputs: Record<string, { Value: unknown }> }).Outputs;
    const put = Object.entries(outputs).filter(([id]) => id.includes("PutStytchSecretCommand"));
    expect(put).toHaveLength(1);
    expect(JSON.stringify(put[0]![1].Value)).toContain("aws secretsmanager put-secret-value --region ");
  });

  test("the authorizer function deploys the package's prebuilt bundle", () => {
    const [authorizerFn] = resourcesOf("AWS::Lambda::Function").filter((f) =>
      /authorizer/.test(f.Properties.Description ?? ""),
    );
    expect(authorizerFn!.Properties).toMatchObject({
      Runtime: "nodejs24.x",
      Handler: "index.handler",
      Architectures: ["arm64"],
    });
    const bundle = readFileSync(
      path.join(app, "node_modules", PACKAGE.name, "dist", "assets", "authorizer", "index.js"),
    );
    const deployed = readdirSync(cdkOut)
      .filter((d) => d.startsWith("asset."))
      .filter((d) => {
        const file = path.join(cdkOut, d, "index.js");
        return existsSync(file) && readFileSync(file).equals(bundle);
      });
    expect(deployed).toHaveLength(1);
    expect(authorizerFn!.Properties.Code.S3Key).toContain(deployed[0]!.replace(/^asset\./, ""));
  });

  test("the package's bin wrote the snapshot, and the app ships it in the authorizer's layer and names it", () => {
    expect(binOutput).toContain(`wrote stytch-snapshot.json: project ${projectStytch!.projectId}, 1 key(s)`);
    const written = readFileSync(path.join(app, "stytch-snapshot.json"));
    const [authorizerFn] = resourcesOf("AWS::Lambda::Function").filter((f) =>
      /authorizer/.test(f.Properties.Description ?? ""),
    );
    expect(authorizerFn.Properties.Environment.Variables).toMatchObject({
      STYTCH_SNAPSHOT_FILE: "/opt/stytch-snapshot.json",
      STYTCH_SNAPSHOT_MAX_AGE_SECONDS: "2592000",
    });
    expect(authorizerFn.Properties.Layers).toHaveLength(1);
    const shipped = readdirSync(cdkOut).filter((d) => {
      const file = path.join(cdkOut, d, "stytch-snapshot.json");
      return d.startsWith("asset.") && existsSync(file) && readFileSync(file).equals(written);
    });
    expect(shipped).toHaveLength(1);
    const [layer] = resourcesOf("AWS::Lambda::LayerVersion").filter((l) =>
      /Stytch project snapshot/.test(l.Properties.Description ?? ""),
    );
    expect(layer!.Properties.Content.S3Key).toContain(shipped[0]!.replace(/^asset\./, ""));
  });

  test("the installed prebuilt authorizer answers from the bin's snapshot at once while Stytch never answers", async () => {
    const session = projectStytch!.createSession({ roles: ["viewer"] });
    projectStytch!.faults = { authenticate: "hang", jwks: "hang", rbac: "hang", exchange: "hang" };
    try {
      const bundle = path.join(app, "node_modules", PACKAGE.name, "dist", "assets", "authorizer", "index.js");
      const script = `require(${JSON.stringify(bundle)}).handler({ type: "TOKEN", authorizationToken: "Bearer " + process.env.TOKEN, methodArn: "arn:aws:execute-api:eu-west-1:123456789012:abc/prod/GET/orders" }).then((r) => { console.log(JSON.stringify(r)); process.exit(0); }, (e) => { console.log(JSON.stringify({ error: e.message })); process.exit(0); })`;
      const { stdout } = await promisify(execFile)(process.execPath, ["-e", script], {
        cwd: app,
        env: {
          PATH: process.env.PATH,
          STYTCH_PROJECT_ID: projectStytch!.projectId,
          STYTCH_SECRET: projectStytch!.secret,
          STYTCH_API_URL: projectStytch!.url,
          STYTCH_SNAPSHOT_FILE: path.join(app, "stytch-snapshot.json"),
          // The emulator never answers: an Allow proves no Stytch answer was waited for (timeouts at their maximum).
          STYTCH_JWKS_TIMEOUT_MS: "10000",
          STYTCH_API_TIMEOUT_MS: "10000",
          POWERTOOLS_LOG_LEVEL: "ERROR",
          TOKEN: session.sessionJwt,
        },
      });
      const response = JSON.parse(stdout.trim().split("\n").pop() ?? "{}");
      expect(response).toMatchObject({
        principalId: session.memberId,
        policyDocument: { Statement: [{ Effect: "Allow" }] },
        context: { member_id: session.memberId, auth_method: "jwt" },
      });
      expect(projectStytch!.calls.authenticate).toBe(0);
    } finally {
      projectStytch!.faults = { authenticate: "none", jwks: "none", rbac: "none", exchange: "none" };
    }
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
      const bundle = path.join(app, "node_modules", PACKAGE.name, "dist", "assets", "authorizer", "index.js");
      // After the answer, which internal modules the Stytch call loaded: not undici (the global fetch's).
      const script = `require(${JSON.stringify(bundle)}).handler({ type: "TOKEN", authorizationToken: "Bearer " + process.env.TOKEN, methodArn: "arn:aws:execute-api:eu-west-1:123456789012:abc/prod/GET/orders" }).then((r) => console.log(JSON.stringify({ ...r, undici: process.moduleLoadList.filter((m) => /undici/.test(m)) })), (e) => { console.log(JSON.stringify({ error: e.message })); })`;
      const { stdout } = await promisify(execFile)(process.execPath, ["-e", script], {
        cwd: app,
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
      expect(response.undici).toEqual([]);
    });

    test("its first log line and its first metric record tell the same cold start", async () => {
      const bundle = path.join(app, "node_modules", PACKAGE.name, "dist", "assets", "authorizer", "index.js");
      const context = `{ awsRequestId: "r-" + i, functionName: "auth", functionVersion: "$LATEST", invokedFunctionArn: "arn:aws:lambda:eu-west-1:123456789012:function:auth", memoryLimitInMB: "512", getRemainingTimeInMillis: () => 5000 }`;
      const script = `(async () => { const { handler } = require(${JSON.stringify(bundle)}); for (const i of [1, 2]) await handler({ type: "TOKEN", authorizationToken: "Bearer sometoken", methodArn: "arn:aws:execute-api:eu-west-1:123456789012:abc/prod/GET/orders" }, ${context}).catch(() => undefined); })()`;
      const lines = async (initializationType: string) => {
        const { stdout } = await promisify(execFile)(process.execPath, ["-e", script], {
          cwd: app,
          env: {
            PATH: process.env.PATH,
            AWS_LAMBDA_INITIALIZATION_TYPE: initializationType,
            STYTCH_PROJECT_ID: stytch.projectId,
            STYTCH_SECRET: stytch.secret,
            STYTCH_API_URL: stytch.url,
          },
        });
        return stdout
          .trim()
          .split("\n")
          .map((line) => JSON.parse(line) as Record<string, unknown>);
      };
      const onDemand = await lines("on-demand");
      const denials = onDemand.filter((l) => l.message === "request denied");
      const records = onDemand.filter((l) => "_aws" in l);
      expect(denials.map((l) => [l.function_request_id, l.cold_start, l.reason])).toEqual([
        ["r-1", true, "malformed"],
        ["r-2", false, "malformed"],
      ]);
      expect(records.map((r) => r.ColdStart)).toEqual([1, undefined]);
      const provisioned = await lines("provisioned-concurrency");
      expect(provisioned.filter((l) => l.message === "request denied").map((l) => l.cold_start)).toEqual([
        false,
        false,
      ]);
      expect(provisioned.filter((l) => "_aws" in l && "ColdStart" in l)).toEqual([]);
    });
  });

  test.skipIf(!cfnLintAvailable() && process.env.CI !== "true")(
    "cfn-lint finds no errors in the attach app's template",
    () => {
      const result = spawnSync(
        "cfn-lint",
        ["--non-zero-exit-code", "error", "--", path.join(cdkOut, "OrdersApi.template.json")],
        { encoding: "utf8" },
      );
      expect(result.error).toBeUndefined();
      expect(result.stdout + result.stderr, "cfn-lint errors").not.toMatch(/^E\d+/m);
      expect(result.status).toBe(0);
    },
  );
});

describe("a Lambda-only app that installs the tarball", () => {
  let app: string;
  let stytch: StytchEmulator;
  useStytchEmulator((emulator) => (stytch = emulator));

  beforeAll(() => {
    app = path.join(root, "lambda-app");
    mkdirSync(app);
    writeFileSync(
      path.join(app, "package.json"),
      JSON.stringify({
        name: "lambda-consumer",
        private: true,
        devDependencies: {
          "@types/aws-lambda": PACKAGE.devDependencies["@types/aws-lambda"],
          "@types/node": PACKAGE.devDependencies["@types/node"],
        },
      }),
    );
    run("npm", ["install", tarball, "--no-audit", "--no-fund", "--prefer-offline", "--loglevel=error"], app);
    // The README's member reader, and every other document block that needs no CDK, as pasted.
    const files = TS_BLOCKS.filter(isLambdaSide).map((block) => {
      const name = snippetFileName(block);
      writeFileSync(path.join(app, name), block.code);
      return name;
    });
    const handlers = readFileSync(path.join(REPO, "test", "types", "member-context-handlers.ts"), "utf8");
    writeFileSync(
      path.join(app, "handlers.ts"),
      handlers.replace('from "../../lambda/index"', `from "${PACKAGE.name}"`),
    );
    compile(app, [...files, "handlers.ts"], ["node"]); // @types/aws-lambda itself needs Node's types
  }, 300_000);

  test("installs neither aws-cdk-lib nor constructs", () => {
    for (const peer of ["aws-cdk-lib", "constructs"]) {
      expect(existsSync(path.join(app, "node_modules", peer)), peer).toBe(false);
    }
    const lock = readFileSync(path.join(app, "package-lock.json"), "utf8");
    expect(lock).not.toMatch(/"node_modules\/(aws-cdk-lib|constructs)"/);
  });

  test("runs the README's handler on the context the package's own authorizer produced: 200 for an admin, 403 for a viewer", async () => {
    const [reader] = readmeBlocks("Read the member", "ts");
    const compiled = path.join(app, "out", snippetFileName(reader!).replace(/\.ts$/, ".js"));
    const bundle = path.join(app, "node_modules", PACKAGE.name, "dist", "assets", "authorizer", "index.js");
    // The authorizer's context, then the REST proxy event API Gateway builds from it (values as strings).
    const script = `(async () => {
      const authorizer = require(${JSON.stringify(bundle)});
      const { handler } = require(${JSON.stringify(compiled)});
      const answer = await authorizer.handler({ type: "TOKEN", authorizationToken: "Bearer " + process.env.TOKEN, methodArn: "arn:aws:execute-api:eu-west-1:123456789012:abc/prod/GET/orders" });
      const context = Object.fromEntries(Object.entries(answer.context).map(([k, v]) => [k, String(v)]));
      const event = { httpMethod: "GET", path: "/orders", headers: {}, requestContext: { requestId: "r-1", authorizer: { ...context, principalId: answer.principalId } } };
      console.log(JSON.stringify(await handler(event)));
    })()`;
    const call = async (roles: string[], email: string) => {
      const session = stytch.createSession({ roles, email, organizationSlug: "acme" });
      const { stdout } = await promisify(execFile)(process.execPath, ["-e", script], {
        cwd: app,
        env: {
          PATH: process.env.PATH,
          STYTCH_PROJECT_ID: stytch.projectId,
          STYTCH_SECRET: stytch.secret,
          STYTCH_API_URL: stytch.url,
          POWERTOOLS_LOG_LEVEL: "ERROR",
          TOKEN: session.sessionJwt,
        },
      });
      return JSON.parse(stdout.trim().split("\n").pop() ?? "{}") as { statusCode: number; body: string };
    };
    const admin = await call(["admin"], "ada@example.com");
    expect(admin.statusCode).toBe(200);
    expect(JSON.parse(admin.body)).toEqual({ hello: "ada@example.com", org: "acme" });
    expect(await call(["viewer"], "grace@example.com")).toEqual({ statusCode: 403, body: "admins only" });
  });
});

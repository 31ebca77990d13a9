// The README and docs/ against the code: the README's first screen and walkthrough are what `npm start` prints,
// every link resolves, and the numbers and contracts the documents state are the code's. (That every TypeScript
// block compiles as pasted is test/consumer.test.ts's job: it needs the packed package.)

import { readFileSync } from "node:fs";
import * as path from "node:path";
import { App, Stack } from "aws-cdk-lib";
import { Template } from "aws-cdk-lib/assertions";
import * as lambda from "aws-cdk-lib/aws-lambda";
import { describe, expect, test } from "vitest";
import { API_ROUTES } from "../infra/demo/routes";
import { MAX_BUNDLE_BYTES } from "../infra/lambda-defaults";
import { StytchAuthorizer } from "../infra/stytch-authorizer";
import { StytchMonitoring } from "../infra/stytch-monitoring";
import { MalformedCredentialError } from "../lambda/lib/errors";
import { METRIC, OUTCOMES, type PATHS } from "../lambda/lib/operations/metric-names";
import { UNAVAILABLE_BODY } from "../lambda/lib/response/unavailable";
import { classifyCredential, findCredential } from "../lambda/lib/session/credentials";
import { ENVIRONMENT_VARIABLE } from "../lambda/lib/settings";
import { DecisionSummary } from "../local/decision-summary";
import { curlWalkthrough, machineWalkthrough } from "../local/walkthrough";
import { docBlocks, documents, documentText, REPO } from "./support/doc-snippets";

const readme = documentText("README.md");
const PROJECT_ID = "project-test-00000000-0000-0000-0000-000000000000";

describe("the README", () => {
  test("starts with the two commands of a fresh machine", () => {
    const firstBlock = /```bash\n([\s\S]*?)```/.exec(readme)?.[1] ?? "";
    expect(firstBlock).toMatch(/^npm install && npm start\b/m);
    expect(firstBlock).toMatch(/^npm test\b/m);
  });

  test("docs/walkthrough.md shows exactly the curl walkthrough that npm start prints on the default port", () => {
    const printed = curlWalkthrough({ url: "http://127.0.0.1:3000", routes: API_ROUTES }).join("\n");
    expect(documentText("docs/walkthrough.md")).toContain(printed);
  });

  test("is short: at most about 250 lines, with the deeper topics in docs/, each page linked", () => {
    expect(readme.trimEnd().split("\n").length).toBeLessThanOrEqual(250);
    for (const page of documents().filter((file) => file.startsWith("docs/")))
      expect(readme, `README links ${page}`).toContain(`](${page})`);
  });

  test('"Attach it to your API" is one complete app file that imports the package (the consumer test compiles and synthesizes it)', () => {
    const blocks = docBlocks(["README.md"]).filter((b) => b.section === "Attach it to your API" && b.language === "ts");
    expect(blocks).toHaveLength(1);
    const [app] = blocks.map((b) => b.code);
    expect(app).toMatch(/^import /);
    expect(app).toMatch(/^import \{ StytchAuthorizer, StytchSnapshot \} from "stytch-b2b-apigw-authorizer\/cdk";$/m);
    expect(app!.trimEnd()).toMatch(/\napp\.synth\(\);$/);
    expect(app).not.toContain("…");
  });

  test(".ci/run runs the README's test command", () => {
    const ci = readFileSync(path.join(REPO, ".ci", "run"), "utf8");
    expect(ci).toMatch(/^npm test$/m);
  });
});

describe("the README and docs/", () => {
  test("every relative link points at a file that exists, and every #anchor at one of its headings", () => {
    const broken: string[] = [];
    for (const file of documents()) {
      const text = documentText(file).replace(/```[\s\S]*?```/g, "");
      for (const [, target] of text.matchAll(/\]\(([^)\s]+)\)/g)) {
        if (/^[a-z]+:/.test(target!)) continue; // https:, mailto:
        const [relative, anchor] = target!.split("#") as [string, string | undefined];
        const linked =
          relative === "" ? file : path.posix.normalize(path.posix.join(path.posix.dirname(file), relative));
        let text: string;
        try {
          text = documentText(linked);
        } catch {
          broken.push(`${file}: ${target} (no such file)`);
          continue;
        }
        if (anchor !== undefined && linked.endsWith(".md") && !anchorsOf(text).has(anchor))
          broken.push(`${file}: ${target} (no such heading)`);
      }
    }
    expect(broken).toEqual([]);
  });

  test("every JSON block parses", () => {
    for (const block of docBlocks().filter((b) => b.language === "json"))
      expect(() => JSON.parse(block.code), `${block.file}:${block.line}`).not.toThrow();
  });

  test("every TypeScript block is a complete module (the consumer test compiles each one as pasted)", () => {
    const blocks = docBlocks().filter((b) => b.language === "ts");
    expect(blocks.length).toBeGreaterThan(0);
    for (const block of blocks) expect(block.code, `${block.file}:${block.line}`).toMatch(/^import /m);
  });
});

test("docs/walkthrough.md shows exactly the machine walkthrough npm start prints", () => {
  const printed = machineWalkthrough({ url: "http://127.0.0.1:3000", routes: API_ROUTES }).join("\n");
  expect(printed).toContain("/dev/m2m-client");
  expect(documentText("docs/walkthrough.md")).toContain(printed);
});

describe("the numbers and contracts the documents state are the code's", () => {
  test("the bundle budget", () => {
    expect(readme).toContain(`under the ${MAX_BUNDLE_BYTES / 1024} KiB budget`);
  });

  test("which credentials go to Stytch: a dot makes a JWT, 24 to 128 base64url characters an opaque token, anything else is a local 401", () => {
    const page = documentText("docs/how-a-request-is-decided.md");
    expect(page).toContain("**24 to 128 base64url characters**");
    expect(page).toContain("`Bearer sometoken` for instance, is a local **401** with reason `malformed`");
    const kind = (value: string) => {
      try {
        return classifyCredential(value, "authorization").kind;
      } catch (error) {
        return error instanceof MalformedCredentialError ? "malformed" : "?";
      }
    };
    expect(kind("a".repeat(23))).toBe("malformed");
    expect(kind("a".repeat(24))).toBe("session_token");
    expect(kind(`${"a".repeat(128)}==`)).toBe("session_token");
    expect(kind("a".repeat(129))).toBe("malformed");
    expect(kind("x.y.z")).toBe("session_jwt");
    expect(() => findCredential({ headers: { Authorization: "Bearer sometoken" } }, NAMES)).toThrow(
      MalformedCredentialError,
    );
  });

  test("the 503 body, the same for the authorizer and the refresh endpoint", () => {
    const body = JSON.stringify(UNAVAILABLE_BODY);
    expect(readme).toContain(`\`${body}\``);
    for (const page of ["docs/how-a-request-is-decided.md", "docs/browser.md", "docs/security-model.md"])
      expect(documentText(page), page).toContain(`\`${body}\``);
  });

  test("npm start's exit summary, as docs/operations.md shows it", () => {
    const example = /`(decisions: [^`]+)`/.exec(documentText("docs/operations.md"))?.[1] ?? "";
    // Render the example's own counts with the real summary: the same line, every outcome in the metric's order.
    const summary = new DecisionSummary();
    for (const outcome of OUTCOMES) {
      const part = new RegExp(`(\\d+) ${outcome}(?: \\(([^)]*)\\))?`).exec(example);
      expect(part, `${outcome} in ${example}`).not.toBeNull();
      for (const entry of part![2]?.split(", ") ?? []) {
        const [path, count] = entry.split(" ") as [(typeof PATHS)[number], string];
        for (let i = 0; i < Number(count); i++) summary.add({ outcome, path });
      }
    }
    expect(summary.line()).toBe(example);
  });

  test("the default alarms: their runbook entries, and what they cost (9 alarm metrics, 10 when the refresh function is watched too)", () => {
    const alarmMetrics = (stack: Stack) =>
      Object.values(Template.fromStack(stack).toJSON().Resources as Record<string, any>)
        .filter((r) => r.Type === "AWS::CloudWatch::Alarm")
        .reduce((sum, r) => sum + (r.Properties.Metrics?.filter((m: any) => m.MetricStat).length ?? 1), 0);
    const app = new App({ context: { "aws:cdk:bundling-stacks": [] }, builtinCloudFormationValidation: false });
    const own = new Stack(app, "Own");
    new StytchAuthorizer(own, "Auth", { projectId: PROJECT_ID });
    const both = new Stack(app, "Both");
    const auth = new StytchAuthorizer(both, "Auth", { projectId: PROJECT_ID, monitoring: false });
    const refresh = new lambda.Function(both, "Refresh", {
      runtime: lambda.Runtime.NODEJS_24_X,
      handler: "index.handler",
      code: lambda.Code.fromInline("exports.handler = async () => ({})"),
    });
    new StytchMonitoring(both, "Monitoring", { authorizerFunction: auth.function, refreshFunction: refresh });
    // Each alarm names its runbook entry, and docs/operations.md has it.
    const runbooks = Object.values(Template.fromStack(own).toJSON().Resources as Record<string, any>)
      .filter((r) => r.Type === "AWS::CloudWatch::Alarm")
      .map((r) => /Runbook: docs\/operations\.md, "([^"]+)"\.$/.exec(r.Properties.AlarmDescription)?.[1]);
    expect(runbooks).toHaveLength(5);
    for (const name of runbooks) expect(documentText("docs/operations.md")).toContain(`| **${name}** — `);
    expect(alarmMetrics(own)).toBe(9);
    expect(alarmMetrics(both)).toBe(10);
    expect(readme).toContain("five CloudWatch alarms (9 alarm metrics)");
    expect(documentText("docs/operations.md")).toContain("five alarms: 9 alarm metrics");
    expect(documentText("docs/operations.md")).toContain(
      "(10 metrics, US$1.00, when the refresh function is watched too)",
    );
  });

  test("every metric and reason code the handlers write is in docs/operations.md, and every variable they read in docs/configuration.md", () => {
    const operations = documentText("docs/operations.md");
    for (const name of Object.values(METRIC)) expect(operations, name).toContain(`\`${name}\``);
    // The reason codes, read from their one definition (a type, so from its source).
    const errors = readFileSync(path.join(REPO, "lambda", "lib", "errors.ts"), "utf8");
    const union = /export type ReasonCode =([\s\S]*?"[a-z_]+";)/.exec(errors)?.[1] ?? "";
    const reasons = [...union.matchAll(/\| "([a-z_]+)"/g)].map((m) => m[1]!);
    expect(reasons.length).toBeGreaterThan(20);
    for (const reason of reasons) expect(operations, reason).toContain(`\`${reason}\``);
    const configuration = documentText("docs/configuration.md");
    for (const name of Object.values(ENVIRONMENT_VARIABLE)) expect(configuration, name).toContain(`\`${name}\``);
  });

  test("the Node.js versions: what the README says, what package.json says, and what every locked dependency accepts", () => {
    const pkg = JSON.parse(readFileSync(path.join(REPO, "package.json"), "utf8")) as { engines: { node: string } };
    const minimum = /^>=(\d+\.\d+)$/.exec(pkg.engines.node)?.[1];
    expect(minimum, "engines.node is a plain minimum").toBeDefined();
    expect(readme).toContain(`Node.js ${minimum} or newer runs \`npm install\``);
    // npm warns EBADENGINE for any installed package whose engines leave that version out.
    const lock = JSON.parse(readFileSync(path.join(REPO, "package-lock.json"), "utf8")) as {
      packages: Record<string, { engines?: { node?: string } | string[] }>;
    };
    const refusing = Object.entries(lock.packages)
      .filter(([name, entry]) => name !== "" && !Array.isArray(entry.engines) && entry.engines?.node !== undefined)
      .filter(([, entry]) => !admits((entry.engines as { node: string }).node, `${minimum}.0`))
      .map(([name, entry]) => `${name}: ${(entry.engines as { node: string }).node}`);
    expect(refusing).toEqual([]);
  });
});

const NAMES = { jwtCookieName: "stytch_session_jwt", sessionCookieName: "stytch_session" };

/** GitHub's heading anchors of a Markdown text. */
function anchorsOf(markdown: string): Set<string> {
  const anchors = new Set<string>();
  for (const [, heading] of markdown.replace(/```[\s\S]*?```/g, "").matchAll(/^#{1,6} (.+)$/gm)) {
    anchors.add(
      heading!
        .trim()
        .toLowerCase()
        .replace(/[^\p{L}\p{N}\s_-]/gu, "")
        .replace(/\s/g, "-"),
    );
  }
  return anchors;
}

/**
 * Whether a package's `engines.node` range admits a version: the forms npm's lock files carry (`>=20`, `^20.19.0`,
 * `~1.2.3`, `18 || 20 || >=22`, `10.*`, `>= 10.*`, `*`). Anything else fails loudly, to be taught here.
 */
function admits(range: string, version: string): boolean {
  const v = version.split(".").map(Number) as [number, number, number];
  const compare = (a: readonly number[], b: readonly number[]) => {
    for (let i = 0; i < 3; i++) if ((a[i] ?? 0) !== (b[i] ?? 0)) return (a[i] ?? 0) - (b[i] ?? 0);
    return 0;
  };
  return range.split("||").some((set) =>
    set
      .trim()
      .replace(/(>=|<=|>|<|=|\^|~)\s+/g, "$1")
      .split(/\s+/)
      .every((comparator) => {
        const match = /^(>=|<=|>|<|=|\^|~)?v?(\*|x|\d+)(?:\.(\*|x|\d+))?(?:\.(\*|x|\d+))?$/.exec(comparator);
        if (!match) throw new Error(`teach admits() the engines range ${JSON.stringify(range)}`);
        const [, op = "", ...parts] = match;
        const given = parts.filter((p): p is string => p !== undefined && p !== "*" && p !== "x").map(Number);
        if (given.length === 0) return true; // *
        const lower = [given[0]!, given[1] ?? 0, given[2] ?? 0];
        // The first version past a partial one: 20 → 21.0.0, 20.19 → 20.20.0.
        const pastPartial = given.length === 3 ? undefined : given.map((n, i) => (i === given.length - 1 ? n + 1 : n));
        switch (op) {
          case ">=":
            return compare(v, lower) >= 0;
          case ">":
            return pastPartial ? compare(v, pastPartial) >= 0 : compare(v, lower) > 0;
          case "<":
            return compare(v, lower) < 0;
          case "<=":
            return pastPartial ? compare(v, pastPartial) < 0 : compare(v, lower) <= 0;
          case "^":
            return compare(v, lower) >= 0 && v[0] === lower[0];
          case "~":
            return compare(v, lower) >= 0 && v[0] === lower[0] && v[1] === lower[1];
          default:
            return pastPartial ? compare(v, lower) >= 0 && compare(v, pastPartial) < 0 : compare(v, lower) === 0;
        }
      }),
  );
}

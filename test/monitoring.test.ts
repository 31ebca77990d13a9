// The monitoring construct: its alarms and dashboard watch exactly the metrics the real handlers emit
// (checked against EMF captured from the handlers, run against the Stytch emulator), its defaults,
// overrides and opt-outs, the demo stack's wiring, and cdk-nag.

import { App, Duration, Stack, Validations } from "aws-cdk-lib";
import { Template } from "aws-cdk-lib/assertions";
import * as iam from "aws-cdk-lib/aws-iam";
import * as lambda from "aws-cdk-lib/aws-lambda";
import * as sns from "aws-cdk-lib/aws-sns";
import { AwsSolutionsChecks } from "cdk-nag";
import { afterAll, beforeAll, describe, expect, test, vi } from "vitest";
import { FEATURE_FLAGS } from "../infra/demo/feature-flags";
import { StytchApiStack } from "../infra/demo/stytch-api-stack";
import { StytchMonitoring, type StytchMonitoringProps } from "../infra/stytch-monitoring";
import { createAuthorizer, UPSTREAM_FAULT } from "../lambda/authorizer";
import {
  DEFAULT_METRICS_NAMESPACE,
  DIMENSION,
  METRIC,
  OUTCOMES,
  PATHS,
  SERVICE_NAMES,
  STYTCH_ERROR_CLASSES,
} from "../lambda/lib/operations/metric-names";
import { createRefreshHandler } from "../lambda/refresh";
import type { StytchEmulator } from "../local/stytch-emulator";
import { restRequestEvent } from "./support/authorizer-events";
import { UNHURRIED_TIMEOUTS, useStytchEmulator } from "./support/fixtures";
import { foreignPrivateKey } from "./support/forgeries";

type Resources = Record<string, { Type: string; Properties: Record<string, any> }>;

/** A metric a template refers to, in our namespace: its name, its dimensions, and where it was found. */
interface MetricReference {
  readonly name: string;
  readonly dimensions: Record<string, string>;
  readonly where: string;
}

function fastApp(nag = false): App {
  const app = new App({
    context: { ...FEATURE_FLAGS, "aws:cdk:bundling-stacks": [] },
    builtinCloudFormationValidation: false,
  });
  if (nag) Validations.of(app).addPlugins(new AwsSolutionsChecks(app));
  return app;
}

/** A stack with two plain functions and the monitoring construct. */
function monitoredStack(
  props: Partial<StytchMonitoringProps> = {},
  app = fastApp(),
): { stack: Stack; monitoring: StytchMonitoring; template: Template } {
  const stack = new Stack(app, "Monitored");
  const fn = (id: string) =>
    new lambda.Function(stack, id, {
      runtime: lambda.Runtime.NODEJS_24_X,
      handler: "index.handler",
      code: lambda.Code.fromInline("exports.handler = async () => ({})"),
      timeout: Duration.seconds(10),
      // No AWS managed policy, so cdk-nag judges the monitoring and nothing else.
      role: new iam.Role(stack, `${id}Role`, { assumedBy: new iam.ServicePrincipal("lambda.amazonaws.com") }),
    });
  const monitoring = new StytchMonitoring(stack, "Monitoring", {
    authorizerFunction: fn("Authorizer"),
    refreshFunction: fn("Refresh"),
    ...props,
  });
  return { stack, monitoring, template: Template.fromStack(stack) };
}

/** Every metric of `namespace` that the alarms and the dashboard of a template refer to. */
function metricReferences(
  template: Template,
  namespace: string,
): { metrics: MetricReference[]; searches: Array<{ schema: string[]; name: string }> } {
  const metrics: MetricReference[] = [];
  const searches: Array<{ schema: string[]; name: string }> = [];
  const dims = (list: Array<{ Name: string; Value: string }> | undefined) =>
    Object.fromEntries((list ?? []).map((d) => [d.Name, d.Value]));
  const resources = template.toJSON().Resources as Resources;
  for (const [id, r] of Object.entries(resources)) {
    if (r.Type === "AWS::CloudWatch::Alarm") {
      const p = r.Properties;
      if (p.MetricName && p.Namespace === namespace)
        metrics.push({ name: p.MetricName, dimensions: dims(p.Dimensions), where: id });
      for (const m of p.Metrics ?? []) {
        const metric = m.MetricStat?.Metric;
        if (metric?.Namespace === namespace)
          metrics.push({ name: metric.MetricName, dimensions: dims(metric.Dimensions), where: id });
      }
    }
    if (r.Type === "AWS::CloudWatch::Dashboard") {
      const body = r.Properties.DashboardBody;
      const text: string =
        typeof body === "string"
          ? body
          : body["Fn::Join"][1].map((part: unknown) => (typeof part === "string" ? part : "TOKEN")).join("");
      for (const widget of JSON.parse(text).widgets) {
        for (const entry of widget.properties?.metrics ?? []) {
          const [first] = entry as unknown[];
          if (typeof first === "object" && first !== null && "expression" in first) {
            for (const match of String((first as { expression: string }).expression).matchAll(
              /SEARCH\('\{([^}]*)\} MetricName="([^"]+)"/g,
            )) {
              const [ns, ...schema] = match[1]!.split(",");
              if (ns === namespace) searches.push({ schema, name: match[2]! });
            }
            continue;
          }
          if (first !== namespace) continue;
          const strings = (entry as unknown[]).filter((x): x is string => typeof x === "string");
          const dimensions: Record<string, string> = {};
          for (let i = 2; i + 1 < strings.length; i += 2) dimensions[strings[i]!] = strings[i + 1]!;
          metrics.push({ name: strings[1]!, dimensions, where: `${id}: ${widget.properties.title}` });
        }
      }
    }
  }
  return { metrics, searches };
}

// ---------------------------------------------------------------------------------------------------
// What the handlers emit: EMF captured from real invocations against the emulator.
// ---------------------------------------------------------------------------------------------------

let stytch: StytchEmulator;
useStytchEmulator((emulator) => (stytch = emulator));

/** metric name → every dimension set (keys, sorted, joined by ",") it was published under. */
const emitted = new Map<string, Set<string>>();

type EmfRecord = Record<string, any>;

/**
 * Runs `work` with metrics on, in what the handlers take for an on-demand Lambda container (the only kind with a
 * cold start), and returns the EMF records they wrote meanwhile (log lines are dropped).
 */
async function captureEmf(work: () => Promise<void>): Promise<EmfRecord[]> {
  const saved = process.env.POWERTOOLS_METRICS_DISABLED;
  process.env.POWERTOOLS_METRICS_DISABLED = "false";
  vi.stubEnv("AWS_LAMBDA_INITIALIZATION_TYPE", "on-demand");
  const records: EmfRecord[] = [];
  const spies = (["log", "info", "warn", "error", "debug"] as const).map((method) =>
    vi.spyOn(console, method).mockImplementation((...args: unknown[]) => {
      try {
        const parsed = JSON.parse(args.map(String).join(" "));
        if (parsed && typeof parsed === "object" && "_aws" in parsed) records.push(parsed);
      } catch {
        // a log line
      }
    }),
  );
  try {
    await work();
  } finally {
    for (const spy of spies) spy.mockRestore();
    vi.unstubAllEnvs();
    if (saved === undefined) delete process.env.POWERTOOLS_METRICS_DISABLED;
    else process.env.POWERTOOLS_METRICS_DISABLED = saved;
  }
  return records;
}

const emulatorEnv = () => ({
  STYTCH_PROJECT_ID: stytch.projectId,
  STYTCH_SECRET: stytch.secret,
  STYTCH_API_URL: stytch.url,
  ...UNHURRIED_TIMEOUTS,
});

/** A JWT signed with an attacker's own key under an invented kid, issued just now: it could be a key Stytch has just published. */
function inventedKidJwt(memberSessionId: string, i: number): string {
  return stytch.signJwt(
    { alg: "RS256", kid: `jwk-test-invented-${i}`, typ: "JWT" },
    stytch.sessionPayload(memberSessionId),
    { key: foreignPrivateKey() },
  );
}

beforeAll(async () => {
  const records = await captureEmf(async () => {
    const env = emulatorEnv();
    const session = stytch.createSession();
    const authorizer = createAuthorizer(env);
    const call = (token?: string) =>
      authorizer(restRequestEvent(token ? { Authorization: `Bearer ${token}` } : {})).catch(() => undefined);
    await call(session.sessionJwt); // allow, local, cold start, key-set download
    await call(session.sessionToken); // allow, remote
    await call(
      stytch.signJwt(
        { alg: "RS256", kid: stytch.currentKid, typ: "JWT" },
        stytch.sessionPayload(session.memberSessionId),
        { key: foreignPrivateKey() },
      ),
    ); // deny
    await call(); // deny, none
    await call(inventedKidJwt(session.memberSessionId, 0)); // unproven, local
    stytch.faults.authenticate = "500";
    await call(session.sessionToken); // fault with Stytch errors
    stytch.faults.authenticate = "none";
    stytch.faults.jwks = "500";
    await createAuthorizer(env)(restRequestEvent({ Authorization: `Bearer ${session.sessionJwt}` })); // failed key-set download
    stytch.faults.jwks = "none";
    // A rotation, in a fresh container (the first one refetched for the invented kid moments ago).
    const rotated = createAuthorizer(env);
    await rotated(restRequestEvent({ Authorization: `Bearer ${session.sessionJwt}` }));
    stytch.rotateKeys();
    await rotated(restRequestEvent({ Authorization: `Bearer ${stytch.createSession().sessionJwt}` })); // KeySetRotations
    const refresh = createRefreshHandler({ ...env, REFRESH_ALLOWED_ORIGINS: "https://app.example.com" });
    await refresh({
      httpMethod: "POST",
      headers: {},
      multiValueHeaders: {},
      body: JSON.stringify({ session_token: session.sessionToken }),
      isBase64Encoded: false,
    } as never);
  });
  for (const record of records) {
    const directive = record._aws.CloudWatchMetrics[0];
    for (const { Name } of directive.Metrics) {
      const sets = emitted.get(Name) ?? new Set<string>();
      for (const set of directive.Dimensions as string[][]) sets.add([...set].sort().join(","));
      emitted.set(Name, sets);
    }
  }
});

const VOCABULARY: Record<string, readonly string[]> = {
  [DIMENSION.service]: Object.values(SERVICE_NAMES),
  [DIMENSION.outcome]: OUTCOMES,
  [DIMENSION.path]: PATHS,
  [DIMENSION.errorClass]: STYTCH_ERROR_CLASSES,
};

describe("alarms and dashboard watch what the handlers emit", () => {
  test("the metric names referenced are exactly the names emitted, each under a dimension set the handlers publish", () => {
    const { template } = monitoredStack({ dashboard: true });
    const { metrics, searches } = metricReferences(template, DEFAULT_METRICS_NAMESPACE);
    expect(metrics.length).toBeGreaterThan(10);
    expect(new Set(metrics.map((m) => m.name))).toEqual(new Set(emitted.keys()));
    for (const reference of metrics) {
      const keys = Object.keys(reference.dimensions).sort().join(",");
      expect(emitted.get(reference.name), `${reference.name} in ${reference.where}`).toContain(keys);
      for (const [name, value] of Object.entries(reference.dimensions))
        expect(VOCABULARY[name], `${name} in ${reference.where}`).toContain(value);
    }
    expect(searches.length).toBeGreaterThan(0);
    for (const search of searches) expect(emitted.get(search.name)).toContain([...search.schema].sort().join(","));
  });

  test("a custom namespace reaches the functions, the alarms and the dashboard", () => {
    const { template } = monitoredStack({ namespace: "Acme/Auth", dashboard: true });
    expect(metricReferences(template, DEFAULT_METRICS_NAMESPACE).metrics).toEqual([]);
    expect(metricReferences(template, "Acme/Auth").metrics.length).toBeGreaterThan(10);
    const functions = Object.values(template.toJSON().Resources as Resources).filter(
      (r) => r.Type === "AWS::Lambda::Function",
    );
    expect(functions.map((f) => f.Properties.Environment.Variables)).toEqual([
      { POWERTOOLS_METRICS_NAMESPACE: "Acme/Auth", POWERTOOLS_SERVICE_NAME: SERVICE_NAMES.authorizer },
      { POWERTOOLS_METRICS_NAMESPACE: "Acme/Auth", POWERTOOLS_SERVICE_NAME: SERVICE_NAMES.refresh },
    ]);
  });

  test("an invalid namespace fails synthesis", () => {
    expect(() => monitoredStack({ namespace: "AWS/Lambda" })).toThrow(/namespace/);
  });
});

/** The sum, over EMF records, of one metric published under exactly the given dimensions (as CloudWatch would store it). */
function sumOf(records: readonly EmfRecord[], name: string, dimensions: Record<string, string>): number | undefined {
  const keys = Object.keys(dimensions).sort().join(",");
  let sum: number | undefined;
  for (const record of records) {
    const directive = record._aws.CloudWatchMetrics[0];
    if (!directive.Metrics.some((m: { Name: string }) => m.Name === name)) continue;
    const published = (directive.Dimensions as string[][]).some((set) => [...set].sort().join(",") === keys);
    if (!published || !Object.entries(dimensions).every(([key, value]) => record[key] === value)) continue;
    const values = ([] as number[]).concat(record[name]);
    sum = (sum ?? 0) + values.reduce((a, b) => a + b, 0);
  }
  return sum;
}

/**
 * The value the fault-rate alarm would see for one period holding `records`: its metric math, evaluated over
 * the Sum of each metric it reads, taken from the synthesized template (not from a copy of the expression).
 */
function faultRateSeenBy(template: Template, records: readonly EmfRecord[]): { value: number; threshold: number } {
  const alarm = Object.values(template.toJSON().Resources as Resources).find(
    (r) => r.Type === "AWS::CloudWatch::Alarm" && String(r.Properties.AlarmDescription).includes("were faults"),
  )!.Properties;
  const values: Record<string, number | undefined> = {};
  for (const m of alarm.Metrics.filter((m: any) => m.MetricStat)) {
    expect(m.MetricStat.Stat).toBe("Sum");
    const metric = m.MetricStat.Metric;
    values[m.Id] = sumOf(
      records,
      metric.MetricName,
      Object.fromEntries(metric.Dimensions.map((d: { Name: string; Value: string }) => [d.Name, d.Value])),
    );
  }
  const expression: string = alarm.Metrics.find((m: any) => m.Expression).Expression;
  // Only what the expression uses: IF, FILL(x, 0), + - * /, >= and numbers.
  const js = expression
    .replace(/FILL\((\w+), 0\)/g, (_, id: string) => `(${values[id] ?? 0})`)
    .replace(/\b([a-z_]+)\b/g, (id: string) => (id in values ? `(${values[id] ?? NaN})` : id));
  expect(js).toMatch(/^[IF\d\s()+\-*/>=.,]+$/);
  const value = new Function("IF", `return ${js};`)((condition: boolean, then: number, otherwise: number) =>
    condition ? then : otherwise,
  ) as number;
  return { value, threshold: alarm.Threshold };
}

describe("the fault-rate alarm and a flood of JWTs with invented kids (finding 3)", () => {
  /**
   * Anyone can sign a JWT with their own key under an invented kid and a fresh iat. The authorizer must answer it
   * with the retryable 503 (it could be a key Stytch has just published), but it proved nothing: before, each one
   * counted as outcome=fault, and sixty of them to one container paged the on-call engineer.
   */
  test("the forgeries get the retryable 503, count zero faults, and leave the alarm's metric exactly where it was", async () => {
    const { template } = monitoredStack();
    const session = stytch.createSession();
    const forgeries = Array.from({ length: 60 }, (_, i) => inventedKidJwt(session.memberSessionId, i));
    let authorizer: ReturnType<typeof createAuthorizer>;
    const answers: string[] = [];
    const call = (token: string) =>
      authorizer(restRequestEvent({ Authorization: `Bearer ${token}` })).then(
        () => "allow",
        (error: Error) => error.message,
      );

    // A period of real traffic: 18 allows and 2 Stytch outages, 10 % faults.
    const baseline = await captureEmf(async () => {
      authorizer = createAuthorizer(emulatorEnv()); // Powertools reads whether metrics are on when the handler is built
      expect(await call(session.sessionJwt)).toBe("allow"); // the key set is loaded: the forgeries meet it
      for (let i = 0; i < 17; i += 1) expect(await call(stytch.createSession().sessionToken)).toBe("allow");
      stytch.faults.authenticate = "500";
      for (let i = 0; i < 2; i += 1) expect(await call(stytch.createSession().sessionToken)).toBe(UPSTREAM_FAULT);
      stytch.faults.authenticate = "none";
    });
    const flood = await captureEmf(async () => {
      for (const token of forgeries) answers.push(await call(token));
    });

    expect(new Set(answers)).toEqual(new Set([UPSTREAM_FAULT])); // the HTTP answer is unchanged: 500 → 503, retryable
    expect(flood).toHaveLength(60);
    expect(flood.filter((record) => record.outcome === "fault")).toEqual([]);
    for (const record of flood)
      expect(record).toMatchObject({ outcome: "unproven", path: "local", reason: "kid_not_yet_known" });
    expect(stytch.calls.authenticate).toBe(17 + 2 * 2); // no forgery reached Stytch

    const before = faultRateSeenBy(template, baseline);
    expect(before.value).toBeCloseTo(10);
    expect(faultRateSeenBy(template, [...baseline, ...flood]).value).toBe(before.value);
    const floodAlone = faultRateSeenBy(template, flood);
    expect(floodAlone.value).toBe(0);
    expect(floodAlone.value).not.toBeGreaterThan(floodAlone.threshold);
  });
});

describe("alarm defaults, overrides and opt-outs", () => {
  function alarms(template: Template): Array<Record<string, any>> {
    return Object.values(template.toJSON().Resources as Resources)
      .filter((r) => r.Type === "AWS::CloudWatch::Alarm")
      .map((r) => r.Properties);
  }
  const find = (template: Template, text: string) =>
    alarms(template).find((a) => String(a.AlarmDescription).includes(text))!;

  test("five alarms by default, with thresholds an on-call engineer can act on", () => {
    const { template, monitoring } = monitoredStack();
    expect(Object.keys(monitoring.alarms).sort()).toEqual([
      "duration",
      "faultRate",
      "keySetStale",
      "stytchErrors",
      "throttles",
    ]);
    expect(alarms(template)).toHaveLength(5);

    const faultRate = find(template, "were faults");
    expect(faultRate).toMatchObject({
      Threshold: 5,
      ComparisonOperator: "GreaterThanThreshold",
      EvaluationPeriods: 1,
      TreatMissingData: "notBreaching",
    });
    const expression = faultRate.Metrics.find((m: any) => m.Expression).Expression as string;
    expect(expression).toBe(
      "IF(FILL(total, 0) - FILL(unproven_local, 0) >= 20, 100 * (FILL(fault_none, 0) + FILL(fault_local, 0) + FILL(fault_remote, 0)) / (FILL(total, 0) - FILL(unproven_local, 0)), 0)",
    );
    for (const m of faultRate.Metrics.filter((m: any) => m.MetricStat)) expect(m.MetricStat.Period).toBe(300);

    expect(find(template, "Stytch API:")).toMatchObject({
      Threshold: 5,
      ComparisonOperator: "GreaterThanOrEqualToThreshold",
    });
    // 80 % of the 10-second timeout, p99 over three 5-minute periods.
    expect(find(template, "p99 duration")).toMatchObject({
      Threshold: 8000,
      ExtendedStatistic: "p99",
      MetricName: "Duration",
      EvaluationPeriods: 3,
    });
    expect(find(template, "throttled")).toMatchObject({ Threshold: 1, MetricName: "Throttles", Statistic: "Sum" });
    expect(find(template, "(JWKS)")).toMatchObject({
      Threshold: 900,
      MetricName: "KeySetAge",
      Statistic: "Minimum",
      EvaluationPeriods: 3,
      DatapointsToAlarm: 3,
    });
  });

  test("each alarm can be tuned or left out; a topic is told when alarms fire and recover", () => {
    const topic = sns.Topic.fromTopicArn(new Stack(), "Topic", "arn:aws:sns:eu-west-1:123456789012:on-call");
    const { template, monitoring } = monitoredStack({
      alarmTopic: topic,
      alarms: {
        faultRate: { thresholdPercent: 2, minimumDecisions: 50, evaluationPeriods: 3, datapointsToAlarm: 2 },
        stytchErrors: false,
        duration: { threshold: Duration.seconds(5) },
        throttles: false,
        keySetStale: { staleAfter: Duration.minutes(30) },
      },
    });
    expect(Object.keys(monitoring.alarms).sort()).toEqual(["duration", "faultRate", "keySetStale"]);
    const faultRate = find(template, "were faults");
    expect(faultRate).toMatchObject({ Threshold: 2, EvaluationPeriods: 3, DatapointsToAlarm: 2 });
    expect(faultRate.Metrics.find((m: any) => m.Expression).Expression).toMatch(
      /^IF\(FILL\(total, 0\) - FILL\(unproven_local, 0\) >= 50,/,
    );
    expect(find(template, "p99 duration").Threshold).toBe(5000);
    expect(find(template, "(JWKS)").Threshold).toBe(1800);
    for (const alarm of alarms(template)) {
      expect(alarm.AlarmActions).toEqual(["arn:aws:sns:eu-west-1:123456789012:on-call"]);
      expect(alarm.OKActions).toEqual(["arn:aws:sns:eu-west-1:123456789012:on-call"]);
    }
  });

  test("nonsense settings fail synthesis", () => {
    expect(() => monitoredStack({ alarms: { faultRate: { thresholdPercent: 0 } } })).toThrow(/thresholdPercent/);
    expect(() => monitoredStack({ alarms: { throttles: { evaluationPeriods: 2, datapointsToAlarm: 3 } } })).toThrow(
      /datapointsToAlarm/,
    );
  });

  test("the dashboard is there only when asked for (it costs money; the alarms are what pages)", () => {
    for (const props of [{}, { dashboard: false }]) {
      const { template, monitoring } = monitoredStack(props);
      expect(monitoring.dashboard).toBeUndefined();
      template.resourceCountIs("AWS::CloudWatch::Dashboard", 0);
    }
    const { template, monitoring } = monitoredStack({ dashboard: true });
    expect(monitoring.dashboard).toBeDefined();
    template.resourceCountIs("AWS::CloudWatch::Dashboard", 1);
  });
});

describe("the demo stack", () => {
  test("monitors its authorizer and refresh function: five alarms, a dashboard, the namespace on both functions", () => {
    const app = fastApp();
    const stack = new StytchApiStack(app, "Demo", { projectId: "project-test-11111111-2222-3333-4444-555555555555" });
    const template = Template.fromStack(stack);
    template.resourceCountIs("AWS::CloudWatch::Alarm", 5);
    template.resourceCountIs("AWS::CloudWatch::Dashboard", 1);
    const variables = Object.values(template.toJSON().Resources as Resources)
      .filter((r) => r.Type === "AWS::Lambda::Function")
      .map((f) => f.Properties.Environment?.Variables ?? {});
    const byService = (service: string) => variables.find((v) => v.POWERTOOLS_SERVICE_NAME === service);
    expect(byService(SERVICE_NAMES.authorizer)?.POWERTOOLS_METRICS_NAMESPACE).toBe(DEFAULT_METRICS_NAMESPACE);
    expect(byService(SERVICE_NAMES.refresh)?.POWERTOOLS_METRICS_NAMESPACE).toBe(DEFAULT_METRICS_NAMESPACE);
    expect(
      metricReferences(template, DEFAULT_METRICS_NAMESPACE).metrics.some(
        (m) => m.dimensions.service === SERVICE_NAMES.refresh,
      ),
    ).toBe(true);
  });

  test("watches the organization switch as it watches refresh: its namespace, its Stytch errors in the alarm, its decisions on the dashboard", () => {
    const stack = new StytchApiStack(fastApp(), "Demo", {
      projectId: "project-test-11111111-2222-3333-4444-555555555555",
    });
    const template = Template.fromStack(stack);
    const variables = Object.values(template.toJSON().Resources as Resources)
      .filter((r) => r.Type === "AWS::Lambda::Function")
      .map((f) => f.Properties.Environment?.Variables ?? {});
    expect(
      variables.find((v) => v.POWERTOOLS_SERVICE_NAME === SERVICE_NAMES.organizationSwitch)
        ?.POWERTOOLS_METRICS_NAMESPACE,
    ).toBe(DEFAULT_METRICS_NAMESPACE);
    const { metrics } = metricReferences(template, DEFAULT_METRICS_NAMESPACE);
    const ofSwitch = metrics.filter((m) => m.dimensions.service === SERVICE_NAMES.organizationSwitch);
    expect(ofSwitch.some((m) => m.name === METRIC.stytchErrors && /StytchErrorsAlarm/.test(m.where))).toBe(true);
    expect(ofSwitch.some((m) => m.name === METRIC.decisions && m.dimensions.outcome === "forbidden")).toBe(true);
  });
});

describe("cdk-nag AwsSolutions", () => {
  test("alarms and dashboard synthesize clean", () => {
    const app = fastApp(true);
    monitoredStack(
      {
        alarmTopic: sns.Topic.fromTopicArn(
          new Stack(app, "Topics"),
          "Topic",
          "arn:aws:sns:eu-west-1:123456789012:on-call",
        ),
      },
      app,
    );
    expect(() => app.synth()).not.toThrow();
  });
});

afterAll(() => {
  vi.restoreAllMocks();
});

/**
 * {@link StytchMonitoring}: CloudWatch alarms and a dashboard for the Stytch authorizer (and, optionally,
 * the refresh function and the organization switch), built from the EMF metrics the handlers write.
 *
 * The alarms separate "someone sent a bad token" (a denial, or an unproven credential such as a JWT with an
 * invented kid: expected, never paged on) from "we are failing our users" (a fault, Stytch errors, a stale key
 * set, slow or throttled invocations). No request that proved nothing moves the fault-rate alarm. Lambda's
 * own `Errors` metric cannot tell them apart: an authorizer answers a 401 by throwing `Unauthorized`, so every
 * bad token counts as a function error.
 *
 * `StytchAuthorizer` creates one for its own function by default (its `monitoring` prop takes these settings).
 * Create one yourself, with `monitoring: false` on the authorizer, to watch the session endpoints as well:
 *
 * @example
 * ```ts
 * const auth = new StytchAuthorizer(this, "Auth", { projectId: "project-live-…", monitoring: false });
 * const refresh = new StytchRefreshFunction(this, "Refresh", {
 *   authorizer: auth,
 *   allowedOrigins: ["https://app.example.com"],
 *   organizationSwitch: true,
 * });
 * new StytchMonitoring(this, "AuthMonitoring", {
 *   authorizerFunction: auth.function,
 *   refreshFunction: refresh.function,
 *   organizationSwitchFunction: refresh.organizationSwitchFunction,
 *   alarmTopic: onCallTopic,
 *   alarms: { faultRate: { thresholdPercent: 2 }, throttles: false },
 * });
 * ```
 *
 * @module
 */
import { Duration, Token } from "aws-cdk-lib";
import * as cloudwatch from "aws-cdk-lib/aws-cloudwatch";
import * as cloudwatchActions from "aws-cdk-lib/aws-cloudwatch-actions";
import type * as lambda from "aws-cdk-lib/aws-lambda";
import type * as sns from "aws-cdk-lib/aws-sns";
import { Construct } from "constructs";
import {
  DEFAULT_METRICS_NAMESPACE,
  type DecisionOutcome,
  type DecisionPath,
  DIMENSION,
  METRIC,
  METRICS_NAMESPACE_ENV,
  METRICS_NAMESPACE_PATTERN,
  SERVICE_NAME_ENV,
  SERVICE_NAMES,
  STYTCH_ERROR_CLASSES,
} from "../lambda/lib/operations/metric-names";

/** Settings shared by every alarm. */
export interface StytchAlarmOptions {
  /** Consecutive periods evaluated. @default - per alarm (see {@link StytchMonitoringAlarms}) */
  readonly evaluationPeriods?: number;
  /** Of those, how many must breach. @default - all of them */
  readonly datapointsToAlarm?: number;
  /** Length of one period. @default Duration.minutes(5) */
  readonly period?: Duration;
}

/** The fault-rate alarm. */
export interface FaultRateAlarmOptions extends StytchAlarmOptions {
  /** Faults as a percentage of all decisions but unproven credentials. @default 5 */
  readonly thresholdPercent?: number;
  /** Periods with fewer decisions (unproven credentials not counted) than this never breach (one fault in three requests is not an outage). @default 20 */
  readonly minimumDecisions?: number;
}

/** An alarm on a count. */
export interface CountAlarmOptions extends StytchAlarmOptions {
  /** Alarm when the sum over a period reaches this. */
  readonly threshold?: number;
}

/** The duration alarm. */
export interface DurationAlarmOptions extends StytchAlarmOptions {
  /** Alarm when the p99 duration exceeds this. @default 80 % of the function's timeout */
  readonly threshold?: Duration;
}

/** The stale key-set alarm. */
export interface KeySetStaleAlarmOptions extends StytchAlarmOptions {
  /**
   * Alarm when every request of the evaluated periods used a key set older than this. The authorizer
   * refreshes its key set in the background once it is 10 minutes old, so an older set means the
   * refreshes are failing. @default Duration.minutes(15) (the 10-minute refresh window plus 5 minutes' grace)
   */
  readonly staleAfter?: Duration;
}

/** Each alarm: its options, or `false` to leave it out. Every alarm is created by default. */
export interface StytchMonitoringAlarms {
  /** Faults (503s) above a share of all decisions (unproven credentials left out) over 5 minutes. @default thresholdPercent 5, 1 period */
  readonly faultRate?: FaultRateAlarmOptions | false;
  /** Failed Stytch API attempts (5xx or unreachable, 429, timeouts, our credentials refused). @default threshold 5 per 5 minutes, 1 period */
  readonly stytchErrors?: CountAlarmOptions | false;
  /** Authorizer p99 duration near its timeout. @default 80 % of the timeout, 3 periods */
  readonly duration?: DurationAlarmOptions | false;
  /** Throttled authorizer invocations (each one is a request that got no answer). @default threshold 1, 1 period */
  readonly throttles?: CountAlarmOptions | false;
  /** The key set in use older than its refresh window. @default 15 minutes, 3 periods */
  readonly keySetStale?: KeySetStaleAlarmOptions | false;
}

/** Properties of {@link StytchMonitoring}. */
export interface StytchMonitoringProps {
  /** The authorizer's function (`StytchAuthorizer.function`). */
  readonly authorizerFunction: lambda.Function;
  /** The refresh endpoint's function (`StytchRefreshFunction.function`): its decisions join the dashboard and its Stytch errors the alarm. @default - none */
  readonly refreshFunction?: lambda.Function;
  /** The organization switch's function (`StytchRefreshFunction.organizationSwitchFunction`), watched as the refresh function is. @default - none */
  readonly organizationSwitchFunction?: lambda.Function;
  /**
   * CloudWatch namespace of the metrics. The construct sets it on the functions
   * (`POWERTOOLS_METRICS_NAMESPACE`), so alarms and handlers cannot disagree; use one namespace per
   * authorizer when an account has several.
   *
   * @default "StytchAuthorizer"
   */
  readonly namespace?: string;
  /** Topic notified when an alarm fires and when it recovers. @default - no notifications */
  readonly alarmTopic?: sns.ITopic;
  /** Alarm settings. @default - every alarm with its defaults */
  readonly alarms?: StytchMonitoringAlarms;
  /**
   * Create the dashboard (US$3 a month beyond an account's three free dashboards).
   * @default false
   */
  readonly dashboard?: boolean;
  /** Name of the dashboard. @default - generated by CloudFormation */
  readonly dashboardName?: string;
}

/** What one alarm watches for. */
interface AlarmSpec {
  readonly threshold: number;
  /** Breach at the threshold (counts), or only above it (rates, durations, ages). */
  readonly atOrAbove: boolean;
  readonly evaluationPeriods: number;
  readonly datapointsToAlarm: number;
  /** What it means, and where the runbook is. */
  readonly description: string;
}

/** Paths an unproven credential is decided on: the key-set lookup, before any Stytch call. */
const UNPROVEN_PATHS: readonly DecisionPath[] = ["local"];
/** (outcome, path) pairs that can occur: a cached verdict is never a denial, and a missing credential never reaches Stytch. */
const AUTHORIZER_DECISIONS: ReadonlyArray<readonly [DecisionOutcome, DecisionPath]> = [
  ["allow", "cache"],
  ["allow", "local"],
  ["allow", "remote"],
  ["deny", "none"],
  ["deny", "local"],
  ["deny", "remote"],
  // A valid member refused a route by the route table (403): decided after the verdict, so never "none".
  ["forbidden", "cache"],
  ["forbidden", "local"],
  ["forbidden", "remote"],
  ...UNPROVEN_PATHS.map((path) => ["unproven", path] as const),
  ["fault", "none"],
  ["fault", "local"],
  ["fault", "remote"],
];
const REFRESH_DECISIONS = AUTHORIZER_DECISIONS.filter(([outcome, path]) => path !== "cache" && outcome !== "forbidden");
/** The switch's decisions: the refresh endpoint's, plus Stytch refusing a switch (forbidden, after the Stytch call). */
const ORGANIZATION_SWITCH_DECISIONS: ReadonlyArray<readonly [DecisionOutcome, DecisionPath]> = [
  ...REFRESH_DECISIONS,
  ["forbidden", "remote"],
];
const FAULT_PATHS: readonly DecisionPath[] = ["none", "local", "remote"];

/**
 * Alarms and a dashboard for a {@link StytchAuthorizer}. Each alarm's description says what it means;
 * docs/operations.md says what to do first.
 */
export class StytchMonitoring extends Construct {
  /** The CloudWatch namespace of the metrics. */
  public readonly namespace: string;
  /** The alarms created, by name (`faultRate`, `stytchErrors`, `duration`, `throttles`, `keySetStale`). */
  public readonly alarms: Readonly<Partial<Record<keyof StytchMonitoringAlarms, cloudwatch.Alarm>>>;
  /** The dashboard, unless disabled. */
  public readonly dashboard?: cloudwatch.Dashboard;

  /**
   * @param scope parent construct
   * @param id construct id
   * @param props the functions to watch, and alarm settings
   * @throws Error on an invalid namespace or alarm setting
   */
  constructor(scope: Construct, id: string, props: StytchMonitoringProps) {
    super(scope, id);
    this.namespace = props.namespace ?? DEFAULT_METRICS_NAMESPACE;
    if (!METRICS_NAMESPACE_PATTERN.test(this.namespace)) {
      throw new Error(
        `namespace must be a CloudWatch namespace (letters, digits, . - _ / # : and spaces; not AWS/…), got ${JSON.stringify(this.namespace)}`,
      );
    }
    const authorizer = props.authorizerFunction;
    authorizer.addEnvironment(METRICS_NAMESPACE_ENV, this.namespace);
    authorizer.addEnvironment(SERVICE_NAME_ENV, SERVICE_NAMES.authorizer);
    props.refreshFunction?.addEnvironment(METRICS_NAMESPACE_ENV, this.namespace);
    props.refreshFunction?.addEnvironment(SERVICE_NAME_ENV, SERVICE_NAMES.refresh);
    props.organizationSwitchFunction?.addEnvironment(METRICS_NAMESPACE_ENV, this.namespace);
    props.organizationSwitchFunction?.addEnvironment(SERVICE_NAME_ENV, SERVICE_NAMES.organizationSwitch);

    const alarms: Partial<Record<keyof StytchMonitoringAlarms, cloudwatch.Alarm>> = {};
    const settings = props.alarms ?? {};
    /** One alarm: missing data never breaches (no traffic is not an outage); the topic hears ALARM and OK. */
    const alarm = (
      name: keyof StytchMonitoringAlarms,
      metric: cloudwatch.Metric | cloudwatch.MathExpression,
      spec: AlarmSpec,
    ) => {
      const created = metric.createAlarm(this, `${name[0]!.toUpperCase()}${name.slice(1)}Alarm`, {
        alarmDescription: spec.description,
        threshold: spec.threshold,
        comparisonOperator: spec.atOrAbove
          ? cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD
          : cloudwatch.ComparisonOperator.GREATER_THAN_THRESHOLD,
        evaluationPeriods: spec.evaluationPeriods,
        datapointsToAlarm: spec.datapointsToAlarm,
        treatMissingData: cloudwatch.TreatMissingData.NOT_BREACHING,
      });
      if (props.alarmTopic) {
        created.addAlarmAction(new cloudwatchActions.SnsAction(props.alarmTopic));
        created.addOkAction(new cloudwatchActions.SnsAction(props.alarmTopic));
      }
      alarms[name] = created;
    };

    if (settings.faultRate !== false) {
      const o = settings.faultRate ?? {};
      const threshold = positive("faultRate.thresholdPercent", o.thresholdPercent ?? 5);
      alarm("faultRate", this.faultRate(SERVICE_NAMES.authorizer, periodOf(o), o.minimumDecisions ?? 20), {
        threshold,
        atOrAbove: false,
        ...evaluation(o, 1),
        description: `Stytch authorizer: more than ${threshold} % of decisions were faults (503: Stytch, key set, secret or configuration failing). Denials (401) and unproven credentials (503 kid_not_yet_known, anyone can send one) never count. Runbook: docs/operations.md, "Fault rate".`,
      });
    }

    if (settings.stytchErrors !== false) {
      const o = settings.stytchErrors ?? {};
      const threshold = positive("stytchErrors.threshold", o.threshold ?? 5);
      const services = [
        SERVICE_NAMES.authorizer,
        ...(props.refreshFunction ? [SERVICE_NAMES.refresh] : []),
        ...(props.organizationSwitchFunction ? [SERVICE_NAMES.organizationSwitch] : []),
      ];
      alarm("stytchErrors", this.sumOf(METRIC.stytchErrors, services, periodOf(o), "Stytch API errors"), {
        threshold,
        atOrAbove: true,
        ...evaluation(o, 1),
        description: `Stytch API: ${threshold} or more failed attempts (5xx or unreachable, 429, timeout, project credentials refused) in a period. Runbook: docs/operations.md, "Stytch errors".`,
      });
    }

    if (settings.duration !== false) {
      const o = settings.duration ?? {};
      const timeoutMs = (authorizer.timeout ?? Duration.seconds(3)).toMilliseconds();
      const thresholdMs = o.threshold
        ? o.threshold.toMilliseconds()
        : Token.isUnresolved(timeoutMs)
          ? 8_000
          : Math.round(timeoutMs * 0.8);
      alarm("duration", authorizer.metricDuration({ statistic: "p99", period: periodOf(o) }), {
        threshold: thresholdMs,
        atOrAbove: false,
        ...evaluation(o, 3),
        description: `Stytch authorizer: p99 duration above ${thresholdMs} ms, close to the function's timeout (a timed-out authorizer is a 500 for the caller). Runbook: docs/operations.md, "Duration".`,
      });
    }

    if (settings.throttles !== false) {
      const o = settings.throttles ?? {};
      alarm("throttles", authorizer.metricThrottles({ statistic: cloudwatch.Stats.SUM, period: periodOf(o) }), {
        threshold: positive("throttles.threshold", o.threshold ?? 1),
        atOrAbove: true,
        ...evaluation(o, 1),
        description: `Stytch authorizer: throttled invocations (each is a request API Gateway could not authorize: a 500). Runbook: docs/operations.md, "Throttles".`,
      });
    }

    if (settings.keySetStale !== false) {
      const o = settings.keySetStale ?? {};
      const staleAfter = (o.staleAfter ?? Duration.minutes(15)).toSeconds();
      const periods = evaluation(o, 3);
      // Minimum, not Maximum: the first request after an idle spell legitimately uses an old set while the
      // background refresh runs; only a set that stays old for every request means the refreshes fail.
      alarm(
        "keySetStale",
        this.metric(METRIC.keySetAge, SERVICE_NAMES.authorizer, {}, cloudwatch.Stats.MINIMUM, periodOf(o)),
        {
          threshold: staleAfter,
          atOrAbove: false,
          ...periods,
          description: `Stytch authorizer: every request for ${periods.evaluationPeriods} periods used a key set (JWKS) older than ${staleAfter} s; key-set refreshes are failing, and a Stytch key rotation would now log users out. Runbook: docs/operations.md, "Key set stale".`,
        },
      );
    }
    this.alarms = alarms;

    if (props.dashboard ?? false) this.dashboard = this.createDashboard(props, Object.values(alarms));
  }

  /** One metric of ours: `name` for one service, under the dimension set `extra` adds to `service`. */
  private metric(
    name: string,
    service: string,
    extra: Record<string, string>,
    statistic: string,
    period: Duration,
    label?: string,
  ): cloudwatch.Metric {
    return new cloudwatch.Metric({
      namespace: this.namespace,
      metricName: name,
      dimensionsMap: { [DIMENSION.service]: service, ...extra },
      statistic,
      period,
      ...(label ? { label } : {}),
    });
  }

  /** Sum of `name` over services (missing data counts as zero). */
  private sumOf(
    name: string,
    services: readonly string[],
    period: Duration,
    label: string,
  ): cloudwatch.Metric | cloudwatch.MathExpression {
    if (services.length === 1) return this.metric(name, services[0]!, {}, cloudwatch.Stats.SUM, period, label);
    const usingMetrics = Object.fromEntries(
      services.map((service, i) => [`s${i}`, this.metric(name, service, {}, cloudwatch.Stats.SUM, period)]),
    );
    return new cloudwatch.MathExpression({
      expression: Object.keys(usingMetrics)
        .map((k) => `FILL(${k}, 0)`)
        .join(" + "),
      usingMetrics,
      period,
      label,
    });
  }

  /**
   * Faults as a percentage of the decisions of one service that were not unproven; 0 while there are fewer than
   * `minimum` of those. Unproven credentials are left out of both sides: anyone can send them, so a flood of
   * them must neither raise the rate, nor dilute a real outage, nor lift a quiet period over the minimum.
   */
  private faultRate(service: string, period: Duration, minimum: number): cloudwatch.MathExpression {
    const sum = (extra: Record<string, string>) =>
      this.metric(METRIC.decisions, service, extra, cloudwatch.Stats.SUM, period);
    const usingMetrics: Record<string, cloudwatch.IMetric> = { total: sum({}) };
    for (const path of UNPROVEN_PATHS)
      usingMetrics[`unproven_${path}`] = sum({ [DIMENSION.outcome]: "unproven", [DIMENSION.path]: path });
    for (const path of FAULT_PATHS)
      usingMetrics[`fault_${path}`] = sum({ [DIMENSION.outcome]: "fault", [DIMENSION.path]: path });
    const judged = ["FILL(total, 0)", ...UNPROVEN_PATHS.map((path) => `FILL(unproven_${path}, 0)`)].join(" - ");
    const faults = FAULT_PATHS.map((path) => `FILL(fault_${path}, 0)`).join(" + ");
    return new cloudwatch.MathExpression({
      expression: `IF(${judged} >= ${nonNegative("faultRate.minimumDecisions", minimum)}, 100 * (${faults}) / (${judged}), 0)`,
      usingMetrics,
      period,
      label: "fault rate (%)",
    });
  }

  private decisionsGraph(
    title: string,
    service: string,
    pairs: ReadonlyArray<readonly [DecisionOutcome, DecisionPath]>,
  ): cloudwatch.GraphWidget {
    const period = Duration.minutes(1);
    return new cloudwatch.GraphWidget({
      title,
      width: 12,
      stacked: true,
      left: pairs.map(([outcome, path]) =>
        this.metric(
          METRIC.decisions,
          service,
          { [DIMENSION.outcome]: outcome, [DIMENSION.path]: path },
          cloudwatch.Stats.SUM,
          period,
          `${outcome} / ${path}`,
        ),
      ),
    });
  }

  private createDashboard(props: StytchMonitoringProps, alarms: cloudwatch.Alarm[]): cloudwatch.Dashboard {
    const fn = props.authorizerFunction;
    const service = SERVICE_NAMES.authorizer;
    const minute = Duration.minutes(1);
    const dashboard = new cloudwatch.Dashboard(this, "Dashboard", {
      ...(props.dashboardName ? { dashboardName: props.dashboardName } : {}),
      defaultInterval: Duration.hours(3),
    });
    if (alarms.length > 0)
      dashboard.addWidgets(new cloudwatch.AlarmStatusWidget({ title: "Alarms", alarms, width: 24, height: 3 }));
    dashboard.addWidgets(
      this.decisionsGraph("Authorizer decisions by outcome / path", service, AUTHORIZER_DECISIONS),
      new cloudwatch.GraphWidget({
        title: "Fault rate (%)",
        width: 12,
        // A minimum of 1: a period of nothing but unproven credentials shows 0, not 0 / 0.
        left: [this.faultRate(service, Duration.minutes(5), 1)],
        leftYAxis: { min: 0, max: 100 },
      }),
    );
    dashboard.addWidgets(
      new cloudwatch.GraphWidget({
        title: "Denials, unproven credentials and faults by reason",
        width: 12,
        stacked: true,
        left: [
          new cloudwatch.MathExpression({
            // Reasons are a closed set of codes, but listing them here would be a second copy: search instead.
            expression: `SEARCH('{${this.namespace},${DIMENSION.service},${DIMENSION.reason}} MetricName="${METRIC.decisions}" ${DIMENSION.service}="${service}"', 'Sum', 60)`,
            label: "",
            period: minute,
          }),
        ],
      }),
      new cloudwatch.GraphWidget({
        title: "Stytch API latency (ms) and errors by class",
        width: 12,
        left: (["p50", "p99", "Maximum"] as const).map((stat) =>
          this.metric(METRIC.stytchLatency, service, {}, stat, minute, `latency ${stat}`),
        ),
        right: STYTCH_ERROR_CLASSES.map((errorClass) =>
          this.metric(
            METRIC.stytchErrors,
            service,
            { [DIMENSION.errorClass]: errorClass },
            cloudwatch.Stats.SUM,
            minute,
            `errors ${errorClass}`,
          ),
        ),
      }),
    );
    dashboard.addWidgets(
      new cloudwatch.GraphWidget({
        title: "Key set (JWKS): age, downloads and rotations",
        width: 8,
        left: [
          this.metric(METRIC.keySetAge, service, {}, cloudwatch.Stats.MAXIMUM, minute, "age max (s)"),
          this.metric(METRIC.keySetAge, service, {}, cloudwatch.Stats.MINIMUM, minute, "age min (s)"),
        ],
        right: [
          this.metric(METRIC.jwksRefreshes, service, {}, cloudwatch.Stats.SUM, minute, "downloads"),
          this.metric(METRIC.jwksRefreshFailures, service, {}, cloudwatch.Stats.SUM, minute, "failed downloads"),
          this.metric(METRIC.keySetRotations, service, {}, cloudwatch.Stats.SUM, minute, "new keys (rotations)"),
        ],
      }),
      new cloudwatch.GraphWidget({
        title: "Cold starts, invocations, throttles",
        width: 8,
        left: [this.metric(METRIC.coldStarts, service, {}, cloudwatch.Stats.SUM, minute, "cold starts")],
        right: [
          fn.metricInvocations({ statistic: cloudwatch.Stats.SUM, period: minute, label: "invocations" }),
          fn.metricThrottles({ statistic: cloudwatch.Stats.SUM, period: minute, label: "throttles" }),
        ],
      }),
      new cloudwatch.GraphWidget({
        title: "Authorizer duration (ms)",
        width: 8,
        left: (["p50", "p99", "Maximum"] as const).map((stat) =>
          fn.metricDuration({ statistic: stat, period: minute, label: stat }),
        ),
      }),
    );
    if (props.refreshFunction) {
      dashboard.addWidgets(
        this.decisionsGraph("Refresh endpoint decisions by outcome / path", SERVICE_NAMES.refresh, REFRESH_DECISIONS),
      );
    }
    if (props.organizationSwitchFunction) {
      dashboard.addWidgets(
        this.decisionsGraph(
          "Organization switch decisions by outcome / path",
          SERVICE_NAMES.organizationSwitch,
          ORGANIZATION_SWITCH_DECISIONS,
        ),
      );
    }
    return dashboard;
  }
}

function periodOf(options: StytchAlarmOptions): Duration {
  return options.period ?? Duration.minutes(5);
}

function evaluation(
  options: StytchAlarmOptions,
  defaultPeriods: number,
): { evaluationPeriods: number; datapointsToAlarm: number } {
  const evaluationPeriods = options.evaluationPeriods ?? defaultPeriods;
  const datapointsToAlarm = options.datapointsToAlarm ?? evaluationPeriods;
  if (!Number.isInteger(evaluationPeriods) || evaluationPeriods < 1)
    throw new Error(`evaluationPeriods must be a whole number ≥ 1, got ${evaluationPeriods}`);
  if (!Number.isInteger(datapointsToAlarm) || datapointsToAlarm < 1 || datapointsToAlarm > evaluationPeriods) {
    throw new Error(
      `datapointsToAlarm must be a whole number from 1 to evaluationPeriods (${evaluationPeriods}), got ${datapointsToAlarm}`,
    );
  }
  return { evaluationPeriods, datapointsToAlarm };
}

function positive(name: string, value: number): number {
  if (!(value > 0) || !Number.isFinite(value)) throw new Error(`${name} must be a positive number, got ${value}`);
  return value;
}

function nonNegative(name: string, value: number): number {
  if (!(value >= 0) || !Number.isFinite(value)) throw new Error(`${name} must be zero or more, got ${value}`);
  return value;
}

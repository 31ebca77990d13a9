// `npm start`'s exit summary: the authorizer's decisions counted by outcome and path, the same split as
// the `Decisions` metric a deployed authorizer publishes, so a developer sees what the dashboard will show.

import type { DecisionRecord } from "../lambda/lib/operations/log";
import { type DecisionOutcome, type DecisionPath, OUTCOMES, PATHS } from "../lambda/lib/operations/metric-names";

/** Counts decision records; {@link DecisionSummary.line} renders them as one line. */
export class DecisionSummary {
  private readonly counts = new Map<DecisionOutcome, Map<DecisionPath, number>>(
    OUTCOMES.map((outcome) => [outcome, new Map()]),
  );

  /** Counts one decision (pass it as the local API's `onDecision`). */
  readonly add = (record: Pick<DecisionRecord, "outcome" | "path">): void => {
    const byPath = this.counts.get(record.outcome)!;
    byPath.set(record.path, (byPath.get(record.path) ?? 0) + 1);
  };

  /**
   * One line, e.g. `decisions: 12 allow (cache 9, local 2, remote 1), 3 deny (local 2, none 1), 0 forbidden, 0 unproven, 0 fault`.
   * Paths with no decision are left out; outcomes never are.
   */
  line(): string {
    const parts = OUTCOMES.map((outcome) => {
      const byPath = this.counts.get(outcome)!;
      const paths = PATHS.filter((path) => byPath.has(path)).map((path) => `${path} ${byPath.get(path)}`);
      const total = [...byPath.values()].reduce((sum, n) => sum + n, 0);
      return paths.length > 0 ? `${total} ${outcome} (${paths.join(", ")})` : `${total} ${outcome}`;
    });
    return `decisions: ${parts.join(", ")}`;
  }
}

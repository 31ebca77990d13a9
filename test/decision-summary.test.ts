// `npm start`'s exit summary: decisions counted by outcome and path, as the Decisions metric splits them.

import { describe, expect, test } from "vitest";
import { DecisionSummary } from "../local/decision-summary";

describe("the decision summary", () => {
  test("counts by outcome and path, in the metric's order, leaving out paths that never occurred", () => {
    const summary = new DecisionSummary();
    for (const path of ["cache", "cache", "local", "remote", "cache"] as const) summary.add({ outcome: "allow", path });
    summary.add({ outcome: "deny", path: "none" });
    summary.add({ outcome: "deny", path: "local" });
    summary.add({ outcome: "deny", path: "local" });
    summary.add({ outcome: "forbidden", path: "cache" });
    summary.add({ outcome: "unproven", path: "local" });
    expect(summary.line()).toBe(
      "decisions: 5 allow (cache 3, local 1, remote 1), 3 deny (local 2, none 1), 1 forbidden (cache 1), 1 unproven (local 1), 0 fault",
    );
  });

  test("says zero for each outcome before any request", () => {
    expect(new DecisionSummary().line()).toBe("decisions: 0 allow, 0 deny, 0 forbidden, 0 unproven, 0 fault");
  });
});

import { describe, expect, it } from "vitest";
import { TAG } from "../../core/tags";
import { COST_ALLOCATION_TAGS, budgetNotifications, costTagNote } from "../../components/budget";

describe("budgetNotifications", () => {
  it("forecast above 80% and actual above 100%, each to every address", () => {
    const emails = ["alice@example.com", "bob@example.com"];
    expect(budgetNotifications(emails)).toEqual([
      { comparisonOperator: "GREATER_THAN", threshold: 80, thresholdType: "PERCENTAGE", notificationType: "FORECASTED", subscriberEmailAddresses: emails },
      { comparisonOperator: "GREATER_THAN", threshold: 100, thresholdType: "PERCENTAGE", notificationType: "ACTUAL", subscriberEmailAddresses: emails },
    ]);
  });
});

describe("costTagNote", () => {
  it("names the tag the budget filters on and every cost-allocation tag to activate, and where to read more", () => {
    const note = costTagNote();
    expect(note).toContain(`filters on the cost-allocation tag ${TAG.experiment}`);
    for (const key of COST_ALLOCATION_TAGS) expect(note).toContain(key);
    expect(note).toMatch(/docs\/configuration\.md/);
    expect(note).toMatch(/trainctl preflight/);
    expect(note).not.toContain("\n");
  });

  it("the budget's own filter tag is among those to activate", () => {
    expect(COST_ALLOCATION_TAGS).toContain(TAG.experiment);
  });
});

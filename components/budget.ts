import * as aws from "@pulumi/aws";
import * as pulumi from "@pulumi/pulumi";
import type { BudgetConfig } from "../core/config";
import { budgetName, childName } from "./naming";
import { TAG } from "../core/tags";

export interface BudgetArgs {
  project: string;
  experiment: string;
  config: BudgetConfig;
}

/** Cost-allocation tags that a budget filters on must be activated once per account. */
export const COST_ALLOCATION_TAGS = [TAG.project, TAG.experiment, TAG.owner, TAG.costCenter] as const;

/** The standing note a budget brings: it filters on a cost-allocation tag that must be active in the account. */
export function costTagNote(): string {
  return `trainctl:budget filters on the cost-allocation tag ${TAG.experiment}: activate ${COST_ALLOCATION_TAGS.join(", ")} once per account (docs/configuration.md, Cost-allocation tags); trainctl preflight checks it`;
}

/** Notifications: forecast at 80%, actual at 100%. */
export function budgetNotifications(emails: string[]): aws.types.input.budgets.BudgetNotification[] {
  return [
    { comparisonOperator: "GREATER_THAN", threshold: 80, thresholdType: "PERCENTAGE", notificationType: "FORECASTED", subscriberEmailAddresses: emails },
    { comparisonOperator: "GREATER_THAN", threshold: 100, thresholdType: "PERCENTAGE", notificationType: "ACTUAL", subscriberEmailAddresses: emails },
  ];
}

/** A monthly cost budget for one experiment, filtered on its cost-allocation tag. */
export class Budget extends pulumi.ComponentResource {
  readonly budget: aws.budgets.Budget;
  readonly costAllocationTags: aws.costexplorer.CostAllocationTag[] = [];

  constructor(name: string, args: BudgetArgs, opts: pulumi.ComponentResourceOptions = {}) {
    super("trainctl:cost:Budget", name, {}, opts);
    this.budget = new aws.budgets.Budget(
      childName(name, "monthly"),
      {
        name: budgetName(args.project, args.experiment),
        budgetType: "COST",
        timeUnit: "MONTHLY",
        limitAmount: args.config.monthlyUsd.toFixed(2),
        limitUnit: "USD",
        costFilters: [{ name: "TagKeyValue", values: [`user:${TAG.experiment}$${args.experiment}`] }],
        notifications: budgetNotifications(args.config.emails),
      },
      { parent: this },
    );
    // Migration only: stacks that once declared the account-wide activation keep it, retained, so
    // dropping the key later never deactivates the tags for every other experiment.
    if (args.config.activateCostTags === "retain") {
      this.costAllocationTags = COST_ALLOCATION_TAGS.map(
        (tagKey) =>
          new aws.costexplorer.CostAllocationTag(
            childName(name, `tag-${tagKey.replace(/[^a-z0-9]+/gi, "-")}`),
            { tagKey, status: "Active" },
            { parent: this, retainOnDelete: true },
          ),
      );
    }
    this.registerOutputs({ budgetName: this.budget.name });
  }
}

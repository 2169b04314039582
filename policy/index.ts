import { PolicyPack, type ReportViolation, type ResourceValidationArgs, type StackValidationArgs } from "@pulumi/policy";
import { checkConstraints, describeViolation } from "../core/aws-constraints";
import { type PolicySubject, RESOURCE_RULES, budgetMissing, bucketsWithoutGuards } from "./rules";

const subject = (r: { type: string; name: string; urn: string; props: Record<string, unknown>; opts?: { protect?: boolean } }): PolicySubject => ({
  type: r.type,
  name: r.name,
  urn: r.urn,
  props: r.props,
  protect: r.opts?.protect ?? false,
});

const DESCRIPTIONS: Record<keyof typeof RESOURCE_RULES, string> = {
  "cost-tags": "Tagged resources carry the trainctl cost-allocation tags.",
  "data-protected": "Data-bearing volumes and buckets are protected (advisory on stacks tagged ephemeral=true).",
  "storage-encrypted": "EBS volumes, instance root volumes and launch template volumes are encrypted.",
  "imdsv2-required": "Instances and launch templates require IMDSv2.",
  "no-open-ingress": "No security group opens port 22 or anything to 0.0.0.0/0 inbound.",
  "spot-below-on-demand": "A spot max price is below the on-demand price.",
  "recovery-group-shape": "A spot recovery group holds at most one node, all spot, without Capacity Rebalance.",
};

new PolicyPack("trainctl", {
  policies: [
    ...Object.entries(RESOURCE_RULES).map(([name, rule]) => ({
      name,
      description: DESCRIPTIONS[name as keyof typeof RESOURCE_RULES],
      enforcementLevel: "mandatory" as const,
      validateResource: (args: ResourceValidationArgs, reportViolation: ReportViolation) => {
        const ephemeral = args.stackTags?.get("ephemeral") === "true";
        for (const message of rule(subject(args))) {
          if (name === "data-protected" && ephemeral) continue;
          reportViolation(message);
        }
      },
    })),
    {
      name: "data-protected-ephemeral",
      description: "On stacks tagged ephemeral=true, unprotected data is reported as advice only.",
      enforcementLevel: "advisory",
      validateResource: (args: ResourceValidationArgs, reportViolation: ReportViolation) => {
        if (args.stackTags?.get("ephemeral") !== "true") return;
        for (const message of RESOURCE_RULES["data-protected"](subject(args))) reportViolation(message);
      },
    },
    {
      name: "aws-input-constraints",
      description: "Inputs obey AWS's own rules (names, descriptions, tags, user data, volume limits): the guard in core/aws-constraints.ts.",
      enforcementLevel: "mandatory",
      validateResource: (args: ResourceValidationArgs, reportViolation: ReportViolation) => {
        const region = String(args.provider?.props?.region ?? "us-east-1");
        const tags = (args.props.tagsAll ?? args.props.tags ?? {}) as Record<string, string>;
        for (const v of checkConstraints([{ type: args.type, name: args.name, inputs: args.props, tags }], { region })) reportViolation(describeViolation(v));
      },
    },
    {
      name: "bucket-guards",
      description: "Every bucket has a public access block and a TLS-only policy.",
      enforcementLevel: "mandatory",
      validateStack: (args: StackValidationArgs, reportViolation: ReportViolation) => {
        for (const message of bucketsWithoutGuards(args.resources.map(subject))) reportViolation(message);
      },
    },
    {
      name: "budget-exists",
      description: "A budget exists when the stack sets trainctl:budget (policy config requireBudget).",
      enforcementLevel: "mandatory",
      configSchema: { properties: { requireBudget: { type: "boolean", default: false } } },
      validateStack: (args: StackValidationArgs, reportViolation: ReportViolation) => {
        const { requireBudget } = args.getConfig<{ requireBudget: boolean }>();
        for (const message of budgetMissing(args.resources.map(subject), requireBudget)) reportViolation(message);
      },
    },
  ],
});

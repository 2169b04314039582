import type { TypedCommand } from "../command-args";
import { UsageError } from "../../core/errors";
import { printJson, say, usd, warn } from "../output";
import type { StackModel } from "../state/model";
import { exportStack, requirePulumi } from "../state/pulumi-cli";
import { checkOneValueEach, readStackExport } from "../state/readers";
import { assertDestroyable, destroyStack } from "../teardown/destroy";
import { liveBusyGroupNodes, liveBusyInstances } from "../teardown/live-tags";
import { planTeardown, volumesWithoutFinalSnapshot } from "../teardown/teardown-plan";
import { BUSY_TAGS } from "../../core/tags";

interface TeardownArgs {
  state?: string;
  stack?: string;
  json?: boolean;
  execute?: boolean;
  confirm?: string;
  snapshotVolumes?: boolean;
  checkBusy?: boolean;
}

/** Warnings from the instances' live tags in EC2 (runtime tags are not in state). */
async function liveBusyWarnings(model: StackModel, deleting: string[]): Promise<string[]> {
  const del = new Set(deleting);
  const deleted = (type: string) => model.resources.filter((r) => r.type === type && del.has(r.urn) && !r.pendingDelete && r.id);
  const instances = deleted("aws:ec2/instance:Instance");
  // A recovery group's id is its name; its nodes are found by the tag AWS gives them.
  const groups = deleted("aws:autoscaling/group:Group");
  const region = model.region ?? process.env.AWS_REGION ?? process.env.AWS_DEFAULT_REGION;
  if (instances.length === 0 && groups.length === 0) return [];
  if (!region) return ["--check-busy: no region in the state or AWS_REGION; live tags were not checked"];
  try {
    const busy = new Set(
      await liveBusyInstances(
        region,
        instances.map((r) => r.id!),
      ),
    );
    const busyNodes = await liveBusyGroupNodes(
      region,
      groups.map((r) => r.id!),
    );
    return [
      ...instances
        .filter((r) => busy.has(r.id!))
        .map((r) => `${r.name} (${r.id}) is busy now: EC2 tags it ${BUSY_TAGS[0]}=true, a training process is running`),
      ...groups.flatMap((r) =>
        busyNodes
          .filter((n) => n.group === r.id)
          .map((n) => `${r.name} (${r.id}) runs ${n.instanceId}, busy now: EC2 tags it ${BUSY_TAGS[0]}=true, a training process is running`),
      ),
    ];
  } catch (error) {
    return [`--check-busy: could not read live tags from EC2: ${(error as Error).message}`];
  }
}

function readModel(args: TeardownArgs): StackModel {
  checkOneValueEach(args as unknown as Record<string, unknown>, ["state", "stack", "confirm"]);
  if (Boolean(args.state) === Boolean(args.stack)) throw new UsageError("teardown needs exactly one of --state FILE or --stack NAME", { subject: "--state" });
  const model = args.state ? readStackExport(args.state) : exportStack(args.stack!);
  if (model.resources.length === 0)
    throw new UsageError(`${args.state ? "--state" : "--stack"}: the state is empty; there is nothing to tear down`, { subject: "--state" });
  return model;
}

/** The checks --execute makes before anything runs: confirmation, the destroy's own checks, the CLI, snapshots. */
function assertExecutable(args: TeardownArgs, model: StackModel, missingSnapshots: string[]): string {
  const stack = args.stack ?? model.stack;
  if (args.confirm === undefined) throw new UsageError(`--execute needs --confirm ${stack} (the exact stack name)`, { subject: "--confirm" });
  if (args.confirm !== stack)
    throw new UsageError(`--confirm: ${JSON.stringify(args.confirm)} does not match the stack ${JSON.stringify(stack)}; nothing was done`, {
      subject: "--confirm",
    });
  assertDestroyable(stack, model);
  requirePulumi();
  if (args.snapshotVolumes && missingSnapshots.length > 0) {
    throw new UsageError(
      `--snapshot-volumes: ${missingSnapshots.join(", ")} would be deleted without a final snapshot; set finalSnapshot (trainctl does by default) and run pulumi up first. Nothing was done`,
      { subject: "--snapshot-volumes" },
    );
  }
  return stack;
}

const command: TypedCommand<TeardownArgs> = {
  command: "teardown",
  describe: "plan a safe teardown from stack state (dry run); --execute runs pulumi destroy --refresh --exclude-protected",
  builder: (y) =>
    y
      .option("state", { type: "string", describe: "a `pulumi stack export` file" })
      .option("stack", { type: "string", describe: "read the stack's state through the Pulumi CLI" })
      .option("json", { type: "boolean", describe: "print {delete, retain, monthlyCostAfter} on stdout" })
      .option("execute", { type: "boolean", describe: "really destroy (needs --confirm and the Pulumi CLI)" })
      .option("confirm", { type: "string", describe: "the exact stack name, required with --execute" })
      .option("snapshot-volumes", { type: "boolean", describe: "refuse unless every deleted volume takes a final snapshot" })
      .option("check-busy", { type: "boolean", describe: "read the instances' live busy tags from EC2 (needs AWS credentials)" }),
  handler: async (args) => {
    const model = readModel(args);
    const plan = planTeardown(model);
    const missing = volumesWithoutFinalSnapshot(model, plan).map((r) => r.name);
    const stack = args.execute ? assertExecutable(args, model, missing) : undefined;
    if (args.checkBusy) plan.warnings.push(...(await liveBusyWarnings(model, plan.delete)));

    if (args.json)
      printJson({
        stack: model.stack,
        delete: plan.delete,
        retain: plan.retain,
        monthlyCostAfter: plan.monthlyCostAfter,
        unpricedAfter: plan.unpricedAfter,
        pendingDelete: plan.pendingDelete,
        finalSnapshots: plan.finalSnapshots,
        warnings: plan.warnings,
      });
    const name = (urn: string) => urn.slice(urn.lastIndexOf("::") + 2);
    say(`Teardown of ${model.stack} (${args.execute ? "executing" : "dry run"}):`);
    say(`  delete (${plan.delete.length}):`);
    for (const urn of plan.delete)
      say(`    - ${name(urn)}  ${urn.split("::")[2].split("$").pop()}${plan.pendingDelete.includes(urn) ? "  (and a pending delete of an old copy)" : ""}`);
    say(`  stays in AWS (${plan.retain.length}):`);
    for (const r of plan.retain) say(`    = ${name(r.urn)}  [${r.reason}]`);
    say(
      `  still billed after teardown: ${usd(plan.monthlyCostAfter)}/month${plan.finalSnapshots.length ? ` (including ${plan.finalSnapshots.length} final snapshot(s))` : ""}${plan.unpricedAfter.length ? `, plus ${plan.unpricedAfter.length} unpriced` : ""}`,
    );
    for (const w of plan.warnings) warn(w);
    if (missing.length) warn(`no final snapshot for: ${missing.join(", ")}`);
    if (!stack) {
      say(`Dry run: nothing was deleted. Run again with --execute --confirm ${model.stack} to destroy.`);
      return;
    }
    destroyStack(stack, model);
    say(`Destroyed ${plan.delete.length} resource(s) of ${stack}; protected data stays.`);
  },
};
export default command;

import { existsSync, readdirSync, readFileSync } from "node:fs";
import * as path from "node:path";
import type * as Pulumi from "@pulumi/pulumi";
import type { Struct } from "google-protobuf/google/protobuf/struct_pb";
import type { RegisterResourceOutputsRequest, RegisterResourceRequest, RegisterResourceResponse } from "@pulumi/pulumi/proto/resource_pb";
import { parse as parseYaml } from "yaml";
import { arnPartition, checkConstraints, describeViolation } from "../../core/aws-constraints";
import { experimentNameProblem } from "../../core/names";
import { UsageError } from "../../core/errors";
import { asString } from "../../core/text";
import { PROJECT_ROOT, projectDir as defaultProjectDir, projectNameIn } from "./project";
import { type ResourceRecord, type StackModel, regionOf, withEffectiveTags } from "./model";

/** What the engine would have received for one resource, as the mock monitor saw it. */
export interface CapturedRequest {
  type: string;
  name: string;
  custom: boolean;
  parent: string;
  protect: boolean;
  retainOnDelete: boolean;
  ignoreChanges: string[];
  dependencies: string[];
  provider: string;
  importId: string;
  deleteBeforeReplace: boolean;
  /** Custom timeouts (`create`, `update`, `delete`), when the resource sets any. */
  customTimeouts?: { create: string; update: string; delete: string };
}

export interface CapturedResource {
  record: ResourceRecord;
  request: CapturedRequest;
}

export interface OfflineRunOptions {
  stack: string;
  /** Raw config as in `Pulumi.<stack>.yaml` (`namespace:key` → value). */
  config: Record<string, unknown>;
  project?: string;
  /** Program entry point; default `infra/index.ts` of this project. */
  program?: string;
  /** Answers for invokes; return undefined to fall back to the defaults. */
  invokes?: (token: string, inputs: Record<string, unknown>) => Record<string, unknown> | undefined;
  /** Outputs a stack reference sees (the stack's last deployment); none by default. */
  stackOutputs?: Record<string, unknown>;
}

export interface OfflineRun {
  model: StackModel;
  captured: CapturedResource[];
  /** Stack outputs the program exported. */
  outputs: Record<string, unknown>;
  /** Invoke tokens the program called, in order. */
  invokes: string[];
}

export { PROJECT_ROOT };
/** The program this package ships, beside this module whether it runs from source or from dist/. */
export const DEFAULT_PROGRAM = path.join(__dirname, "..", "..", "infra", `index${path.extname(__filename)}`);
export const MOCK_ACCOUNT = "123456789012";

/** Reads the project name from Pulumi.yaml. */
export function projectName(projectDir = defaultProjectDir()): string {
  return projectNameIn(projectDir);
}

/** Stacks that have a `Pulumi.<name>.yaml` in the project folder. */
export function stackFiles(projectDir = defaultProjectDir()): string[] {
  return readdirSync(projectDir)
    .map((f) => /^Pulumi\.(.+)\.ya?ml$/.exec(f)?.[1])
    .filter((s): s is string => Boolean(s))
    .sort();
}

/** The `config:` map of `Pulumi.<stack>.yaml`; a missing file names the stacks that exist. */
export function loadStackConfig(stack: string, projectDir = defaultProjectDir()): Record<string, unknown> {
  const file = path.join(projectDir, `Pulumi.${stack}.yaml`);
  if (!existsSync(file)) {
    const known = stackFiles(projectDir);
    throw new UsageError(`--stack: ${path.relative(process.cwd(), file) || file} does not exist (stacks here: ${known.join(", ") || "none"})`, {
      subject: "--stack",
    });
  }
  let doc: { config?: Record<string, unknown> } | null;
  try {
    doc = parseYaml(readFileSync(file, "utf8")) as typeof doc;
  } catch (error) {
    throw new UsageError(`${path.basename(file)}: not valid YAML: ${(error as Error).message.split("\n")[0]}`, { subject: file });
  }
  return doc?.config ?? {};
}

const hex = (seed: string, length = 17): string => {
  let h = 2166136261;
  let out = "";
  while (out.length < length) {
    for (const c of `${seed}${out.length}`) h = Math.imul(h ^ c.charCodeAt(0), 16777619) >>> 0;
    out += h.toString(16).padStart(8, "0");
  }
  return out.slice(0, length);
};

/** Plausible ids and computed outputs, so that names, ARNs and AZs flow through the program. */
function mockState(
  args: Pulumi.runtime.MockResourceArgs,
  region: string,
  stackOutputs: Record<string, unknown>,
): { id: string; state: Record<string, unknown> } {
  const inputs = args.inputs as Record<string, unknown>;
  const seed = `${args.type}/${args.name}`;
  const arn = (service: string, resource: string) => `arn:${arnPartition(region)}:${service}:${region}:${MOCK_ACCOUNT}:${resource}`;
  switch (args.type) {
    case "aws:ec2/instance:Instance": {
      const id = `i-${hex(seed)}`;
      return {
        id,
        state: {
          ...inputs,
          arn: arn("ec2", `instance/${id}`),
          privateIp: "10.0.0.10",
          instanceState: "running",
          availabilityZone: inputs.availabilityZone ?? `${region}a`,
        },
      };
    }
    case "aws:ebs/volume:Volume": {
      const id = args.id || `vol-${hex(seed)}`;
      return { id, state: { ...inputs, arn: arn("ec2", `volume/${id}`) } };
    }
    case "aws:s3/bucket:Bucket": {
      const bucket = asString(inputs.bucket) || args.id || `${asString(inputs.bucketPrefix) ?? args.name}-${hex(seed, 7)}`;
      return {
        id: bucket,
        state: { ...inputs, bucket, arn: `arn:${arnPartition(region)}:s3:::${bucket}`, bucketRegionalDomainName: `${bucket}.s3.${region}.amazonaws.com` },
      };
    }
    case "aws:iam/role:Role":
    case "aws:iam/instanceProfile:InstanceProfile":
    case "aws:iam/policy:Policy": {
      const name = asString(inputs.name) ?? `${args.name}-${hex(seed, 7)}`;
      const kind = args.type.split(":")[2].replace(/^./, (c) => c.toLowerCase());
      return {
        id: name,
        state: { ...inputs, name, arn: `arn:${arnPartition(region)}:iam::${MOCK_ACCOUNT}:${kind === "instanceProfile" ? "instance-profile" : kind}/${name}` },
      };
    }
    case "aws:ec2/securityGroup:SecurityGroup":
      return { id: `sg-${hex(seed)}`, state: { ...inputs, arn: arn("ec2", `security-group/sg-${hex(seed)}`) } };
    case "pulumi:pulumi:StackReference":
      // The offline world has no earlier deployment: a stack reference sees no outputs.
      return { id: asString(inputs.name) ?? args.name, state: { ...inputs, outputs: stackOutputs, secretOutputNames: [] } };
    case "aws:autoscaling/group:Group":
      // A group's id is its name.
      return {
        id: asString(inputs.name) ?? args.name,
        state: { ...inputs, arn: arn("autoscaling", `autoScalingGroup:${hex(seed, 8)}:autoScalingGroupName/${asString(inputs.name) ?? args.name}`) },
      };
    case "aws:ec2/launchTemplate:LaunchTemplate":
      return { id: `lt-${hex(seed)}`, state: { ...inputs, arn: arn("ec2", `launch-template/lt-${hex(seed)}`), latestVersion: 1 } };
    case "aws:ec2/placementGroup:PlacementGroup":
      // The provider's autoname is the group's name and id.
      return {
        id: asString(inputs.name) ?? args.name,
        state: { ...inputs, name: asString(inputs.name) ?? args.name, arn: arn("ec2", `placement-group/${args.name}`) },
      };
    default:
      return { id: args.custom === false ? "" : args.id || `${args.name}-id`, state: { ...inputs } };
  }
}

/** Invoke answers for what the components ask AWS at plan time; the offline world has no duplicates. */
function defaultInvoke(token: string, inputs: Record<string, unknown>, region: string): Record<string, unknown> {
  switch (token) {
    case "aws:ssm/getParameter:getParameter":
      return {
        name: inputs.name,
        value: "ami-0123456789abcdef0",
        insecureValue: "ami-0123456789abcdef0",
        type: "String",
        version: 1,
        arn: `arn:${arnPartition(region)}:ssm:${region}::parameter${asString(inputs.name)}`,
      };
    case "aws:ec2/getAmi:getAmi":
      return { id: "ami-0123456789abcdef0", imageId: "ami-0123456789abcdef0", name: "mock-ami", rootDeviceName: "/dev/sda1" };
    case "aws:ec2/getVpc:getVpc":
      return {
        id: "vpc-0000000000000000a",
        cidrBlock: "172.31.0.0/16",
        default: true,
        arn: `arn:${arnPartition(region)}:ec2:${region}:${MOCK_ACCOUNT}:vpc/vpc-0000000000000000a`,
      };
    case "aws:ec2/getVpcs:getVpcs":
      return { ids: ["vpc-0000000000000000a"], id: region };
    case "aws:ec2/getSubnets:getSubnets": {
      // One default subnet per zone; its id ends in the zone's letter.
      const wanted = (inputs.filters as { name: string; values: string[] }[] | undefined)?.find((f) => f.name === "availability-zone")?.values[0];
      const letters = wanted ? [wanted.slice(-1)] : ["a", "b", "c"];
      return { ids: letters.map((l) => `subnet-0000000000000000${l}`) };
    }
    case "aws:ec2/getSubnet:getSubnet": {
      const id = asString(inputs.id) ?? "subnet-0000000000000000a";
      return { id, availabilityZone: `${region}${id.slice(-1)}`, vpcId: "vpc-0000000000000000a", cidrBlock: "172.31.0.0/20" };
    }
    case "aws:ec2/getInstanceTypeOfferings:getInstanceTypeOfferings": {
      // The offline world offers every type in zones a, b and c.
      const zones = ["a", "b", "c"].map((l) => `${region}${l}`);
      const type = (inputs.filters as { name: string; values: string[] }[] | undefined)?.find((f) => f.name === "instance-type")?.values[0] ?? "";
      return { locations: zones, locationTypes: zones.map(() => "availability-zone"), instanceTypes: zones.map(() => type), id: region };
    }
    case "aws:ec2/getRouteTables:getRouteTables":
      return { ids: ["rtb-0000000000000000a"] };
    case "aws:ebs/getEbsVolumes:getEbsVolumes":
    case "aws:ebs/getSnapshotIds:getSnapshotIds":
      return { ids: [] };
    case "aws:ebs/getSnapshot:getSnapshot":
      return { id: (inputs.snapshotIds as string[] | undefined)?.[0] ?? "snap-0123456789abcdef0", volumeSize: 500, encrypted: true };
    case "aws:index/getRegion:getRegion":
      return { name: region, id: region, region, endpoint: `ec2.${region}.amazonaws.com` };
    case "aws:index/getCallerIdentity:getCallerIdentity":
      return { accountId: MOCK_ACCOUNT, arn: `arn:${arnPartition(region)}:iam::${MOCK_ACCOUNT}:user/offline`, userId: "AIDAOFFLINE", id: MOCK_ACCOUNT };
    case "aws:index/getPartition:getPartition": {
      const partition = arnPartition(region);
      return { partition, dnsSuffix: partition === "aws-cn" ? "amazonaws.com.cn" : "amazonaws.com", id: partition };
    }
    case "aws:index/getAvailabilityZones:getAvailabilityZones":
      return { names: ["a", "b", "c"].map((s) => `${region}${s}`), zoneIds: ["az1", "az2", "az3"].map((s) => `use1-${s}`), id: region };
    default:
      return {};
  }
}

/** The two calls of Pulumi's mock monitor that the offline run wraps to capture requests. */
interface MockMonitor {
  registerResource(req: RegisterResourceRequest, callback: (error: Error | null, response?: RegisterResourceResponse) => void): void;
  registerResourceOutputs(req: RegisterResourceOutputsRequest, callback: (error: Error | null, response?: unknown) => void): void;
}

function timeoutsOf(t: RegisterResourceRequest.CustomTimeouts | undefined): CapturedRequest["customTimeouts"] {
  if (!t || !(t.getCreate() || t.getUpdate() || t.getDelete())) return undefined;
  return { create: t.getCreate(), update: t.getUpdate(), delete: t.getDelete() };
}

function toRequest(req: RegisterResourceRequest): CapturedRequest {
  return {
    type: req.getType(),
    name: req.getName(),
    custom: req.getCustom(),
    parent: req.getParent(),
    protect: Boolean(req.getProtect()),
    retainOnDelete: Boolean(req.getRetainondelete()),
    ignoreChanges: req.getIgnorechangesList(),
    dependencies: req.getDependenciesList(),
    provider: req.getProvider(),
    importId: req.getImportid(),
    deleteBeforeReplace: req.getDeletebeforereplace(),
    customTimeouts: timeoutsOf(req.getCustomtimeouts()),
  };
}

/** `[runtime] Error serializing arguments for invoke X: Error: error serializing property "y": MESSAGE` → MESSAGE. */
function cleanRuntimeMessage(message: string): string {
  return message
    .replace(/^\[runtime\] /, "")
    .replace(/^Error serializing arguments for invoke [^:]+: (Error: )?/, "")
    .replace(/error serializing property "[^"]*": /g, "")
    .split("\n")[0];
}

/** Pulumi wraps errors thrown inside outputs as `error serializing property "x": …`; keep the cause's message. */
function unwrapSerializationError(error: unknown): unknown {
  if (error instanceof Error && /^error serializing property/.test(error.message)) {
    const inner = error.message.replace(/^error serializing property "[^"]*": /, "");
    const wrapped = new Error(inner);
    return Object.assign(wrapped, { exitCode: (error as { exitCode?: number }).exitCode });
  }
  return error;
}

/** The guard: every registered input must obey AWS's rules (core/aws-constraints.ts), else exit 2 naming resource, property and rule. */
export function assertAwsAccepts(records: readonly ResourceRecord[], region: string): void {
  const violations = checkConstraints(
    records.filter((r) => r.custom !== false),
    { region },
  );
  if (violations.length === 0) return;
  throw new UsageError(`${violations.length} input(s) break AWS rules:\n${violations.map(describeViolation).join("\n")}`, { subject: violations[0].resource });
}

let runCount = 0;

/** Loads the program fresh: under tsx by clearing the project's modules from require's cache, elsewhere by import(). */
async function loadProgram(program: string): Promise<Record<string, unknown>> {
  const cjs = typeof require !== "undefined" && Boolean(require.extensions?.[".ts"]);
  if (cjs) {
    for (const key of Object.keys(require.cache)) {
      if (key.startsWith(PROJECT_ROOT) && !key.includes(`${path.sep}node_modules${path.sep}`) && !key.includes(`${path.sep}scripts${path.sep}state${path.sep}`))
        delete require.cache[key];
    }
    return require(program) as Record<string, unknown>;
  }
  return { ...((await import(`${program}?run=${++runCount}`)) as Record<string, unknown>) };
}

/**
 * Runs the Pulumi program under Pulumi's mocks and captures every RegisterResource request: no
 * AWS, no Pulumi CLI, no network. One run at a time per process.
 */
export async function runOffline(options: OfflineRunOptions): Promise<OfflineRun> {
  // Loaded here, not at the top: reading a stack file or printing --help never pays for the Pulumi SDK.
  const pulumi = require("@pulumi/pulumi") as typeof Pulumi;
  const project = options.project ?? projectName();
  const nameProblem = experimentNameProblem(options.stack, project);
  if (nameProblem) throw new UsageError(`--stack: ${nameProblem}`, { subject: "--stack" });
  const program = options.program ?? DEFAULT_PROGRAM;
  // The program resolves local dataset sources against the project folder, as under `pulumi up` (its cwd).
  process.env.TRAINCTL_PROJECT_DIR ??= defaultProjectDir();
  const region = typeof options.config["aws:region"] === "string" ? options.config["aws:region"] : "us-east-1";
  const config: Record<string, string> = {};
  for (const [key, value] of Object.entries(options.config)) config[key] = typeof value === "string" ? value : JSON.stringify(value);
  if (!config["aws:region"]) config["aws:region"] = region;

  pulumi.runtime.setAllConfig(config);
  const invokes: string[] = [];
  await pulumi.runtime.setMocks(
    {
      newResource: (args) => mockState(args, region, options.stackOutputs ?? {}),
      call: (args) => {
        invokes.push(args.token);
        const inputs = args.inputs as Record<string, unknown>;
        return options.invokes?.(args.token, inputs) ?? defaultInvoke(args.token, inputs, region);
      },
    },
    project,
    options.stack,
    false,
    "organization",
  );

  const monitor = pulumi.runtime.getMonitor() as unknown as MockMonitor;
  const captured: { request: CapturedRequest; urn: string; id: string; inputs: Record<string, unknown>; outputs: Record<string, unknown> }[] = [];
  const stackOutputs: Record<string, unknown> = {};
  const properties = (struct: Struct | undefined) => (struct ? (pulumi.runtime.deserializeProperties(struct) as Record<string, unknown>) : {});
  const register = monitor.registerResource.bind(monitor);
  monitor.registerResource = (req, callback) => {
    const request = toRequest(req);
    register(req, (error, response) => {
      if (!error && response) {
        captured.push({
          request,
          urn: response.getUrn(),
          id: response.getId(),
          inputs: properties(req.getObject()),
          outputs: properties(response.getObject()),
        });
      }
      callback(error, response);
    });
  };
  const registerOutputs = monitor.registerResourceOutputs.bind(monitor);
  monitor.registerResourceOutputs = (req, callback) => {
    if (req.getUrn().includes("::pulumi:pulumi:Stack::")) Object.assign(stackOutputs, properties(req.getOutputs()));
    registerOutputs(req, callback);
  };

  // Failures inside outputs (a duplicate volume, a missing default VPC) surface as unhandled
  // rejections, as under `pulumi up`; the first one is the program's error.
  let programError: unknown;
  let failed: () => void = () => {};
  const failure = new Promise<void>((resolve) => (failed = resolve));
  const capture = (error: unknown) => {
    programError ??= error;
    failed();
  };
  // Pulumi logs a failed input (e.g. a throw inside apply) and leaves its resource pending forever.
  const logModule = require("@pulumi/pulumi/log") as { error: typeof Pulumi.log.error };
  const logError = logModule.error;
  // Offline, the error is rethrown as one clean line instead of being logged.
  logModule.error = (message: string) => {
    capture(new Error(cleanRuntimeMessage(message)));
    return Promise.resolve();
  };
  process.on("unhandledRejection", capture);
  process.on("uncaughtException", capture);
  const run = async () => {
    await pulumi.runtime.runInPulumiStack(async () => {
      try {
        const exports = await loadProgram(program);
        return Object.fromEntries(Object.entries(exports).filter(([key]) => key !== "default" && key !== "__esModule"));
      } catch (error) {
        capture(error);
        return undefined;
      }
    });
    await pulumi.runtime.disconnect();
    await new Promise((resolve) => setImmediate(resolve));
  };
  try {
    await Promise.race([run(), failure]);
    // A failed program leaves rejections in flight: let them land here, not in the next run.
    if (programError) await new Promise((resolve) => setTimeout(resolve, 250));
  } finally {
    process.off("unhandledRejection", capture);
    process.off("uncaughtException", capture);
    logModule.error = logError;
  }
  if (programError) {
    const error = unwrapSerializationError(programError);
    // Lets callers check that a failed program registered nothing beyond the stack.
    if (error && typeof error === "object") Object.assign(error, { registeredTypes: captured.map((c) => c.request.type) });
    throw error;
  }

  const records: ResourceRecord[] = captured.map(({ request, urn, id, inputs, outputs }) => ({
    urn,
    type: request.type,
    name: request.name,
    id: id || undefined,
    custom: request.custom,
    parent: request.parent || undefined,
    provider: request.provider || undefined,
    protect: request.protect,
    retainOnDelete: request.retainOnDelete,
    dependencies: request.dependencies,
    inputs,
    outputs: request.type === "pulumi:pulumi:Stack" ? stackOutputs : outputs,
    tags: {},
  }));
  const tagged = withEffectiveTags(records);
  const modelRegion = regionOf(tagged) ?? region;
  assertAwsAccepts(tagged, modelRegion);
  return {
    model: { source: "plan", stack: options.stack, project, region: modelRegion, resources: tagged, deleted: [] },
    captured: tagged.map((record, i) => ({ record, request: captured[i].request })),
    outputs: stackOutputs,
    invokes,
  };
}

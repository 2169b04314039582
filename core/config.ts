import { existsSync, statSync } from "node:fs";
import * as path from "node:path";
import { z } from "zod";
import { ConfigError, type ConfigIssue } from "./errors";
import { defaultAmiProblem } from "./ami";
import { INCARNATION } from "./names";
import { INSTANCE_PRICES, isKnownInstanceType } from "./catalog";
import { instanceSpec } from "./instance-specs";
import { asString, CONTROL_CHARACTER } from "./text";
import { FORMATS, STRATEGIES, WARM_MODES, type WarmMode } from "./lists";

// The strategy, format and warm-mode lists live in core/lists.ts (zod-free, so a command's options can name them).
export { FORMATS, type Format, STRATEGIES, STRATEGY_NAMES, type Strategy, WARM_MODES, type WarmMode } from "./lists";

/**
 * The one schema for a stack's config. Every default lives here; `docs/configuration.md`
 * documents each key. Raw values arrive as Pulumi gives them: `namespace:key` → string
 * (objects as JSON strings) or already-parsed values from a `Pulumi.<stack>.yaml`.
 */

/** AWS limits for the volume types trainctl provisions (EBS volume types documentation). */
export const VOLUME_LIMITS = {
  gp3: { sizeGiB: [1, 65_536], iops: [3_000, 80_000], iopsPerGiB: 500, throughputMiBs: [125, 2_000], throughputPerIops: 0.25 },
  io2: { sizeGiB: [4, 65_536], iops: [100, 256_000], iopsPerGiB: 1_000, kibPerIo: 256, maxThroughputMiBs: 4_000 },
} as const;

/**
 * What a configured volume delivers: gp3 gives its baseline (the minimum of each range: 3,000 IOPS,
 * 125 MiB/s) unless more is provisioned; io2's throughput follows its IOPS at 256 KiB per I/O.
 */
export function volumePerformance(volume: { type: "gp3" | "io2"; iops?: number; throughputMiBs?: number }): { iops: number; throughputMiBs: number } {
  if (volume.type === "io2") {
    const io2 = VOLUME_LIMITS.io2;
    const iops = volume.iops ?? io2.iops[0];
    return { iops, throughputMiBs: Math.min(io2.maxThroughputMiBs, (iops * io2.kibPerIo) / 1024) };
  }
  const gp3 = VOLUME_LIMITS.gp3;
  return { iops: volume.iops ?? gp3.iops[0], throughputMiBs: volume.throughputMiBs ?? gp3.throughputMiBs[0] };
}

const positiveInt = z.number().int().positive();

/**
 * The most instance types one recovery group may list: the launch template overrides of a
 * MixedInstancesPolicy ("You can specify up to 20 launch templates per Auto Scaling group",
 * LaunchTemplateOverrides in @aws-sdk/client-auto-scaling/dist-types/models/models_0.d.ts).
 */
export const MAX_INSTANCE_TYPES = 20;

/** SSM parameter names: levels of `a-zA-Z0-9_.-` (PutParameter, Name, in the SSM API reference). */
const ssmParameterName = z.string().regex(/^(\/[A-Za-z0-9_.-]+)+$/, "expected an SSM parameter name like /aws/service/…/ami-id");

/**
 * Tags every service accepts (Tagging AWS resources, "Tag naming limits and requirements"): keys
 * 1..127 (EC2's Tag.Key, @aws-sdk/client-ec2 models_0.d.ts; the provider's default tags reach the
 * instances) and values 0..256 of letters, digits, spaces and `_ . : / = + - @`; `aws:` is reserved.
 */
const TAG_TEXT = /^[\p{L}\p{N}\p{Zs}_.:/=+\-@]*$/u;
const tagKey = z
  .string()
  .min(1)
  .max(127)
  .regex(TAG_TEXT, "expected letters, digits, spaces and _ . : / = + - @")
  .refine((key) => !key.toLowerCase().startsWith("aws:"), "the aws: prefix is reserved by AWS");
const tagValue = z.string().max(256).regex(TAG_TEXT, "expected letters, digits, spaces and _ . : / = + - @");

const autostopSchema = z.strictObject({
  idleMinutes: z.number().int().min(5).max(1_440).default(30),
  action: z.enum(["stop", "terminate", "none"]).default("terminate"),
  /** GPU utilisation (percent) below which a minute counts as idle. */
  gpuThresholdPercent: z.number().min(0).max(100).default(5),
});

const instanceSchema = z.strictObject({
  type: z.string().default("g5.xlarge"),
  count: z.number().int().min(1).max(64).default(1),
  market: z.enum(["spot", "on-demand"]).default("on-demand"),
  maxPrice: z.number().positive().optional(),
  spot: z.strictObject({ persistent: z.boolean().default(false) }).default({ persistent: false }),
  rootVolumeGiB: z.number().int().min(30).max(16_384).default(100),
  autostop: autostopSchema.default({ idleMinutes: 30, action: "terminate", gpuThresholdPercent: 5 }),
  maxHours: z.number().positive().max(8_760).optional(),
  /** Explicit AMI id; when set, AMI changes are no longer ignored. */
  ami: z
    .string()
    .regex(/^ami-[0-9a-f]{8,17}$/, "expected an AMI id like ami-0123456789abcdef0")
    .optional(),
  /** SSM parameter holding the AMI id (default: the AWS Deep Learning Base GPU AMI, Ubuntu 22.04). */
  amiParameter: ssmParameterName.optional(),
  /** Spot recovery: each node is its own Auto Scaling group of size 1 (docs/spot.md). */
  recovery: z.boolean().default(false),
  /** Instance types a recovery group may launch, preferred first; `type` defaults to the first. */
  types: z.array(z.string()).min(1).max(MAX_INSTANCE_TYPES).optional(),
  /** Run restarts after interruptions before the groups scale to 0. */
  maxRestarts: z.number().int().min(0).max(1_000).default(3),
  /** Cost-estimate assumption only: spot interruptions per node per day. */
  interruptionsPerDay: z.number().min(0).max(100).default(1),
  /** Cost-estimate assumption only: minutes each interruption costs (boot, stage, progress since the last checkpoint). */
  restartMinutes: z.number().min(0).max(1_440).default(15),
});

const dataVolumeSchema = z.strictObject({
  snapshotId: z
    .string()
    .regex(/^snap-[0-9a-f]{8,17}$/, "expected a snapshot id like snap-0123456789abcdef0")
    .optional(),
  adopt: z
    .string()
    .regex(/^vol-[0-9a-f]{8,17}$/, "expected a volume id like vol-0123456789abcdef0")
    .optional(),
  sizeGiB: positiveInt.optional(),
  type: z.enum(["gp3", "io2"]).default("gp3"),
  iops: positiveInt.optional(),
  throughputMiBs: positiveInt.optional(),
  warm: z.enum(WARM_MODES).optional(),
  initRateMiBs: z.number().int().optional(),
  mountPoint: z.string().default("/mnt/data"),
  protect: z.boolean().default(true),
  /** Availability zone of an adopted volume; the instance is placed there. */
  availabilityZone: z.string().optional(),
});

const bucketSchema = z.strictObject({
  adopt: z
    .string()
    .regex(/^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$/, "expected an S3 bucket name")
    .optional(),
  protect: z.boolean().default(true),
  keepVersions: positiveInt.max(100).optional(),
  expireDays: positiveInt.max(3_650).optional(),
});

/** Checkpoints keep a few noncurrent versions for a while; each key has its default, set or not. */
const checkpointsSchema = bucketSchema.extend({
  keepVersions: positiveInt.max(100).default(5),
  expireDays: positiveInt.max(3_650).default(90),
});

const bucketsSchema = z.strictObject({
  datasets: bucketSchema.default(bucketSchema.parse({})),
  checkpoints: checkpointsSchema.default(checkpointsSchema.parse({})),
});

const datasetSchema = z.strictObject({
  source: z.string().min(1),
  strategy: z.enum(STRATEGIES).default("auto"),
  format: z.enum(FORMATS).default("files"),
  sizeGiB: z.number().positive().optional(),
  files: positiveInt.optional(),
  epochs: positiveInt.default(10),
  runs: positiveInt.default(1),
});

const budgetSchema = z.strictObject({
  monthlyUsd: z.number().positive(),
  emails: z.array(z.email()).min(1),
  /**
   * Removed (cost-allocation tags are account-wide: docs/configuration.md). `retain` is the migration
   * step for stacks that declared them: they stay in state, retained, until the key is dropped.
   */
  activateCostTags: z.union([z.boolean(), z.literal("retain")]).optional(),
});

const networkSchema = z.strictObject({
  subnetId: z
    .string()
    .regex(/^subnet-[0-9a-f]{8,17}$/, "expected a subnet id like subnet-0123456789abcdef0")
    .optional(),
  availabilityZone: z.string().optional(),
});

/** The data volume a config gets when it writes no type, IOPS or throughput (the recommender's default). */
export const DEFAULT_DATA_VOLUME = dataVolumeSchema.parse({});

export const stackConfigSchema = z.strictObject({
  region: z
    .string()
    .regex(/^[a-z]{2}(-gov)?-[a-z]+-\d$/, "expected an AWS region like us-east-1")
    .default("us-east-1"),
  owner: z.string().regex(/^[A-Za-z0-9._@+-]{1,128}$/, "expected a user name or e-mail"),
  costCenter: z.string().regex(/^[A-Za-z0-9._:/=+@ -]{1,256}$/, "expected a tag-safe string"),
  instance: instanceSchema.default(instanceSchema.parse({})),
  dataVolume: dataVolumeSchema.optional(),
  buckets: bucketsSchema.default(bucketsSchema.parse({})),
  dataset: datasetSchema.optional(),
  budget: budgetSchema.optional(),
  network: networkSchema.default({}),
  /** Set once per experiment (`experiment new`): tags its data volumes so a retry knows its own. */
  incarnation: z.string().regex(INCARNATION, "expected 12 lowercase hex characters").optional(),
  /** Extra cost-allocation tags added to the provider's default tags. */
  tags: z.record(tagKey, tagValue).default({}),
  /** Accounts this stack may deploy to; `trainctl preflight` fails in any other. */
  allowedAccounts: z
    .array(z.string().regex(/^\d{12}$/, "expected a 12-digit AWS account id"))
    .min(1)
    .optional(),
});

type ParsedConfig = z.infer<typeof stackConfigSchema>;
/** The warm mode after derived defaults, with the init rate set exactly when the mode is `rate`. */
export type WarmSetting = { warm: "rate"; initRateMiBs: number } | { warm: Exclude<WarmMode, "rate">; initRateMiBs?: undefined };
export type DataVolumeConfig = Omit<z.infer<typeof dataVolumeSchema>, "warm" | "initRateMiBs"> & WarmSetting;
export type StackConfig = Omit<ParsedConfig, "dataVolume"> & { dataVolume?: DataVolumeConfig };
export type InstanceConfig = StackConfig["instance"];
export type BucketConfig = z.infer<typeof bucketSchema>;
export type DatasetConfig = z.infer<typeof datasetSchema>;
export type BudgetConfig = z.infer<typeof budgetSchema>;
export type NetworkConfig = StackConfig["network"];

/** The instance types a node may run as: `types`, else the one `type`. */
export function instanceTypes(instance: Pick<InstanceConfig, "type" | "types">): string[] {
  return instance.types ?? [instance.type];
}

/** Keys of the raw config and where they live in the parsed object. */
const KEY_NAMES: Record<string, string> = {
  "aws:region": "region",
  "trainctl:owner": "owner",
  "trainctl:costCenter": "costCenter",
  "trainctl:instance": "instance",
  "trainctl:dataVolume": "dataVolume",
  "trainctl:buckets": "buckets",
  "trainctl:dataset": "dataset",
  "trainctl:budget": "budget",
  "trainctl:network": "network",
  "trainctl:tags": "tags",
  "trainctl:incarnation": "incarnation",
  "trainctl:allowedAccounts": "allowedAccounts",
};
const FIELD_TO_KEY = Object.fromEntries(Object.entries(KEY_NAMES).map(([k, v]) => [v, k]));

/** Old key names and what replaced them. Empty until a key is renamed. */
const RENAMED_KEYS: Record<string, string> = {};

/** `["dataVolume","initRateMiBs"]` → `trainctl:dataVolume.initRateMiBs`; a segment holding controls is shown quoted. */
export function keyPath(segments: readonly PropertyKey[]): string {
  const [head, ...rest] = segments.map((s) => (CONTROL_CHARACTER.test(String(s)) ? JSON.stringify(String(s)) : String(s)));
  const root = FIELD_TO_KEY[head] ?? `trainctl:${head}`;
  return [root, ...rest].join(".").replace(/\.(\d+)(?=\.|$)/g, "[$1]");
}

function show(value: unknown): string {
  if (value === undefined) return "nothing";
  const text = JSON.stringify(value);
  return text.length > 60 ? `${text.slice(0, 57)}...` : text;
}

function describeIssue(issue: z.core.$ZodIssue & { input?: unknown }): string {
  const got = `(got ${show(issue.input)})`;
  switch (issue.code) {
    case "invalid_value":
      return `must be one of ${issue.values.map((v) => String(v)).join(" | ")} ${got}`;
    case "too_small":
      return issue.origin === "array" ? `needs at least ${issue.minimum} entries` : `must be ${issue.inclusive ? ">=" : ">"} ${issue.minimum} ${got}`;
    case "too_big":
      return `must be ${issue.inclusive ? "<=" : "<"} ${issue.maximum} ${got}`;
    case "invalid_type":
      return issue.input === undefined ? `is required (expected ${issue.expected})` : `expected ${issue.expected} ${got}`;
    case "unrecognized_keys":
      return "";
    case "invalid_key":
      return `invalid key: ${issue.issues.map((inner) => inner.message).join("; ")} ${got}`;
    case "invalid_format":
      return `${issue.message.replace(/^Invalid string: /, "")} ${got}`;
    default:
      return `${issue.message} ${got}`;
  }
}

/** The parts of a zod schema the key walker reads: wrappers' inner type, objects' shape, records' value type. */
interface SchemaNode {
  def?: { innerType?: SchemaNode; valueType?: SchemaNode };
  shape?: Record<string, SchemaNode>;
}

function unwrapped(node: SchemaNode | undefined): SchemaNode | undefined {
  while (node?.def?.innerType) node = node.def.innerType;
  return node;
}

function acceptedKeys(schemaPath: PropertyKey[]): string[] {
  let node: SchemaNode | undefined = stackConfigSchema as SchemaNode;
  for (const segment of schemaPath) {
    const inner = unwrapped(node);
    node = inner?.shape?.[segment as string] ?? inner?.def?.valueType;
    if (!node) return [];
  }
  return Object.keys(unwrapped(node)?.shape ?? {});
}

/**
 * Collects config issues, keeping only independent ones: an issue is dropped when its key, an entry
 * of it (`key[i]`), or a key it was derived from (`because`), already has one, or when a typo already
 * explains its key.
 */
export class IssueLog {
  readonly issues: ConfigIssue[] = [];
  private readonly settled = new Set<string>();

  add(issue: ConfigIssue, because: readonly string[] = []): void {
    if ([issue.path, ...because].some((path) => this.explains(path))) return;
    this.issues.push(issue);
    this.settled.add(issue.path);
  }

  private explains(path: string): boolean {
    return this.settled.has(path) || [...this.settled].some((settled) => settled.startsWith(`${path}[`));
  }

  /** A key whose problems are already explained (a typo of it was reported). */
  settle(path: string): void {
    this.settled.add(path);
  }
}

/** Optimal-string-alignment distance: edits, with a swap of neighbours counting as one. */
export function editDistance(a: string, b: string): number {
  const d = Array.from({ length: a.length + 1 }, (_, i) => Array.from({ length: b.length + 1 }, (_, j) => (i === 0 ? j : j === 0 ? i : 0)));
  for (let i = 1; i <= a.length; i++) {
    for (let j = 1; j <= b.length; j++) {
      const cost = a[i - 1] === b[j - 1] ? 0 : 1;
      d[i][j] = Math.min(d[i - 1][j] + 1, d[i][j - 1] + 1, d[i - 1][j - 1] + cost);
      if (i > 1 && j > 1 && a[i - 1] === b[j - 2] && a[i - 2] === b[j - 1]) d[i][j] = Math.min(d[i][j], d[i - 2][j - 2] + 1);
    }
  }
  return d[a.length][b.length];
}

/** The accepted key a typo most likely meant (case-insensitive, about one edit in three letters), if any. */
export function closestKey(typo: string, accepted: readonly string[]): string | undefined {
  const budget = Math.max(1, Math.round(typo.length / 3));
  const ranked = accepted.map((key) => ({ key, distance: editDistance(typo.toLowerCase(), key.toLowerCase()) })).sort((x, y) => x.distance - y.distance);
  return ranked[0] && ranked[0].distance <= budget ? ranked[0].key : undefined;
}

const unknownKeyMessage = (accepted: readonly string[], meant: string | undefined) =>
  meant !== undefined ? `unknown key (did you mean ${meant}?)` : `unknown key (accepted: ${accepted.join(", ")})`;

/** Every string in the raw config, keys of maps included, that holds a control character. */
export function controlCharacterIssues(raw: unknown, segments: PropertyKey[] = []): ConfigIssue[] {
  if (typeof raw === "string")
    return CONTROL_CHARACTER.test(raw)
      ? [{ path: keyPath(segments), message: `must not contain control characters such as a newline or tab (got ${show(raw)})` }]
      : [];
  if (Array.isArray(raw)) return raw.flatMap((item, i) => controlCharacterIssues(item, [...segments, i]));
  if (!raw || typeof raw !== "object") return [];
  return Object.entries(raw).flatMap(([key, value]) =>
    CONTROL_CHARACTER.test(key)
      ? [{ path: keyPath([...segments, key]), message: "a key must not contain control characters such as a newline or tab" }]
      : controlCharacterIssues(value, [...segments, key]),
  );
}

function schemaIssues(error: z.ZodError, raw: Loose, log: IssueLog): void {
  // Unknown keys first: a typo settles the "is required" of the key it meant.
  const unknownFirst = [...error.issues].sort((a, b) => Number(b.code === "unrecognized_keys") - Number(a.code === "unrecognized_keys"));
  for (const issue of unknownFirst) {
    if (issue.code !== "unrecognized_keys") {
      log.add({ path: keyPath(issue.path), message: describeIssue(issue) });
      continue;
    }
    const siblings = obj(issue.path.reduce<unknown>((node, segment) => obj(node)[segment as string], raw));
    for (const key of issue.keys) {
      const where = keyPath([...issue.path, key]);
      const renamed = RENAMED_KEYS[where];
      if (renamed) {
        log.add({ path: where, message: `was renamed to ${renamed}; move the value there` });
        continue;
      }
      const accepted = acceptedKeys(issue.path);
      const meant = closestKey(key, accepted);
      log.add({ path: where, message: unknownKeyMessage(accepted, meant) });
      if (meant !== undefined && siblings[meant] === undefined) log.settle(keyPath([...issue.path, meant]));
    }
  }
}

/** Context for checks that look outside the config: the project folder for local dataset sources. */
export interface ConfigContext {
  projectDir?: string;
}

type Loose = Record<string, unknown>;
const obj = (v: unknown): Loose => (v && typeof v === "object" && !Array.isArray(v) ? (v as Loose) : {});
const num = (v: unknown): number | undefined => (typeof v === "number" ? v : undefined);

/** A cross-field issue and the other keys it was derived from: a mistake there would explain it. */
export type DerivedIssue = ConfigIssue & { because: string[] };
type AddIssue = (segments: string[], message: string, because?: string[][]) => void;

/**
 * Cross-field rules, run on the parsed config with every default applied (`config`); where a key
 * failed the schema it keeps its raw value, so the rules still report alongside schema errors. `given`
 * is the raw input, read only to ask whether a key was written at all.
 */
export function crossFieldIssues(config: Loose, given: Loose, context: ConfigContext = {}): DerivedIssue[] {
  const issues: DerivedIssue[] = [];
  const add: AddIssue = (segments, message, because = []) => issues.push({ path: keyPath(segments), message, because: because.map(keyPath) });
  const region = String(config.region);
  const instance = obj(config.instance);
  const market = instance.market;

  // A type taken from `types` is checked with the list (recoveryIssues), not twice.
  const typeFromList = obj(given.instance).type === undefined && Array.isArray(instance.types);
  if (!typeFromList && typeof instance.type === "string" && !isKnownInstanceType(instance.type)) {
    const family = instance.type.split(".")[0];
    const near = Object.keys(INSTANCE_PRICES).filter((t) => t.startsWith(`${family}.`));
    add(
      ["instance", "type"],
      `unknown instance type ${show(instance.type)} (accepted: ${(near.length
        ? near
        : Object.keys(INSTANCE_PRICES)
            .map((t) => t.split(".")[0])
            .filter((f, i, all) => all.indexOf(f) === i)
            .map((f) => `${f}.*`)
      ).join(", ")})`,
    );
  }
  const amiProblem =
    !typeFromList && typeof instance.type === "string" && instance.ami === undefined && instance.amiParameter === undefined
      ? defaultAmiProblem(instance.type)
      : undefined;
  if (amiProblem) add(["instance", "type"], amiProblem);
  if (obj(config.budget).activateCostTags === true) {
    add(
      ["budget", "activateCostTags"],
      "was removed: cost-allocation tags are account-wide, activate them once per account (docs/configuration.md, Cost-allocation tags); a stack that declared them sets activateCostTags: retain, runs pulumi up once, then drops the key",
    );
  }
  if (instance.maxPrice !== undefined && market !== "spot") {
    add(["instance", "maxPrice"], `only allowed with trainctl:instance.market: spot (market is ${show(market)})`, [["instance", "market"]]);
  }
  const action = obj(instance.autostop).action;
  if (market === "spot" && action === "stop" && obj(instance.spot).persistent !== true && instance.recovery !== true) {
    add(
      ["instance", "autostop", "action"],
      `a one-time spot instance cannot be stopped (accepted: terminate | none, or set trainctl:instance.spot.persistent: true)`,
      [
        ["instance", "market"],
        ["instance", "spot", "persistent"],
      ],
    );
  }
  if (obj(given.instance).spot !== undefined && market !== "spot") {
    add(["instance", "spot"], `only allowed with trainctl:instance.market: spot (market is ${show(market)})`, [["instance", "market"]]);
  }
  recoveryIssues(instance, market, action, add);

  const network = obj(config.network);
  const zonePattern = new RegExp(`^${region}[a-z]$`);
  if (typeof network.availabilityZone === "string" && !zonePattern.test(network.availabilityZone)) {
    add(["network", "availabilityZone"], `must be a zone of region ${region}, like ${region}a (got ${show(network.availabilityZone)})`, [["region"]]);
  }

  if (config.dataVolume !== undefined) dataVolumeIssues(obj(config.dataVolume), obj(given.dataVolume), network, zonePattern, region, add);

  const datasets = obj(obj(config.buckets).datasets);
  if (datasets.keepVersions !== undefined || datasets.expireDays !== undefined) {
    add(["buckets", "datasets"], "keepVersions/expireDays apply to checkpoints only (datasets keep every version)");
  }

  const dataset = obj(config.dataset);
  if (typeof dataset.source === "string") {
    const problem = datasetSourceProblem(dataset.source, context);
    if (problem) add(["dataset", "source"], problem);
  }
  return issues;
}

/** The spot-recovery rules: spot only, no stop, no persistent request, one GPU count over the types. */
function recoveryIssues(instance: Loose, market: unknown, action: unknown, add: AddIssue): void {
  const recovery = instance.recovery === true;
  if (recovery && market !== "spot")
    add(["instance", "recovery"], `only allowed with trainctl:instance.market: spot (market is ${show(market)})`, [["instance", "market"]]);
  if (recovery && action === "stop") {
    add(["instance", "autostop", "action"], "stop is refused with trainctl:instance.recovery: true: a group cannot stop a node (accepted: terminate | none)", [
      ["instance", "recovery"],
    ]);
  }
  if (recovery && obj(instance.spot).persistent === true) {
    add(["instance", "recovery"], "cannot be combined with trainctl:instance.spot.persistent: true: the group replaces interrupted nodes itself", [
      ["instance", "spot", "persistent"],
    ]);
  }
  if (!Array.isArray(instance.types) || !instance.types.every((t) => typeof t === "string")) return;
  const types = instance.types;
  const unknown = types.find((t) => !isKnownInstanceType(t));
  if (unknown !== undefined) {
    add(
      ["instance", "types"],
      `unknown instance type ${show(unknown)} (accepted: types of the price catalog, e.g. ${Object.keys(INSTANCE_PRICES).slice(0, 4).join(", ")})`,
    );
    return;
  }
  const repeated = types.find((t, i) => types.indexOf(t) !== i);
  if (repeated !== undefined) {
    add(["instance", "types"], `lists ${show(repeated)} more than once (each type once, preferred first)`);
    return;
  }
  if (typeof instance.type === "string" && types.length > 0 && types[0] !== instance.type) {
    add(
      ["instance", "types"],
      `must start with trainctl:instance.type ${show(instance.type)} (got ${show(types[0])}); or drop instance.type, which defaults to types[0]`,
      [["instance", "type"]],
    );
  }
  const amiProblem = instance.ami === undefined && instance.amiParameter === undefined ? types.map(defaultAmiProblem).find(Boolean) : undefined;
  if (amiProblem) add(["instance", "types"], amiProblem);
  const gpus = (t: string) => instanceSpec(t)?.gpus ?? 0;
  const odd = types.find((t) => gpus(t) !== gpus(types[0]));
  if (odd !== undefined) add(["instance", "types"], `every type must have the GPU count of ${types[0]} (${gpus(types[0])}): ${odd} has ${gpus(odd)}`);
  if (types.length > 1 && !recovery)
    add(["instance", "types"], "more than one type needs trainctl:instance.recovery: true (a bare instance has one type)", [["instance", "recovery"]]);
}

/** Data volume rules: `volume` is parsed with derived defaults (warm, initRateMiBs); `given` is as written. */
function dataVolumeIssues(volume: Loose, given: Loose, network: Loose, zonePattern: RegExp, region: string, add: AddIssue): void {
  const key = (name: string) => ["dataVolume", name];
  const type = asString(volume.type) ?? "gp3";
  const warm = volume.warm;
  const size = num(volume.sizeGiB);

  if (volume.snapshotId === undefined && volume.adopt === undefined && size === undefined) {
    add(["dataVolume"], "needs one of snapshotId, sizeGiB (an empty volume) or adopt", [key("sizeGiB")]);
  }
  if (volume.adopt !== undefined) {
    if (volume.snapshotId !== undefined) add(key("snapshotId"), "cannot be combined with trainctl:dataVolume.adopt", [key("adopt")]);
    if (typeof volume.availabilityZone !== "string")
      add(key("availabilityZone"), "is required with adopt: the instance is placed in the adopted volume's zone", [key("adopt")]);
    if (warm === "rate" || warm === "fsr")
      add(key("warm"), `${show(warm)} applies only while a volume is created from a snapshot (accepted with adopt: none | fio)`, [key("adopt")]);
  }
  if (typeof volume.availabilityZone === "string") {
    if (!zonePattern.test(volume.availabilityZone))
      add(key("availabilityZone"), `must be a zone of region ${region} (got ${show(volume.availabilityZone)})`, [["region"]]);
    else if (typeof network.availabilityZone === "string" && network.availabilityZone !== volume.availabilityZone) {
      add(key("availabilityZone"), `volume and instance must share a zone: trainctl:network.availabilityZone is ${show(network.availabilityZone)}`, [
        ["network", "availabilityZone"],
      ]);
    }
  }
  if (volume.snapshotId === undefined && volume.adopt === undefined && warm !== "none") {
    add(key("warm"), `${show(warm)} needs trainctl:dataVolume.snapshotId (an empty volume needs no warming; accepted: none)`, [
      key("snapshotId"),
      key("adopt"),
    ]);
  }
  if (given.initRateMiBs !== undefined) {
    const rate = num(given.initRateMiBs);
    if (rate === undefined || rate < INIT_RATE_MIBS.min || rate > INIT_RATE_MIBS.max)
      add(key("initRateMiBs"), `must be within ${INIT_RATE_MIBS.min}..${INIT_RATE_MIBS.max} MiB/s (got ${show(given.initRateMiBs)})`);
    else if (warm !== "rate" || volume.snapshotId === undefined)
      add(key("initRateMiBs"), `only allowed with warm: rate and a snapshotId (warm is ${show(warm)})`, [key("warm"), key("snapshotId")]);
  }
  if (warm === "fsr" && typeof network.availabilityZone !== "string" && typeof network.subnetId !== "string" && typeof volume.availabilityZone !== "string") {
    add(key("warm"), "fsr is enabled per availability zone: set trainctl:network.availabilityZone (or trainctl:network.subnetId) so the zone is known", [
      ["network", "availabilityZone"],
      ["network", "subnetId"],
      key("availabilityZone"),
    ]);
  }
  if (typeof volume.mountPoint === "string" && !isMountPoint(volume.mountPoint)) {
    add(
      key("mountPoint"),
      `must be an absolute path other than /, of letters, digits and . _ - (it is a field of /etc/fstab), with no . or .. level (got ${show(volume.mountPoint)})`,
    );
  }

  const limits = type === "io2" ? VOLUME_LIMITS.io2 : VOLUME_LIMITS.gp3;
  if (size !== undefined && (size < limits.sizeGiB[0] || size > limits.sizeGiB[1])) {
    add(key("sizeGiB"), `must be within ${limits.sizeGiB[0]}..${limits.sizeGiB[1]} GiB for ${type} (got ${size})`, [key("type")]);
  }
  const iops = num(volume.iops);
  if (type === "io2" && volume.iops === undefined) add(key("iops"), "is required for io2 (accepted: 100..256000)", [key("type")]);
  if (iops !== undefined) {
    if (iops < limits.iops[0] || iops > limits.iops[1])
      add(key("iops"), `must be within ${limits.iops[0]}..${limits.iops[1]} for ${type} (got ${iops})`, [key("type")]);
    else if (size !== undefined && iops > size * limits.iopsPerGiB)
      add(key("iops"), `${type} allows at most ${limits.iopsPerGiB} IOPS per GiB: ${size} GiB allows ${size * limits.iopsPerGiB} (got ${iops})`, [
        key("type"),
        key("sizeGiB"),
      ]);
  }
  const throughput = num(volume.throughputMiBs);
  if (throughput !== undefined) {
    if (type !== "gp3") add(key("throughputMiBs"), `only configurable on gp3 (type is ${show(type)})`, [key("type")]);
    else {
      const gp3 = VOLUME_LIMITS.gp3;
      const effectiveIops = iops ?? gp3.iops[0];
      if (throughput < gp3.throughputMiBs[0] || throughput > gp3.throughputMiBs[1])
        add(key("throughputMiBs"), `must be within ${gp3.throughputMiBs[0]}..${gp3.throughputMiBs[1]} MiB/s (got ${throughput})`);
      else if (throughput > effectiveIops * gp3.throughputPerIops)
        add(
          key("throughputMiBs"),
          `gp3 allows at most 0.25 MiB/s per provisioned IOPS: ${effectiveIops} IOPS allows ${effectiveIops * gp3.throughputPerIops} (got ${throughput})`,
          [key("iops")],
        );
    }
  }
}

/** A mount point fit for an /etc/fstab field and a shell word: absolute, not /, no whitespace, no dot levels. */
export function isMountPoint(mountPoint: string): boolean {
  const trimmed = mountPoint.replace(/\/$/, "");
  return /^(\/[A-Za-z0-9._-]+)+$/.test(trimmed) && !trimmed.split("/").some((level) => level === "." || level === "..");
}

/** Why a local dataset source is unusable, or undefined when it is fine (or an s3:// URL). */
export function datasetSourceProblem(source: string, context: ConfigContext): string | undefined {
  if (source.startsWith("s3://")) {
    if (/[*?]/.test(source)) return `${show(source)} holds * or ?, which the instance role's IAM policy would read as wildcards (accepted: a literal prefix)`;
    return /^s3:\/\/[a-z0-9][a-z0-9.-]{1,61}[a-z0-9](\/.*)?$/.test(source) ? undefined : `malformed S3 URL ${show(source)} (expected s3://bucket/prefix/)`;
  }
  if (/^[a-z0-9]+:\/\//i.test(source)) return `unsupported scheme in ${show(source)} (accepted: s3://bucket/prefix or a local folder)`;
  const projectDir = context.projectDir ?? process.cwd();
  const absolute = path.resolve(projectDir, source);
  const relative = path.relative(projectDir, absolute).split(path.sep);
  if (relative[0] !== ".." && (relative.includes("node_modules") || relative.includes(".git"))) {
    return `${show(source)} is inside the project's node_modules or .git (accepted: a dataset folder of your own)`;
  }
  if (!existsSync(absolute)) return `local folder ${show(source)} does not exist (resolved to ${absolute})`;
  if (!statSync(absolute).isDirectory()) return `${show(source)} is a file; a folder is required`;
  return undefined;
}

function parseRawValue(key: string, value: unknown, log: IssueLog): unknown {
  if (typeof value !== "string") return value;
  const field = KEY_NAMES[key];
  const scalar = field === "region" || field === "owner" || field === "costCenter" || field === "incarnation";
  if (scalar) return value;
  try {
    return JSON.parse(value);
  } catch {
    log.add({ path: key, message: `expected an object (got ${show(value)})` });
    return undefined;
  }
}

/** An unknown top-level key: a typo of a trainctl key names that key, and settles its "is required". */
function unknownTopLevelKey(key: string, values: Record<string, unknown>, log: IssueLog): void {
  const fields = Object.keys(KEY_NAMES)
    .filter((k) => k.startsWith("trainctl:"))
    .map((k) => KEY_NAMES[k]);
  const meant = key.startsWith("trainctl:") ? closestKey(key.slice("trainctl:".length), fields) : undefined;
  log.add({ path: CONTROL_CHARACTER.test(key) ? JSON.stringify(key) : key, message: unknownKeyMessage(Object.keys(KEY_NAMES), meant) });
  if (meant !== undefined && values[FIELD_TO_KEY[meant]] === undefined) log.settle(FIELD_TO_KEY[meant]);
}

/**
 * Validates a whole stack config; throws a ConfigError listing every independent problem, one per
 * line: key names first, then control characters, then the schema, then cross-field rules.
 */
export function parseStackConfig(values: Record<string, unknown>, context: ConfigContext = {}): StackConfig {
  const log = new IssueLog();
  const raw: Loose = {};
  for (const [key, value] of Object.entries(values)) {
    if (RENAMED_KEYS[key]) {
      log.add({ path: key, message: `was renamed to ${RENAMED_KEYS[key]}; move the value there` });
      continue;
    }
    if (!key.startsWith("trainctl:") && key !== "aws:region") continue;
    if (!KEY_NAMES[key]) unknownTopLevelKey(key, values, log);
    else raw[KEY_NAMES[key]] = parseRawValue(key, value, log);
  }
  for (const issue of controlCharacterIssues(raw)) log.add(issue);
  const { parsed, defaulted } = parseKeepingDefaults(raw);
  if (!parsed.success) schemaIssues(parsed.error, raw, log);
  for (const { because, ...issue } of crossFieldIssues(withDerivedDefaults(defaulted, raw), raw, context)) log.add(issue, because);
  if (log.issues.length > 0 || !parsed.success) throw new ConfigError(log.issues);
  return withDerivedDefaults(parsed.data, raw);
}

/**
 * The schema's output even where some keys fail: zod applies defaults key by key and a failing key
 * keeps its raw value, so the cross-field rules see the same defaults a valid config gets.
 */
function parseKeepingDefaults(raw: Loose): { parsed: ReturnType<typeof stackConfigSchema.safeParse>; defaulted: Loose } {
  let defaulted: Loose = {};
  const keep = stackConfigSchema.superRefine((value) => void (defaulted = value), { when: () => true });
  const parsed = keep.safeParse(raw, { reportInput: true });
  return { parsed, defaulted };
}

/** The provisioned initialization rate AWS accepts, and the default with `warm: rate` (the fastest). */
export const INIT_RATE_MIBS = { min: 100, max: 300, default: 300 } as const;

/**
 * Defaults that depend on other keys: the warm mode follows the snapshot; the init rate follows the
 * mode; `instance.type` follows `instance.types[0]` when only the list is given (`given`: the raw input).
 */
function withDerivedDefaults<T extends { dataVolume?: Loose; instance?: Loose }>(parsed: T, given: Loose): T & StackConfig {
  const types = obj(parsed.instance).types;
  const config =
    obj(given.instance).type === undefined && Array.isArray(types) && typeof types[0] === "string"
      ? { ...parsed, instance: { ...parsed.instance, type: types[0] } }
      : parsed;
  const volume = config.dataVolume;
  if (!volume || typeof volume !== "object") return config as T & StackConfig;
  const warm = volume.warm ?? (volume.snapshotId ? "rate" : "none");
  return {
    ...config,
    dataVolume: { ...volume, warm, initRateMiBs: warm === "rate" ? (volume.initRateMiBs ?? INIT_RATE_MIBS.default) : undefined },
  } as T & StackConfig;
}

import { readFileSync } from "node:fs";
import { UsageError } from "../../core/errors";
import { C0_CONTROL } from "../../core/text";
import { type ResourceRecord, type StackModel, parseUrn, regionOf, withEffectiveTags } from "./model";
import { groupTagMap } from "../../core/pricing";
import { TAG } from "../../core/tags";

/** Raw resource as Pulumi writes it in a v3 deployment or a preview step's state. */
interface RawResource {
  urn?: string;
  type?: string;
  id?: string;
  custom?: boolean;
  parent?: string;
  provider?: string;
  protect?: boolean;
  retainOnDelete?: boolean;
  delete?: boolean;
  created?: string;
  dependencies?: string[];
  propertyDependencies?: Record<string, string[]>;
  inputs?: Record<string, unknown>;
  outputs?: Record<string, unknown>;
}

function readJson(file: string, flag: string): unknown {
  if (!file) throw new UsageError(`${flag}: needs a file path (got an empty value)`, { subject: flag });
  let text: string;
  try {
    text = readFileSync(file, "utf8");
  } catch (error) {
    throw new UsageError(`${flag}: cannot read ${JSON.stringify(file)} (${(error as NodeJS.ErrnoException).code ?? "unreadable"})`, { subject: flag });
  }
  try {
    return JSON.parse(text);
  } catch (error) {
    throw new UsageError(`${flag}: ${JSON.stringify(file)} is not valid JSON (truncated?): ${(error as Error).message}`, { subject: flag });
  }
}

/** Numeric fields the pricing reads, per type (inputs or outputs); each must be a finite number >= 0 when set. */
const PRICED_FIELDS = new Map([
  [
    "aws:ec2/instance:Instance",
    ["instanceMarketOptions.spotOptions.maxPrice", "rootBlockDevice.volumeSize", "rootBlockDevice.iops", "rootBlockDevice.throughput"],
  ],
  ["aws:ebs/volume:Volume", ["size", "iops", "throughput", "volumeInitializationRate"]],
  ["aws:autoscaling/group:Group", ["mixedInstancesPolicy.instancesDistribution.spotMaxPrice"]],
  ["aws:ec2/launchTemplate:LaunchTemplate", ["blockDeviceMappings.0.ebs.volumeSize", "blockDeviceMappings.0.ebs.iops", "blockDeviceMappings.0.ebs.throughput"]],
]);
/** Numeric tags in a recovery group's tag list that the pricing reads. */
const PRICED_GROUP_TAGS = [TAG.interruptionsPerDay, TAG.restartMinutes, TAG.maxHours];
/** Numeric tags the pricing reads, on any resource. */
const PRICED_TAGS = [TAG.maxHours, TAG.expectedGiB];

/** A value quoted on one line, cut to a readable length. */
const describeValue = (value: unknown) => {
  const text = JSON.stringify(value) ?? String(value);
  return text.length > 60 ? `${text.slice(0, 57)}...` : text;
};
const isObject = (value: unknown): value is Record<string, unknown> => typeof value === "object" && value !== null && !Array.isArray(value);
const isStringList = (value: unknown): value is string[] => Array.isArray(value) && value.every((v) => typeof v === "string");

/** Checks the shape of one raw resource; the error names the resource and the field. */
function checkRaw(raw: unknown, where: string, flag: string): RawResource {
  const bad = (field: string, expected: string, value: unknown): never => {
    throw new UsageError(`${flag}: ${where}: ${field} must be ${expected} (got ${describeValue(value)})`, { subject: flag });
  };
  if (!isObject(raw)) return bad("the resource", "an object", raw);
  const optional = (field: string, ok: (v: unknown) => boolean, expected: string) => {
    const value = raw[field];
    if (value !== undefined && value !== null && !ok(value)) bad(field, expected, value);
  };
  for (const field of ["type", "id", "parent", "provider", "created"]) optional(field, (v) => typeof v === "string", "a string");
  for (const field of ["custom", "protect", "retainOnDelete", "delete"]) optional(field, (v) => typeof v === "boolean", "true or false");
  optional("dependencies", isStringList, "a list of URNs");
  optional("propertyDependencies", (v) => isObject(v) && Object.values(v).every(isStringList), "an object of URN lists");
  optional("inputs", isObject, "an object");
  optional("outputs", isObject, "an object");
  return raw;
}

/** A field at a dotted path, or undefined. */
function at(value: unknown, dotted: string): unknown {
  // A numeric segment indexes a list (`blockDeviceMappings.0.ebs.volumeSize`).
  return dotted.split(".").reduce<unknown>((v, key) => (isObject(v) ? v[key] : Array.isArray(v) ? v[Number(key)] : undefined), value);
}

/** How Pulumi writes a value a preview cannot know yet (sdk/go/common/resource/plugin: UnknownStringValue). */
const UNKNOWN = "04da6b54-80e4-46f7-96ec-b56ff0331ba9";
/** The key of Pulumi's secret envelope in state (resource.SigKey); the value inside is not readable here. */
const SECRET_SIG = "4dabf18193072939515e22adb298388d";

/** A price-bearing number: unset, unknown, secret, or a finite number >= 0 (numbers or numeric strings, as Pulumi writes them). */
const isPriceable = (value: unknown) => {
  if (value === undefined || value === null || value === "" || value === UNKNOWN) return true;
  if (isObject(value) && SECRET_SIG in value) return true;
  const n = typeof value === "string" ? Number(value.trim()) : value;
  return typeof n === "number" && Number.isFinite(n) && n >= 0;
};

/** Rejects numbers the pricing would sum: negative, infinite or not a number. Needs effective tags. */
function checkPricedNumbers(record: ResourceRecord, flag: string): void {
  const bad = (field: string, value: unknown) => {
    throw new UsageError(`${flag}: ${record.urn}: ${field} must be a finite number >= 0 (got ${describeValue(value)})`, { subject: flag });
  };
  for (const field of PRICED_FIELDS.get(record.type) ?? []) {
    for (const side of ["inputs", "outputs"] as const) {
      const value = at(record[side], field);
      if (!isPriceable(value)) bad(`${side}.${field}`, value);
    }
  }
  for (const tag of PRICED_TAGS) if (!isPriceable(record.tags[tag])) bad(`tag ${tag}`, record.tags[tag]);
  if (record.type === "aws:autoscaling/group:Group") {
    const tags = groupTagMap(record);
    for (const tag of PRICED_GROUP_TAGS) if (!isPriceable(tags[tag])) bad(`tag ${tag}`, tags[tag]);
  }
}

const URN = /^urn:pulumi:[^:]*::[^:]*::.+?::.*$/;

function toRecord(raw: RawResource, where: string, flag: string, extra: Partial<ResourceRecord> = {}): ResourceRecord {
  const urn = raw.urn;
  if (typeof urn !== "string" || !URN.test(urn) || C0_CONTROL.test(urn)) {
    throw new UsageError(`${flag}: ${where}: urn must be a Pulumi URN urn:pulumi:STACK::PROJECT::TYPE::NAME (got ${describeValue(urn)})`, { subject: flag });
  }
  const parsed = parseUrn(urn);
  const dependencies = new Set(raw.dependencies ?? []);
  for (const deps of Object.values(raw.propertyDependencies ?? {})) for (const d of deps) dependencies.add(d);
  return {
    urn,
    type: raw.type ?? parsed.type,
    name: parsed.name,
    id: raw.id || undefined,
    custom: raw.custom ?? false,
    parent: raw.parent || undefined,
    provider: raw.provider || undefined,
    protect: raw.protect === true,
    retainOnDelete: raw.retainOnDelete === true,
    dependencies: [...dependencies],
    inputs: raw.inputs ?? {},
    outputs: raw.outputs ?? {},
    tags: {},
    pendingDelete: raw.delete === true || undefined,
    created: raw.created || undefined,
    ...extra,
  };
}

/** Effective tags, then the numbers the pricing reads checked on every record. */
function finish(records: ResourceRecord[], flag: string): ResourceRecord[] {
  const tagged = withEffectiveTags(records);
  for (const r of tagged) checkPricedNumbers(r, flag);
  return tagged;
}

function stackAndProject(records: ResourceRecord[]): { stack: string; project: string } {
  const first = records[0];
  if (!first) return { stack: "", project: "" };
  const { stack, project } = parseUrn(first.urn);
  return { stack, project };
}

/** Parses `pulumi stack export` JSON (version 3 deployment). Missing boolean flags mean false. */
export function parseStackExport(json: unknown, source = "--state"): StackModel {
  const doc = json as { version?: unknown; deployment?: { resources?: unknown } } | null;
  if (!doc || typeof doc !== "object" || !("deployment" in doc) || typeof doc.version !== "number") {
    throw new UsageError(`${source}: not a Pulumi stack export (expected {version: 3, deployment: {...}}; run 'pulumi stack export --file state.json')`, {
      subject: source,
    });
  }
  if (doc.version !== 3) {
    throw new UsageError(`${source}: stack export version ${doc.version} is not supported (accepted: 3; export again with a current Pulumi CLI)`, {
      subject: source,
    });
  }
  if (!isObject(doc.deployment)) throw new UsageError(`${source}: deployment must be an object (got ${describeValue(doc.deployment)})`, { subject: source });
  const raw = doc.deployment.resources ?? [];
  if (!Array.isArray(raw)) throw new UsageError(`${source}: deployment.resources must be a list (got ${describeValue(raw)})`, { subject: source });
  const records = raw.map((r, i) => {
    const where = `resource #${i}${isObject(r) && typeof r.urn === "string" ? ` ${JSON.stringify(r.urn)}` : ""}`;
    return toRecord(checkRaw(r, where, source), where, source);
  });
  const resources = finish(records, source);
  return { source: "state", ...stackAndProject(resources), region: regionOf(resources), resources, deleted: [] };
}

/** Every step operation Pulumi writes (pkg/resource/deploy/step.go). */
const STEP_OPS = new Set([
  "same",
  "create",
  "update",
  "delete",
  "replace",
  "create-replacement",
  "delete-replaced",
  "read",
  "read-replacement",
  "refresh",
  "discard",
  "discard-replaced",
  "remove-pending-replace",
  "import",
  "import-replacement",
]);
/** Steps whose resource is gone afterwards: priced from the old state, as savings. */
const DELETE_OPS = new Set(["delete", "discard", "delete-replaced", "discard-replaced", "remove-pending-replace"]);
/** A replace appears as create-replacement + delete-replaced + replace; price it once, from its `replace` step. */
const REPLACE_HALVES = new Set(["create-replacement", "delete-replaced"]);

/** Parses `pulumi preview --json`: new states of steps that are not deletes, and the old states of deletes. */
export function parsePreview(json: unknown, source = "--preview"): StackModel {
  const steps = isObject(json) ? json.steps : undefined;
  if (!Array.isArray(steps) || steps.length === 0) {
    throw new UsageError(`${source}: no steps found (expected the output of 'pulumi preview --json')`, { subject: source });
  }
  const resources: ResourceRecord[] = [];
  const deleted: ResourceRecord[] = [];
  steps.forEach((step: unknown, i) => {
    const where = `step #${i}${isObject(step) && typeof step.urn === "string" ? ` ${JSON.stringify(step.urn)}` : ""}`;
    const bad = (field: string, expected: string, value: unknown): never => {
      throw new UsageError(`${source}: ${where}: ${field} must be ${expected} (got ${describeValue(value)})`, { subject: source });
    };
    if (!isObject(step)) return bad("the step", "an object", step);
    const op = step.op;
    if (typeof op !== "string" || !STEP_OPS.has(op)) return bad("op", `one of ${[...STEP_OPS].join(", ")}`, op);
    const isDelete = DELETE_OPS.has(op);
    const side = isDelete || (!isObject(step.newState) && isObject(step.oldState)) ? "oldState" : "newState";
    if (!isObject(step[side])) return bad(side, "an object (the resource's state)", step[side]);
    const state = checkRaw(step[side], `${where} ${side}`, source);
    const record = toRecord({ ...state, urn: state.urn ?? (step.urn as string | undefined) }, where, source, { op });
    if (!REPLACE_HALVES.has(op)) (isDelete ? deleted : resources).push(record);
  });
  const tagged = finish([...resources, ...deleted], source);
  const head = tagged.slice(0, resources.length);
  return { source: "preview", ...stackAndProject(tagged), region: regionOf(tagged), resources: head, deleted: tagged.slice(resources.length) };
}

export function readStackExport(file: string, flag = "--state"): StackModel {
  return parseStackExport(readJson(file, flag), flag);
}

export function readPreview(file: string, flag = "--preview"): StackModel {
  return parsePreview(readJson(file, flag), flag);
}

/** Reads a file that is either a stack export or a preview, for `--compare`. */
export function readStateOrPreview(file: string, flag: string): StackModel {
  const json = readJson(file, flag);
  return json && typeof json === "object" && "steps" in json ? parsePreview(json, flag) : parseStackExport(json, flag);
}

/** Flags that name one file or stack: each given at most once and never empty (`--state=` is not "no --state"). */
export function checkOneValueEach(args: Record<string, unknown>, flags: readonly string[]): void {
  for (const flag of flags) {
    const value = args[flag];
    if (Array.isArray(value)) throw new UsageError(`--${flag}: give it once (got ${value.length} values)`, { subject: `--${flag}` });
    if (value === "") throw new UsageError(`--${flag}: needs a value (got an empty one)`, { subject: `--${flag}` });
  }
}

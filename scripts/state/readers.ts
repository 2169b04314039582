import { readFileSync } from "node:fs";
import { UsageError } from "../errors";
import { type ResourceRecord, type StackModel, parseUrn, regionOf, withEffectiveTags } from "./model";

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
  let text: string;
  try {
    text = readFileSync(file, "utf8");
  } catch {
    throw new UsageError(`${flag}: cannot read ${file}`, { subject: flag });
  }
  try {
    return JSON.parse(text);
  } catch (error) {
    throw new UsageError(`${flag}: ${file} is not valid JSON (truncated?): ${(error as Error).message}`, { subject: flag });
  }
}

function toRecord(raw: RawResource, extra: Partial<ResourceRecord> = {}): ResourceRecord {
  const urn = raw.urn!;
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
    throw new UsageError(`${source}: not a Pulumi stack export (expected {version: 3, deployment: {...}}; run 'pulumi stack export --file state.json')`, { subject: source });
  }
  if (doc.version !== 3) {
    throw new UsageError(`${source}: stack export version ${doc.version} is not supported (accepted: 3; export again with a current Pulumi CLI)`, { subject: source });
  }
  const raw = doc.deployment?.resources ?? [];
  if (!Array.isArray(raw)) throw new UsageError(`${source}: deployment.resources is not a list`, { subject: source });
  for (const r of raw) {
    if (!r || typeof (r as RawResource).urn !== "string") throw new UsageError(`${source}: a resource has no urn`, { subject: source });
  }
  const resources = withEffectiveTags((raw as RawResource[]).map((r) => toRecord(r)));
  return { source: "state", ...stackAndProject(resources), region: regionOf(resources), resources, deleted: [] };
}

interface PreviewStep {
  op?: string;
  urn?: string;
  oldState?: RawResource;
  newState?: RawResource;
}

/** Parses `pulumi preview --json`: new states of steps that are not deletes, and the old states of deletes. */
export function parsePreview(json: unknown, source = "--preview"): StackModel {
  const steps = (json as { steps?: unknown } | null)?.steps;
  if (!Array.isArray(steps) || steps.length === 0) {
    throw new UsageError(`${source}: no steps found (expected the output of 'pulumi preview --json')`, { subject: source });
  }
  const resources: ResourceRecord[] = [];
  const deleted: ResourceRecord[] = [];
  for (const step of steps as PreviewStep[]) {
    const op = step.op ?? "same";
    const isDelete = op === "delete" || op === "discard" || op === "delete-replaced" || op === "read-discard";
    const state = isDelete ? step.oldState : (step.newState ?? step.oldState);
    if (!state || !(state.urn ?? step.urn)) continue;
    if (op === "delete-replaced" || op === "create-replacement") {
      // A replace appears as create-replacement + delete-replaced + replace; price it once, from its `replace` step.
      continue;
    }
    const record = toRecord({ ...state, urn: state.urn ?? step.urn }, { op });
    (isDelete ? deleted : resources).push(record);
  }
  const tagged = withEffectiveTags([...resources, ...deleted]);
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

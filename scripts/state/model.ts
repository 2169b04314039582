/**
 * The one resource model. The offline plan, `pulumi stack export` and `pulumi preview --json`
 * all produce these records; cost, teardown, sweep and the experiment list consume them.
 */
import { TAG, mergeTags } from "../../core/tags";

export interface ResourceRecord {
  urn: string;
  /** Pulumi type token, e.g. `aws:ec2/instance:Instance` or `trainctl:compute:TrainingInstance`. */
  type: string;
  name: string;
  /** Cloud id, when the source knows it. */
  id?: string;
  /** False for component resources and the stack itself. */
  custom: boolean;
  parent?: string;
  /** Provider reference `urn::id`, as Pulumi writes it. */
  provider?: string;
  protect: boolean;
  retainOnDelete: boolean;
  /** URNs this resource depends on (dependencies plus property dependencies). */
  dependencies: string[];
  inputs: Record<string, unknown>;
  outputs: Record<string, unknown>;
  /** Effective tags: provider default tags merged with the resource's own (`tagsAll` when known). */
  tags: Record<string, string>;
  /** State only: the resource is marked for deletion (pending replace). */
  pendingDelete?: boolean;
  /** State only: when Pulumi created the resource (ISO time; Pulumi 3.x writes it). */
  created?: string;
  /** Preview only: the step's operation (`create`, `update`, `same`, `delete`, `replace`, …). */
  op?: string;
}

export type ModelSource = "plan" | "state" | "preview";

export interface StackModel {
  source: ModelSource;
  stack: string;
  project: string;
  region?: string;
  /** What exists after the change (plan, state), or the new state of a preview. */
  resources: ResourceRecord[];
  /** Preview only: resources the preview deletes (their old state). */
  deleted: ResourceRecord[];
}

export interface ParsedUrn {
  stack: string;
  project: string;
  /** Full type chain, e.g. `trainctl:index:Experiment$aws:s3/bucket:Bucket`. */
  qualifiedType: string;
  type: string;
  name: string;
}

/** Splits `urn:pulumi:STACK::PROJECT::QUALIFIED$TYPE::NAME`. */
export function parseUrn(urn: string): ParsedUrn {
  const match = /^urn:pulumi:([^:]*)::([^:]*)::(.+?)::(.*)$/.exec(urn);
  if (!match) throw new Error(`not a Pulumi URN: ${urn}`);
  const [, stack, project, qualifiedType, name] = match;
  const chain = qualifiedType.split("$");
  return { stack, project, qualifiedType, type: chain[chain.length - 1], name };
}

/**
 * Whether tags mark a resource protected. Fail safe: the key in any case with ANY value counts
 * (`true`, `True`, `yes`, even empty); only its absence means unprotected.
 */
export function hasProtectedTag(tags: Readonly<Record<string, unknown>>): boolean {
  return protectedTag(tags) !== undefined;
}

/** The protection tag as written (`key=value`), when there is one; see hasProtectedTag. */
export function protectedTag(tags: Readonly<Record<string, unknown>>): string | undefined {
  const key = TAG.protected.toLowerCase();
  const found = Object.entries(tags).find(([k]) => k.trim().toLowerCase() === key);
  return found && `${found[0]}=${String(found[1])}`;
}

export function isProvider(record: Pick<ResourceRecord, "type">): boolean {
  return record.type.startsWith("pulumi:providers:");
}

export function isStackRoot(record: Pick<ResourceRecord, "type">): boolean {
  return record.type === "pulumi:pulumi:Stack";
}

/** The provider URN from a `urn::id` provider reference. */
export function providerUrn(reference: string | undefined): string | undefined {
  if (!reference) return undefined;
  const cut = reference.lastIndexOf("::");
  return cut > 0 && reference.startsWith("urn:") ? reference.slice(0, cut) : reference;
}

function stringRecord(value: unknown): Record<string, string> {
  if (!value || typeof value !== "object" || Array.isArray(value)) return {};
  const out: Record<string, string> = {};
  for (const [key, v] of Object.entries(value)) if (typeof v === "string") out[key] = v;
  return out;
}

/** Default tags an explicit `aws` provider applies, from its inputs (`defaultTags` as object or JSON string). */
export function providerDefaultTags(provider: Pick<ResourceRecord, "inputs"> | undefined): Record<string, string> {
  let defaults = provider?.inputs?.defaultTags;
  if (typeof defaults === "string") {
    try {
      defaults = JSON.parse(defaults);
    } catch {
      return {};
    }
  }
  return stringRecord((defaults as { tags?: unknown } | undefined)?.tags);
}

/**
 * Effective tags: `tagsAll` from outputs when the provider computed it, else the provider's default
 * tags overlaid with the resource's own `tags` (the resource wins, as in the AWS provider).
 */
export function effectiveTags(
  resource: Pick<ResourceRecord, "inputs" | "outputs" | "provider">,
  providersByUrn: ReadonlyMap<string, Pick<ResourceRecord, "inputs">>,
): Record<string, string> {
  const computed = stringRecord(resource.outputs?.tagsAll);
  if (Object.keys(computed).length > 0) return computed;
  const defaults = providerDefaultTags(providersByUrn.get(providerUrn(resource.provider) ?? ""));
  return mergeTags(defaults, stringRecord(resource.inputs?.tags ?? resource.outputs?.tags));
}

/** Fills `tags` on every record from its provider. Records must already hold inputs and outputs. */
export function withEffectiveTags(records: ResourceRecord[]): ResourceRecord[] {
  const providers = new Map(records.filter(isProvider).map((r) => [r.urn, r] as const));
  return records.map((r) => ({ ...r, tags: effectiveTags(r, providers) }));
}

/** The region, from the first aws provider that names one. */
export function regionOf(records: ResourceRecord[]): string | undefined {
  for (const r of records) {
    if (r.type === "pulumi:providers:aws") {
      const region = r.inputs.region ?? r.outputs.region;
      if (typeof region === "string") return region;
    }
  }
  return undefined;
}

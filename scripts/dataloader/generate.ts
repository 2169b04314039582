import { existsSync, readFileSync } from "node:fs";
import * as path from "node:path";
import { UsageError } from "../../core/errors";
import { instanceSpec } from "../../core/instance-specs";
import { folderClasses, type LoaderLabels, localKeys, parseManifest } from "./labels";
import { FORMATS, type Format, STRATEGY_NAMES, type Strategy } from "../../core/lists";

export interface LoaderSpec {
  strategy: Strategy;
  format: Format;
  /** A local folder (prewarmed-ebs) or an s3:// prefix (direct-s3, local-cache). */
  data: string;
  instanceType: string;
  /** Where local-cache stages the data (default: the DLAMI's instance-store mount). */
  cacheDir?: string;
  /** Side of the square images the default transform makes (default 224). */
  imageSize?: number;
  /** A CSV or JSONL manifest of sample key → label; without it, labels come from class folders or WebDataset members. */
  labels?: string;
}

export const DEFAULT_IMAGE_SIZE = 224;

const TEMPLATES = path.join(__dirname, "templates");

/** Template fragments per strategy, in order; each is a real .py file. */
const SHARED = ["common.py", "labels.py", "transforms.py", "datasets.py", "pack.py"];
const FRAGMENTS: Record<Strategy, string[]> = {
  "prewarmed-ebs": [...SHARED, "local_files.py", "source_prewarmed_ebs.py", "main.py"],
  "local-cache": [...SHARED, "local_files.py", "source_local_cache.py", "main.py"],
  "direct-s3": [...SHARED, "source_direct_s3.py", "main.py"],
};

/** Loader workers per GPU: the vCPUs one GPU gets, less one for the training process, 1..16. */
export function workersFor(instanceType: string): number {
  const spec = instanceSpec(instanceType)!;
  return Math.max(1, Math.min(16, Math.floor(spec.vcpus / Math.max(1, spec.gpus)) - 1));
}

/** Checks a spec; bad input is a UsageError naming the flag and the accepted values. */
export function validateLoaderSpec(spec: LoaderSpec): void {
  if (!STRATEGY_NAMES.includes(spec.strategy))
    throw new UsageError(`--strategy: unknown strategy ${JSON.stringify(spec.strategy)} (accepted: ${STRATEGY_NAMES.join(" | ")})`, { subject: "--strategy" });
  if (!FORMATS.includes(spec.format))
    throw new UsageError(`--format: unknown format ${JSON.stringify(spec.format)} (accepted: ${FORMATS.join(" | ")})`, { subject: "--format" });
  const isS3 = spec.data.startsWith("s3://");
  if (spec.strategy === "prewarmed-ebs" && isS3)
    throw new UsageError(`--data: prewarmed-ebs reads a local folder on the data volume, not ${spec.data} (use direct-s3 or local-cache for s3://)`, {
      subject: "--data",
    });
  if (spec.strategy !== "prewarmed-ebs" && !isS3)
    throw new UsageError(`--data: ${spec.strategy} reads from S3: give an s3://bucket/prefix/ (got ${JSON.stringify(spec.data)})`, { subject: "--data" });
  if (isS3 && !/^s3:\/\/[a-z0-9][a-z0-9.-]{1,61}[a-z0-9](\/.*)?$/.test(spec.data))
    throw new UsageError(`--data: malformed S3 URL ${JSON.stringify(spec.data)} (expected s3://bucket/prefix/)`, { subject: "--data" });
  if (!instanceSpec(spec.instanceType))
    throw new UsageError(`--instance-type: ${spec.instanceType} is not in the instance catalog`, { subject: "--instance-type" });
  const size = spec.imageSize ?? DEFAULT_IMAGE_SIZE;
  if (!Number.isInteger(size) || size < 8 || size > 4096)
    throw new UsageError(`--image-size: ${spec.imageSize} is not a whole number of pixels from 8 to 4096`, { subject: "--image-size" });
  if (spec.labels !== undefined && !existsSync(spec.labels))
    throw new UsageError(`--labels: ${spec.labels} does not exist (accepted: a CSV key,label or JSONL {"key", "label"} file)`, { subject: "--labels" });
}

/**
 * The labels to embed: a manifest's (every sample of a readable local folder must have one), else the class
 * folders of a readable local folder, else none known yet (the loader reads class folders at run time).
 */
export function loaderLabels(spec: LoaderSpec): LoaderLabels {
  const keys = spec.data.startsWith("s3://") || spec.format === "webdataset" ? undefined : localKeys(spec.data, spec.format);
  if (spec.labels === undefined) return { classes: folderClasses(keys ?? []), manifest: {} };
  const labels = parseManifest(readFileSync(spec.labels, "utf8"), spec.labels);
  const missing = (keys ?? []).filter((key) => !(key in labels.manifest));
  if (missing.length > 0)
    throw new UsageError(
      `--labels: ${spec.labels} has no label for key ${JSON.stringify(missing[0])} (${missing.length} of ${keys!.length} samples in ${spec.data} missing)`,
      { subject: "--labels" },
    );
  return labels;
}

const IMPORT = /^(import .+|from \S+ import .+)$/;

/** Merges the fragments' import lines (one `from X import …` per module) so no name is imported twice. */
function mergeImports(lines: string[]): string[] {
  const plain = new Set<string>();
  const from = new Map<string, Set<string>>();
  for (const line of lines) {
    const match = /^from (\S+) import (.+)$/.exec(line);
    if (!match) plain.add(line);
    else for (const name of match[2].split(",")) from.set(match[1], (from.get(match[1]) ?? new Set()).add(name.trim()));
  }
  const future = from.get("__future__");
  from.delete("__future__");
  return [
    ...(future ? [`from __future__ import ${[...future].sort().join(", ")}`, ""] : []),
    ...[...plain].sort(),
    ...[...from.keys()].sort().map((module) => `from ${module} import ${[...from.get(module)!].sort().join(", ")}`),
  ];
}

/** One complete, runnable Python module from the template fragments, and the class names it embeds. */
export function generateLoader(spec: LoaderSpec): { module: string; classes: string[] } {
  validateLoaderSpec(spec);
  const labels = loaderLabels(spec);
  const values: Record<string, unknown> = {
    STRATEGY: spec.strategy,
    FORMAT: spec.format,
    DATA: spec.data,
    INSTANCE_TYPE: spec.instanceType,
    NUM_WORKERS: workersFor(spec.instanceType),
    PREFETCH_FACTOR: 4,
    CACHE_DIR: spec.cacheDir ?? "/opt/dlami/nvme/trainctl-cache",
    IMAGE_SIZE: spec.imageSize ?? DEFAULT_IMAGE_SIZE,
    CLASSES: labels.classes,
    MANIFEST: labels.manifest,
  };
  const imports: string[] = [];
  const bodies: string[] = [];
  let docstring = "";
  for (const file of FRAGMENTS[spec.strategy]) {
    let text = readFileSync(path.join(TEMPLATES, file), "utf8");
    if (file === "common.py") {
      const end = text.indexOf('"""', 3) + 3;
      docstring = text.slice(0, end);
      text = text.slice(end);
    }
    const body: string[] = [];
    for (const line of text.split("\n")) (IMPORT.test(line) ? imports : body).push(line);
    bodies.push(body.join("\n").trim());
  }
  const module = [docstring, mergeImports(imports).join("\n"), ...bodies].join("\n\n\n") + "\n";
  // One pass, so values (JSON, which is also Python for strings, numbers, lists and str→int dicts) are never re-scanned.
  const filled = module.replace(/"\{\{([A-Z_]+)\}\}"|\{\{([A-Z_]+)\}\}/g, (_m, quoted?: string, bare?: string) =>
    quoted ? JSON.stringify(values[quoted]) : String(values[bare!]),
  );
  return { module: filled, classes: labels.classes };
}

/** The module alone (see generateLoader). */
export const renderLoader = (spec: LoaderSpec): string => generateLoader(spec).module;

import { existsSync, readdirSync, statSync } from "node:fs";
import * as path from "node:path";
import { UsageError } from "../../core/errors";

/** Labels a generated loader embeds: class names in index order, and a manifest's key → index (empty for folders). */
export interface LoaderLabels {
  classes: string[];
  manifest: Record<string, number>;
}

/** Python's sort order for str (code points), which UTF-8 byte order matches. */
const byCodePoint = (a: string, b: string) => Buffer.compare(Buffer.from(a), Buffer.from(b));

/** torchvision ImageFolder semantics: sorted top-level folder names, when every key sits in one; [] (unlabelled) otherwise. */
export function folderClasses(keys: string[]): string[] {
  if (keys.length === 0 || keys.some((key) => !key.includes("/"))) return [];
  return [...new Set(keys.map((key) => key.split("/", 1)[0]))].sort(byCodePoint);
}

/**
 * A `--labels` manifest: JSONL lines `{"key": …, "label": …}` or CSV lines `key,label` (split at the last
 * comma; a `key,label` header is skipped). Integer labels are kept; names are indexed in sorted order.
 */
export function parseManifest(text: string, file: string): LoaderLabels {
  const fail = (line: number, why: string) => new UsageError(`--labels: ${file}:${line}: ${why}`, { subject: "--labels" });
  const jsonl = file.toLowerCase().endsWith(".jsonl") || text.trimStart().startsWith("{");
  const entries: [string, string | number, number][] = [];
  text.split(/\r?\n/).forEach((raw, i) => {
    const line = raw.trim();
    if (!line || (i === 0 && !jsonl && line === "key,label")) return;
    if (jsonl) {
      let value: unknown;
      try {
        value = JSON.parse(line);
      } catch {
        throw fail(i + 1, 'not a JSON object (expected {"key": "…", "label": 3 or "name"})');
      }
      const { key, label } = (value ?? {}) as { key?: unknown; label?: unknown };
      if (typeof key !== "string" || !key) throw fail(i + 1, '"key" must be a non-empty string');
      if (!(typeof label === "string" && label) && !(Number.isInteger(label) && (label as number) >= 0))
        throw fail(i + 1, '"label" must be a non-negative integer or a class name');
      entries.push([key, label as string | number, i + 1]);
    } else {
      const comma = line.lastIndexOf(",");
      const key = line.slice(0, comma).trim();
      const label = line.slice(comma + 1).trim();
      if (comma < 0 || !key || !label) throw fail(i + 1, "expected key,label");
      entries.push([key, /^\d+$/.test(label) ? Number(label) : label, i + 1]);
    }
  });
  if (entries.length === 0)
    throw new UsageError(`--labels: ${file} has no entries (accepted: CSV key,label or JSONL {"key", "label"} lines)`, { subject: "--labels" });
  const named = entries.some(([, label]) => typeof label === "string");
  if (named && jsonl && entries.some(([, label]) => typeof label === "number"))
    throw new UsageError(`--labels: ${file} mixes integer labels and class names; use one kind`, { subject: "--labels" });
  const classes = named ? [...new Set(entries.map(([, label]) => String(label)))].sort(byCodePoint) : [];
  const index = new Map(classes.map((name, i) => [name, i]));
  const manifest: Record<string, number> = {};
  for (const [key, label, line] of entries) {
    const value = named ? index.get(String(label))! : (label as number);
    if (key in manifest && manifest[key] !== value) throw fail(line, `key ${JSON.stringify(key)} has two different labels`);
    manifest[key] = value;
  }
  return { classes, manifest };
}

const DATA_SUFFIXES = [".npy", ".bin", ".raw", ".jpg", ".jpeg", ".png"];

/** The generated loader's is_sample: no dot files; `files` takes every file, other formats their suffixes. */
export function isSampleKey(key: string, format: string): boolean {
  const base = key.slice(key.lastIndexOf("/") + 1);
  if (base.startsWith(".")) return false;
  return format === "files" || DATA_SUFFIXES.some((suffix) => base.toLowerCase().endsWith(suffix));
}

/** Sample keys under a local folder as the generated loader lists them (relative, `/`-separated), or undefined when unreadable. */
export function localKeys(root: string, format: string): string[] | undefined {
  if (!existsSync(root) || !statSync(root).isDirectory()) return undefined;
  return readdirSync(root, { recursive: true, encoding: "utf8" })
    .map((entry) => entry.split(path.sep).join("/"))
    .filter((key) => isSampleKey(key, format) && statSync(path.join(root, key)).isFile())
    .sort(byCodePoint);
}

/** How many classes a dataset has when it can be told: the class folders of a readable local folder; else undefined. */
export function countClasses(source: string | undefined, format = "image"): number | undefined {
  if (!source || source.startsWith("s3://")) return undefined;
  const classes = folderClasses(localKeys(source, format) ?? []);
  return classes.length > 0 ? classes.length : undefined;
}

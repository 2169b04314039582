/**
 * Issue #17's "Done when" greps: each tag key, and each list (strategies, formats, warm modes), is
 * spelled in exactly one source file; everything else imports it. Comments are not code, so they may
 * name a key; string literals, template text and the bootstrap scripts' code may not.
 */
import { readFileSync, readdirSync } from "node:fs";
import * as path from "node:path";
import ts from "typescript";
import { describe, expect, it } from "vitest";
import { FORMATS, STRATEGY_NAMES, WARM_MODES, keyPath, stackConfigSchema } from "../../core/config";
import { RUNTIME_TAG, RUNTIME_TAG_PREFIX, TAG } from "../../core/tags";

const ROOT = path.join(__dirname, "..", "..");
const FOLDERS = ["core", "components", "scripts", "infra", "policy", "bench"];

function walk(dir: string): string[] {
  return readdirSync(path.join(ROOT, dir), { withFileTypes: true }).flatMap((entry) => {
    const rel = path.join(dir, entry.name);
    if (entry.isDirectory()) return entry.name === "node_modules" ? [] : walk(rel);
    return /\.(ts|sh|py)$/.test(entry.name) ? [rel] : [];
  });
}

const SOURCES = ["index.ts", ...FOLDERS.flatMap(walk)];

/** A piece of code text: a TS string or template literal, or a script's non-comment lines. */
interface Literal {
  file: string;
  text: string;
}

function literalsOf(file: string): Literal[] {
  const text = readFileSync(path.join(ROOT, file), "utf8");
  if (!file.endsWith(".ts")) {
    const code = text
      .split("\n")
      .filter((line) => !line.trim().startsWith("#"))
      .join("\n");
    return [{ file, text: code }];
  }
  const found: Literal[] = [];
  const visit = (node: ts.Node) => {
    if (ts.isStringLiteralLike(node) || ts.isTemplateLiteralToken(node)) found.push({ file, text: node.text });
    node.forEachChild(visit);
  };
  visit(ts.createSourceFile(file, text, ts.ScriptTarget.Latest, true));
  return found;
}

const LITERALS = SOURCES.flatMap(literalsOf);
const escape = (s: string) => s.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");

/** Config keys: `trainctl:owner` and `trainctl:incarnation` are config keys as well as tag keys. */
const CONFIG_KEYS = new Set(Object.keys(stackConfigSchema.shape).map((field) => keyPath([field])));

/**
 * A tag key as a whole token: not the start of a longer key, nor of a type token like
 * `trainctl:experiment:Experiment`, nor a config key (a literal that is exactly one, a YAML key
 * `trainctl:owner: …`, or a key path `trainctl:owner.x`).
 */
function mentionsKey(text: string, key: string): boolean {
  if (CONFIG_KEYS.has(text)) return false;
  return new RegExp(`${escape(key)}(?![A-Za-z0-9.-]|:[A-Z]|:\\s)`).test(text);
}

/** Three or more members of a list written one after another, as array items, union members or `a | b | c` text. */
function spellsList(literalTexts: string[], list: readonly string[]): boolean {
  const members = literalTexts.filter((t) => list.includes(t));
  return new Set(members).size >= 3;
}

/** Array literals and union types whose string members spell a list, plus single strings like "a | b | c". */
function listSpellings(list: readonly string[]): string[] {
  const member = `(?:${list.map(escape).join("|")})`;
  const inText = new RegExp(`\\b${member}\\s*[|,/]\\s*${member}\\s*[|,/]\\s*${member}\\b`);
  const hits: string[] = [];
  for (const file of SOURCES) {
    const text = readFileSync(path.join(ROOT, file), "utf8");
    if (!file.endsWith(".ts")) continue;
    const visit = (node: ts.Node) => {
      const items = ts.isArrayLiteralExpression(node) ? node.elements : ts.isUnionTypeNode(node) ? node.types : undefined;
      if (items) {
        const texts = items.map((item) =>
          ts.isStringLiteralLike(item) ? item.text : ts.isLiteralTypeNode(item) && ts.isStringLiteral(item.literal) ? item.literal.text : "",
        );
        if (spellsList(texts, list)) hits.push(`${file}: ${node.getText().slice(0, 80)}`);
      }
      if ((ts.isStringLiteralLike(node) || ts.isTemplateLiteralToken(node)) && inText.test(node.text)) hits.push(`${file}: "${node.text.slice(0, 80)}"`);
      node.forEachChild(visit);
    };
    visit(ts.createSourceFile(file, text, ts.ScriptTarget.Latest, true));
  }
  return hits;
}

describe("one definition for every list and tag key (issue #17)", () => {
  it("the scan sees the sources: core/tags.ts spells every key, and the bootstrap scripts are read", () => {
    expect(SOURCES).toContain("components/bootstrap/lib.sh");
    const tagsFile = LITERALS.filter((l) => l.file === path.join("core", "tags.ts"));
    for (const key of Object.values(TAG))
      expect(
        tagsFile.some((l) => l.text === key),
        key,
      ).toBe(true);
    expect(tagsFile.some((l) => l.text === RUNTIME_TAG_PREFIX)).toBe(true);
  });

  it("no source outside core/tags.ts spells a trainctl:* tag key or the runtime prefix", () => {
    const keys = [...Object.values(TAG), ...Object.values(RUNTIME_TAG)];
    const outside = LITERALS.filter((l) => l.file !== path.join("core", "tags.ts"));
    const hits = outside.flatMap((l) => [
      ...keys.filter((key) => mentionsKey(l.text, key)).map((key) => `${l.file}: ${key}`),
      ...(l.text.includes(RUNTIME_TAG_PREFIX) ? [`${l.file}: ${RUNTIME_TAG_PREFIX}`] : []),
    ]);
    expect(hits).toEqual([]);
  });

  it("the detector finds what it looks for", () => {
    expect(mentionsKey('"trainctl:role"', TAG.role)).toBe(true);
    expect(mentionsKey("tag:trainctl:role", TAG.role)).toBe(true);
    expect(mentionsKey("trainctl:experiment:Experiment", TAG.experiment)).toBe(false);
    expect(mentionsKey("trainctl:dataVolume.protect", TAG.protected)).toBe(false);
    expect(mentionsKey("is tagged trainctl:protected=true", TAG.protected)).toBe(true);
    expect(mentionsKey("trainctl:owner", TAG.owner)).toBe(false);
    expect(mentionsKey("config:\n  trainctl:owner: bench\n", TAG.owner)).toBe(false);
    expect(spellsList(["none", "rate", "fio"], WARM_MODES)).toBe(true);
    expect(spellsList(["none", "fio"], WARM_MODES)).toBe(false);
  });

  it.each([
    ["strategy", STRATEGY_NAMES],
    ["format", FORMATS],
    ["warm-mode", WARM_MODES],
  ] as const)("the %s list is spelled once, in core/lists.ts", (_name, list) => {
    const hits = listSpellings(list);
    expect(hits).toHaveLength(1);
    expect(hits[0]).toMatch(/^core\/lists\.ts: \[/);
  });
});

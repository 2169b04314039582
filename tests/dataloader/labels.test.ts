import { mkdirSync, mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import * as path from "node:path";
import { describe, expect, it } from "vitest";
import { countClasses, folderClasses, parseManifest } from "../../scripts/dataloader/labels";
import { UsageError } from "../../core/errors";

describe("folderClasses (ImageFolder semantics)", () => {
  it("sorts top-level folder names as Python sorts str (code points), not as JavaScript sorts UTF-16", () => {
    expect(folderClasses(["b/1.jpg", "a/x/2.jpg", "B/3.jpg", "\u{1F600}/4.jpg", "\uFF5E/5.jpg"])).toEqual(["B", "a", "b", "\uFF5E", "\u{1F600}"]);
  });
  it("is empty (unlabelled) when any sample sits at the top, or there are none", () => {
    expect(folderClasses(["a/1.jpg", "2.jpg"])).toEqual([]);
    expect(folderClasses([])).toEqual([]);
  });
});

describe("parseManifest", () => {
  it("reads CSV key,label (header skipped, split at the last comma) and indexes names in sorted order", () => {
    expect(parseManifest("key,label\na,b.jpg,zebra\nc.jpg,ant\n\n", "m.csv")).toEqual({ classes: ["ant", "zebra"], manifest: { "a,b.jpg": 1, "c.jpg": 0 } });
  });
  it("keeps integer labels as they are, without class names", () => {
    expect(parseManifest('{"key": "x", "label": 7}\n{"key": "y", "label": 0}\n', "m.jsonl")).toEqual({ classes: [], manifest: { x: 7, y: 0 } });
  });
  it.each([
    ["a JSONL line that is not JSON", '{"key": "x", "label": 1}\nnope', "m.jsonl", /--labels: m\.jsonl:2: not a JSON object/],
    ["a negative label", '{"key": "x", "label": -1}', "m.jsonl", /m\.jsonl:1: "label" must be a non-negative integer or a class name/],
    ["a CSV line without a comma", "a.jpg 3", "m.csv", /m\.csv:1: expected key,label/],
    ["one key with two labels", "a,1\nb,2\na,3", "m.csv", /m\.csv:3: key "a" has two different labels/],
    ["integers mixed with names in JSONL", '{"key": "x", "label": 1}\n{"key": "y", "label": "cat"}', "m.jsonl", /mixes integer labels and class names/],
    ["an empty file", "key,label\n", "m.csv", /--labels: m\.csv has no entries/],
  ])("refuses %s with a UsageError naming the file and line", (_what, text, file, message) => {
    expect(() => parseManifest(text, file)).toThrow(UsageError);
    expect(() => parseManifest(text, file)).toThrow(message);
  });
});

describe("countClasses", () => {
  it("counts the class folders of a readable local dataset, and says nothing for S3 or flat data", () => {
    const root = mkdtempSync(path.join(tmpdir(), "trainctl-classes-"));
    for (const [name, files] of [
      ["cat", 3],
      ["dog", 1],
      [".cache", 1],
    ] as const) {
      mkdirSync(path.join(root, name));
      for (let i = 0; i < files; i++) writeFileSync(path.join(root, name, `${i}.jpg`), "x");
    }
    writeFileSync(path.join(root, "cat", ".DS_Store"), "x");
    expect(countClasses(root)).toBe(3);
    expect(countClasses("s3://bucket/prefix/")).toBeUndefined();
    writeFileSync(path.join(root, "stray.jpg"), "x");
    expect(countClasses(root)).toBeUndefined();
  });
});

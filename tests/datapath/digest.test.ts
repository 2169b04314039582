import { mkdirSync, mkdtempSync, rmSync, utimesSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import * as path from "node:path";
import { describe, expect, it } from "vitest";
import { treeDigest } from "../../core/tree-digest";

function tree(files: Record<string, string>): string {
  const root = mkdtempSync(path.join(tmpdir(), "trainctl-digest-"));
  for (const [name, body] of Object.entries(files)) {
    mkdirSync(path.dirname(path.join(root, name)), { recursive: true });
    writeFileSync(path.join(root, name), body);
    utimesSync(path.join(root, name), 1_700_000_000, 1_700_000_000);
  }
  return root;
}

describe("treeDigest", () => {
  const files = { "a.npy": "aaaa", "train/b.npy": "bb", "train/deep/c.npy": "c" };

  it("is stable across runs and across creation order", () => {
    const one = tree(files);
    const reversed = tree(Object.fromEntries(Object.entries(files).reverse()));
    expect(treeDigest(one)).toEqual(treeDigest(one));
    expect(treeDigest(reversed).digest).toBe(treeDigest(one).digest);
    expect(treeDigest(one)).toMatchObject({ files: 3, bytes: 7 });
  });

  it("changes when a file's size or mtime changes, or a file is added or removed", () => {
    const root = tree(files);
    const seen = new Set([treeDigest(root).digest]);
    const changed = (what: string) => {
      const digest = treeDigest(root).digest;
      expect(seen.has(digest), what).toBe(false);
      seen.add(digest);
    };
    writeFileSync(path.join(root, "a.npy"), "aaaaa");
    utimesSync(path.join(root, "a.npy"), 1_700_000_000, 1_700_000_000);
    changed("size");
    utimesSync(path.join(root, "train/b.npy"), 1_700_000_000, 1_700_000_500);
    changed("mtime");
    writeFileSync(path.join(root, "train/new.npy"), "");
    changed("added");
    rmSync(path.join(root, "train/deep/c.npy"));
    changed("removed");
  });

  it("does not change when nothing changed, even after reading every file", () => {
    const root = tree(files);
    const before = treeDigest(root).digest;
    for (const name of Object.keys(files)) require("node:fs").readFileSync(path.join(root, name));
    expect(treeDigest(root).digest).toBe(before);
  });
});

import { mkdirSync, mkdtempSync, rmSync, utimesSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import * as path from "node:path";
import fc from "fast-check";
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

  it("any path, size or mtime change changes it; creation order never does (property)", () => {
    const name = fc.stringMatching(/^[a-z0-9._-]{1,8}$/).filter((n) => n !== "." && n !== "..");
    const files = fc.uniqueArray(
      fc.tuple(
        fc.array(name, { minLength: 1, maxLength: 3 }).map((parts) => parts.join("/")),
        fc.string({ maxLength: 5 }),
      ),
      {
        minLength: 1,
        maxLength: 5,
        selector: ([p]) => p,
      },
    );
    fc.assert(
      fc.property(files, fc.nat(), (entries, pick) => {
        // A path that is also another's folder cannot exist; keep trees a file system can hold.
        fc.pre(entries.every(([a]) => entries.every(([b]) => !b.startsWith(`${a}/`))));
        const [victim, body] = entries[pick % entries.length];
        fc.pre(!entries.some(([p]) => p === `${victim}x` || p.startsWith(`${victim}x/`)));
        const one = tree(Object.fromEntries(entries));
        const reversed = tree(Object.fromEntries([...entries].reverse()));
        const renamed = tree(Object.fromEntries(entries.map(([p, b]) => [p === victim ? `${p}x` : p, b])));
        const before = treeDigest(one).digest;
        expect(treeDigest(reversed).digest).toBe(before);
        expect(treeDigest(renamed).digest, "path").not.toBe(before);
        writeFileSync(path.join(one, victim), `${body}+`);
        utimesSync(path.join(one, victim), 1_700_000_000, 1_700_000_000);
        expect(treeDigest(one).digest, "size").not.toBe(before);
        writeFileSync(path.join(one, victim), body);
        utimesSync(path.join(one, victim), 1_700_000_000, 1_700_000_001);
        expect(treeDigest(one).digest, "mtime").not.toBe(before);
        for (const root of [one, reversed, renamed]) rmSync(root, { recursive: true });
      }),
      { numRuns: 15 },
    );
  });
});

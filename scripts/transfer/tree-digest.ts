import { createHash } from "node:crypto";
import { type Dirent, lstatSync, readdirSync } from "node:fs";
import * as path from "node:path";

export interface TreeDigest {
  /** `sha256:<hex>` over every file's relative path, size and mtime, in sorted order. */
  digest: string;
  files: number;
  bytes: number;
}

/**
 * A fingerprint of a folder tree that changes when a file is added, removed, resized or touched, and
 * not when nothing changed: relative path (with `/`), size and mtime of every regular file, sorted so
 * the walk order does not matter. Contents are not read, so it stays fast on large trees.
 * Symlinks and special files are skipped, as the transfer skips them.
 */
export function treeDigest(root: string): TreeDigest {
  const entries: string[] = [];
  let bytes = 0;
  const walk = (dir: string, prefix: string) => {
    let children: Dirent[];
    try {
      children = readdirSync(dir, { withFileTypes: true });
    } catch {
      return;
    }
    for (const child of children) {
      const relative = prefix ? `${prefix}/${child.name}` : child.name;
      const full = path.join(dir, child.name);
      if (child.isDirectory()) walk(full, relative);
      else if (child.isFile()) {
        const stat = lstatSync(full, { bigint: true });
        bytes += Number(stat.size);
        entries.push(`${relative}\0${stat.size}\0${stat.mtimeNs}`);
      }
    }
  };
  walk(root, "");
  entries.sort();
  const hash = createHash("sha256");
  for (const entry of entries) hash.update(`${entry}\n`);
  return { digest: `sha256:${hash.digest("hex")}`, files: entries.length, bytes };
}

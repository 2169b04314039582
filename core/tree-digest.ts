import { createHash } from "node:crypto";
import { type Dirent, readdirSync, statSync } from "node:fs";
import * as path from "node:path";

export interface TreeDigest {
  /** `sha256:<hex>` over every file's relative path, size and mtime, in sorted order. */
  digest: string;
  files: number;
  bytes: number;
}

/**
 * A fingerprint of a folder tree that changes when a file is added, removed, resized or touched, and
 * not when nothing changed: relative path (with `/`), size and mtime of every regular file, in name
 * order. Contents are not read, so it stays fast on large trees.
 * Symlinks and special files are skipped, as the transfer skips them.
 */
export function treeDigest(root: string): TreeDigest {
  const hash = createHash("sha256");
  let files = 0;
  let bytes = 0;
  // Children are visited in sorted order at every level, so the walk order never matters and no
  // global sort of a million paths is needed.
  const walk = (dir: string, prefix: string) => {
    let children: Dirent[];
    try {
      children = readdirSync(dir, { withFileTypes: true });
    } catch {
      return;
    }
    children.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
    for (const child of children) {
      const relative = prefix ? `${prefix}/${child.name}` : child.name;
      const full = path.join(dir, child.name);
      if (child.isDirectory()) walk(full, relative);
      else if (child.isFile()) {
        const stat = statSync(full);
        files += 1;
        bytes += stat.size;
        hash.update(`${relative}\0${stat.size}\0${stat.mtimeMs}\n`);
      }
    }
  };
  walk(root, "");
  return { digest: `sha256:${hash.digest("hex")}`, files, bytes };
}

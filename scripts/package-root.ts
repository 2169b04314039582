import { existsSync } from "node:fs";
import * as path from "node:path";

/** The nearest folder at or above `from` that holds `file`, if any. */
export function findUp(file: string, from: string): string | undefined {
  for (let dir = path.resolve(from); ; dir = path.dirname(dir)) {
    if (existsSync(path.join(dir, file))) return dir;
    if (path.dirname(dir) === dir) return undefined;
  }
}

/** This package's root (its package.json), whether it runs from source or from `dist/`. */
export const PACKAGE_ROOT = findUp("package.json", __dirname) ?? process.cwd();

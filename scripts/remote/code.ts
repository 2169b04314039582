import { spawnSync } from "node:child_process";
import { existsSync, statSync } from "node:fs";
import * as path from "node:path";
import { UsageError } from "../errors";

/** The folder to ship: --code DIR, else the git work tree around the current folder. */
export function codeFolder(code: string | undefined, cwd = process.cwd()): string {
  if (code !== undefined) {
    if (!existsSync(code) || !statSync(code).isDirectory()) throw new UsageError(`--code: ${code} is not a folder`, { subject: "--code" });
    return path.resolve(code);
  }
  const top = spawnSync("git", ["rev-parse", "--show-toplevel"], { cwd, encoding: "utf8" });
  if (top.status !== 0) throw new UsageError("--code: the current folder is not in a git work tree; name the folder to ship with --code DIR", { subject: "--code" });
  return top.stdout.trim();
}

/**
 * The files git would ship from a folder: tracked plus untracked ones `.gitignore` does not exclude,
 * relative to the folder with `/`. Undefined when the folder is not in a git work tree (ship everything).
 */
export function gitFiles(folder: string): Set<string> | undefined {
  const listed = spawnSync("git", ["ls-files", "-z", "--cached", "--others", "--exclude-standard", "--full-name", "."], { cwd: folder, encoding: "utf8", maxBuffer: 256 * 1024 * 1024 });
  if (listed.status !== 0) return undefined;
  const top = spawnSync("git", ["rev-parse", "--show-toplevel"], { cwd: folder, encoding: "utf8" }).stdout.trim();
  const base = path.relative(top, folder).split(path.sep).join("/");
  const strip = base ? `${base}/` : "";
  return new Set(listed.stdout.split("\0").filter(Boolean).map((f) => (f.startsWith(strip) ? f.slice(strip.length) : f)));
}

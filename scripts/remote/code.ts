import { spawnSync } from "node:child_process";
import { existsSync, statSync } from "node:fs";
import * as path from "node:path";
import { UsageError } from "../../core/errors";

/** The folder to ship: --code DIR, else the git work tree around the current folder. */
export function codeFolder(code: string | undefined, cwd = process.cwd()): string {
  if (code !== undefined) {
    if (!existsSync(code) || !statSync(code).isDirectory()) throw new UsageError(`--code: ${code} is not a folder`, { subject: "--code" });
    return path.resolve(code);
  }
  const top = spawnSync("git", ["rev-parse", "--show-toplevel"], { cwd, encoding: "utf8" });
  if (top.status !== 0)
    throw new UsageError("--code: the current folder is not in a git work tree; name the folder to ship with --code DIR", { subject: "--code" });
  return top.stdout.trim();
}

/**
 * The files git would ship from a folder: tracked plus untracked ones `.gitignore` does not exclude,
 * relative to the folder with `/`. Undefined when the folder is not in a git work tree (ship everything).
 */
export function gitFiles(folder: string): Set<string> | undefined {
  // Without --full-name, git lists paths relative to (and only under) the folder it runs in.
  const listed = spawnSync("git", ["ls-files", "-z", "--cached", "--others", "--exclude-standard"], {
    cwd: folder,
    encoding: "utf8",
    maxBuffer: 256 * 1024 * 1024,
  });
  return listed.status === 0 ? new Set(listed.stdout.split("\0").filter(Boolean)) : undefined;
}

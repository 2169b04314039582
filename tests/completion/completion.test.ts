import { spawnSync } from "node:child_process";
import { chmodSync, mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import * as path from "node:path";
import { describe, expect, it } from "vitest";
import { COMPILED_CLI, trainctl } from "../helpers/cli";

/** Runs the printed completion script's function in bash for COMP_WORDS `words`, the last being completed. */
function complete(script: string, words: string[]): string[] {
  const bin = mkdtempSync(path.join(tmpdir(), "completion-bin-"));
  // The script calls `trainctl` from PATH, as it would once installed.
  writeFileSync(path.join(bin, "trainctl"), `#!/bin/sh\nexec "${process.execPath}" "${COMPILED_CLI}" "$@"\n`);
  chmodSync(path.join(bin, "trainctl"), 0o755);
  const bash = `${script}\nCOMP_WORDS=(${words.map((w) => `'${w}'`).join(" ")}); COMP_CWORD=${words.length - 1}\n_trainctl_yargs_completions\nprintf '%s\\n' "\${COMPREPLY[@]}"\n`;
  const result = spawnSync("bash", ["--norc", "-c", bash], { env: { ...process.env, PATH: `${bin}:${process.env.PATH}` }, encoding: "utf8", timeout: 120_000 });
  expect(result.status, result.stderr).toBe(0);
  return result.stdout.split("\n").filter(Boolean);
}

describe("trainctl completion", () => {
  const printed = trainctl(["completion"]);

  it("prints a bash completion script on stdout", () => {
    expect(printed.code, printed.stderr).toBe(0);
    expect(printed.stdout).toMatch(/complete -o bashdefault -o default -F _trainctl_yargs_completions trainctl/);
  });

  it("completes a partial command name", () => {
    expect(complete(printed.stdout, ["trainctl", "tea"])).toEqual(["teardown"]);
  });

  it("completes a partial option of a command", () => {
    expect(complete(printed.stdout, ["trainctl", "cost", "--max"])).toEqual(["--max-monthly"]);
  });
});

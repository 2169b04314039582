import { spawnSync } from "node:child_process";
import { describe, expect, it } from "vitest";
import { showsProgress, usesColour } from "../../scripts/progress";
import { COMPILED_CLI, ROOT, trainctl } from "../helpers/cli";

// A frame, its colour reset when coloured, then the label.
// eslint-disable-next-line no-control-regex -- the ANSI escape is what the test looks for
const SPINNER = /[⠋⠙⠹⠸⠼⠴⠦⠧⠇⠏](\x1b\[39m)? planning offline/;

/** `trainctl ARGS…` on a pseudo-terminal (util-linux `script`): what a user at a terminal sees. */
function onTerminal(args: string[], env: Record<string, string | undefined> = {}): { code: number; output: string } {
  const command = [process.execPath, COMPILED_CLI, ...args].map((a) => `'${a}'`).join(" ");
  const result = spawnSync("script", ["-qec", command, "/dev/null"], {
    cwd: ROOT,
    env: { ...process.env, NO_COLOR: undefined, ...env },
    encoding: "utf8",
    timeout: 300_000,
  });
  return { code: result.status ?? -1, output: result.stdout };
}

describe("the progress policy", () => {
  it("shows progress only on a terminal and never with --json", () => {
    expect(showsProgress({ isTTY: true }, undefined)).toBe(true);
    expect(showsProgress({ isTTY: false }, undefined)).toBe(false);
    expect(showsProgress({}, undefined)).toBe(false);
    expect(showsProgress({ isTTY: true }, true)).toBe(false);
  });

  it("NO_COLOR, set and not empty, turns colour off", () => {
    expect(usesColour({})).toBe(true);
    expect(usesColour({ NO_COLOR: "" })).toBe(true);
    expect(usesColour({ NO_COLOR: "1" })).toBe(false);
  });
});

describe("trainctl plan's spinner", () => {
  it("appears on a terminal, in colour", () => {
    const { code, output } = onTerminal(["plan", "--stack", "dev"]);
    expect(code, output).toBe(0);
    expect(output).toMatch(SPINNER);
    expect(output).toContain("\x1b[36m");
  });

  it("NO_COLOR keeps the spinner and drops the colour", () => {
    const { code, output } = onTerminal(["plan", "--stack", "dev"], { NO_COLOR: "1" });
    expect(code, output).toBe(0);
    expect(output).toMatch(SPINNER);
    expect(output).not.toContain("\x1b[36m");
  });

  it("never appears with --json, even on a terminal", () => {
    const { code, output } = onTerminal(["plan", "--stack", "dev", "--json"]);
    expect(code, output).toBe(0);
    expect(output).not.toMatch(/planning offline/);
  });

  it("never appears when stderr is piped", () => {
    const result = trainctl(["plan", "--stack", "dev"]);
    expect(result.code, result.stderr).toBe(0);
    expect(result.stderr).not.toMatch(/planning offline/);
  });
});

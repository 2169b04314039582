import { readdirSync } from "node:fs";
import * as path from "node:path";
import { describe, expect, it } from "vitest";
import { commandFilesFor } from "../scripts/cli";
import { trainctl } from "./helpers/cli";

const files = readdirSync(path.join(__dirname, "..", "scripts", "commands")).filter((f) => f.endsWith(".ts"));

describe("the CLI loads", () => {
  it("only the command being run (the others cost seconds of start-up)", () => {
    expect(commandFilesFor(["transfer", "a", "s3://b/c"], files)).toEqual(["transfer.ts"]);
    expect(commandFilesFor(["run", "exp", "--", "status"], files)).toEqual(["run.ts"]);
  });

  it("every command for help, --version and unknown names", () => {
    for (const argv of [["--help"], ["--version"], ["transfr"], []]) expect(commandFilesFor(argv, files)).toEqual([...files].sort());
  });

  it("commands named like their files, so the one it loads is the one asked for", () => {
    const help = trainctl(["--help"]).stderr + trainctl(["--help"]).stdout;
    for (const file of files) expect(help).toContain(`trainctl ${file.replace(/\.ts$/, "")}`);
  });
});

#!/usr/bin/env node
/** The `trainctl` executable. `--version` answers before yargs or any command loads. */
import { readFileSync } from "node:fs";
import * as path from "node:path";
import { PACKAGE_ROOT } from "./package-root";

const argv = process.argv.slice(2);
if (argv.length === 1 && argv[0] === "--version") {
  const { version } = JSON.parse(readFileSync(path.join(PACKAGE_ROOT, "package.json"), "utf8")) as { version: string };
  process.stdout.write(`${version}\n`);
} else {
  void (require("./cli") as typeof import("./cli")).run(argv);
}

import { chmodSync, existsSync, mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import * as path from "node:path";

export interface FakePulumi {
  /** Folder to put first on PATH. */
  dir: string;
  /** argv of every call, in order. */
  calls(): string[][];
}

/**
 * Writes an executable `pulumi` that records its argv (one JSON line per call) and answers from a
 * table: the first rule whose argv prefix matches prints its stdout and exits with its code.
 */
export function installFakePulumi(rules: { prefix: string[]; stdout?: string; code?: number }[] = []): FakePulumi {
  const dir = mkdtempSync(path.join(tmpdir(), "fake-pulumi-"));
  const log = path.join(dir, "calls.jsonl");
  writeFileSync(path.join(dir, "rules.json"), JSON.stringify(rules));
  const script = `#!/usr/bin/env node
const fs = require("node:fs");
const argv = process.argv.slice(2);
fs.appendFileSync(${JSON.stringify(log)}, JSON.stringify(argv) + "\\n");
const rules = JSON.parse(fs.readFileSync(${JSON.stringify(path.join(dir, "rules.json"))}, "utf8"));
const rule = rules.find((r) => r.prefix.every((p, i) => argv[i] === p));
if (rule && rule.stdout) process.stdout.write(rule.stdout);
process.exit(rule ? (rule.code ?? 0) : 0);
`;
  writeFileSync(path.join(dir, "pulumi"), script);
  chmodSync(path.join(dir, "pulumi"), 0o755);
  return {
    dir,
    calls: () => (existsSync(log) ? readFileSync(log, "utf8").trim().split("\n").filter(Boolean).map((l) => JSON.parse(l)) : []),
  };
}

/** A PATH with only what the CLI needs to run (node), so no real `pulumi` is found. */
export function pathWithout(...extra: string[]): string {
  return [...extra, path.dirname(process.execPath), "/usr/bin", "/bin"].join(path.delimiter);
}

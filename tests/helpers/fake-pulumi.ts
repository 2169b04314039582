import { chmodSync, existsSync, mkdirSync, mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import * as path from "node:path";

/** What the fake prints, exits with, and writes for one call. */
export interface FakeReply {
  stdout?: string;
  stderr?: string;
  code?: number;
  /**
   * Files to write before exiting. A key is a path (relative to the call's cwd), or `@--flag`:
   * the path that follows `--flag` (or `--flag=PATH`) in argv, e.g. `{"@--event-log": "…"}`.
   */
  files?: Record<string, string>;
}

/** A table rule: the first rule whose `prefix` matches the start of argv answers. */
export interface FakeRule extends FakeReply {
  prefix: string[];
}

/**
 * A function run INSIDE the fake process (it is serialized with `toString()`), so it must be
 * self-contained: no closures over test variables; `require` works. Return undefined for the default.
 */
export type FakeResponder = (argv: string[], context: { cwd: string; env: Record<string, string | undefined>; calls: number }) => FakeReply | undefined;

export interface FakePulumiOptions {
  /** Folder to write into (created if needed); a fresh temp folder by default. */
  dir?: string;
  responses?: FakeRule[] | FakeResponder;
  /** What `pulumi version` prints when no response matches (the Automation API checks it). */
  version?: string;
}

export interface FakeInvocation {
  argv: string[];
  cwd: string;
  /** The call's PULUMI_* environment variables. */
  env: Record<string, string>;
}

export interface FakePulumi {
  /** Folder holding the `pulumi` executable: put it first on PATH. */
  dir: string;
  /** The executable itself (for TRAINCTL_PULUMI or the Automation API's `pulumiCommand`). */
  bin: string;
  /** argv of every call, in order. */
  calls(): string[][];
  /** argv, cwd and PULUMI_* variables of every call, in order. */
  invocations(): FakeInvocation[];
  /** Replaces the responses for later calls. */
  respond(responses: FakeRule[] | FakeResponder): void;
}

const SCRIPT = (log: string, rules: string, responder: string) => `#!/usr/bin/env node
"use strict";
const fs = require("node:fs");
const path = require("node:path");
const argv = process.argv.slice(2);
const log = ${JSON.stringify(log)};
const env = Object.fromEntries(Object.entries(process.env).filter(([k]) => k.startsWith("PULUMI_")));
fs.appendFileSync(log, JSON.stringify({ argv, cwd: process.cwd(), env }) + "\\n");
const calls = fs.readFileSync(log, "utf8").split("\\n").filter(Boolean).length;
let reply;
const source = fs.existsSync(${JSON.stringify(responder)}) ? fs.readFileSync(${JSON.stringify(responder)}, "utf8").trim() : "";
if (source) {
  const respond = eval("(" + source + ")");
  reply = respond(argv, { cwd: process.cwd(), env: process.env, calls });
} else {
  const rules = JSON.parse(fs.readFileSync(${JSON.stringify(rules)}, "utf8"));
  reply = rules.find((r) => r.prefix.every((p, i) => argv[i] === p));
}
if (!reply && argv[0] === "version") reply = { stdout: process.env.FAKE_PULUMI_VERSION || "v3.248.0\\n" };
reply = reply || {};
for (const [key, text] of Object.entries(reply.files || {})) {
  let file = key;
  if (key.startsWith("@")) {
    const flag = key.slice(1);
    const at = argv.indexOf(flag);
    file = at >= 0 ? argv[at + 1] : (argv.find((a) => a.startsWith(flag + "=")) || "").slice(flag.length + 1);
    if (!file) continue;
  }
  file = path.resolve(process.cwd(), file);
  fs.mkdirSync(path.dirname(file), { recursive: true });
  fs.writeFileSync(file, text);
}
if (reply.stderr) process.stderr.write(reply.stderr);
if (reply.stdout) process.stdout.write(reply.stdout, () => process.exit(reply.code || 0));
else process.exit(reply.code || 0);
`;

/**
 * Writes an executable `pulumi` (a node script) that appends each call's argv to a log and answers
 * from a table keyed by argv prefix, or from a function. Unmatched calls print nothing and exit 0,
 * except `pulumi version`, which prints `options.version` (default v3.248.0).
 */
export function installFakePulumi(options: FakePulumiOptions | FakeRule[] = {}): FakePulumi {
  const opts: FakePulumiOptions = Array.isArray(options) ? { responses: options } : options;
  const dir = opts.dir ?? mkdtempSync(path.join(tmpdir(), "fake-pulumi-"));
  mkdirSync(dir, { recursive: true });
  const log = path.join(dir, "calls.jsonl");
  const rules = path.join(dir, "rules.json");
  const responder = path.join(dir, "responder.js");
  const bin = path.join(dir, "pulumi");
  const respond = (responses: FakeRule[] | FakeResponder = []) => {
    if (typeof responses === "function") {
      writeFileSync(responder, responses.toString());
    } else {
      writeFileSync(rules, JSON.stringify(responses));
      if (existsSync(responder)) writeFileSync(responder, "");
    }
  };
  respond(opts.responses);
  const version = opts.version ?? "v3.248.0";
  writeFileSync(bin, SCRIPT(log, rules, responder).replace(`process.env.FAKE_PULUMI_VERSION || "v3.248.0\\n"`, JSON.stringify(`${version}\n`)));
  chmodSync(bin, 0o755);
  const invocations = (): FakeInvocation[] =>
    existsSync(log)
      ? readFileSync(log, "utf8")
          .split("\n")
          .filter(Boolean)
          .map((line) => JSON.parse(line))
      : [];
  return {
    dir,
    bin,
    calls: () => invocations().map((i) => i.argv),
    invocations,
    respond: (responses) => respond(responses),
  };
}

/** A PATH with only what the CLI needs to run (node, coreutils), plus `extra` first; no real `pulumi`. */
export function pathWithout(...extra: string[]): string {
  return [...extra, path.dirname(process.execPath), "/usr/bin", "/bin"].join(path.delimiter);
}

import { mkdirSync, mkdtempSync, readdirSync, renameSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import * as path from "node:path";
import { describe, expect, it } from "vitest";
import { closest, commandFilesFor, badValueIn, errorMessage, type UsageContext, usageLine } from "../scripts/cli";
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
    const { stdout, stderr } = trainctl(["--help"]);
    const help = stderr + stdout;
    for (const file of files) expect(help).toContain(`trainctl ${file.replace(/\.ts$/, "")}`);
  }); // every command module loads for --help, but none loads its handler's SDKs (tests/architecture/startup-modules.test.ts)
});

describe("usageLine: yargs' usage messages as one line naming the command, the flag and the accepted values", () => {
  const context = (over: Partial<UsageContext> = {}): UsageContext => ({
    argv: [],
    commands: ["plan"],
    flags: ["help", "version", "stack", "s", "json", "hours"],
    subcommands: [],
    ...over,
  });

  it.each([
    [
      "an unknown flag, with the nearest known one",
      "Unknown argument: stak",
      context({ argv: ["plan", "--stak", "dev"] }),
      "plan: unknown flag --stak (did you mean --stack?)",
    ],
    [
      "a kebab-case flag yargs lists twice, once",
      "Unknown arguments: dry-run, dryRun",
      context({ argv: ["sweep", "--dry-run"], commands: ["sweep"], flags: ["execute", "account"] }),
      "sweep: unknown flag --dry-run; it is a dry run unless --execute",
    ],
    ["a stray positional", "Unknown argument: dev", context({ argv: ["plan", "dev"] }), 'plan: unexpected argument "dev"'],
    [
      "a bad choice, with every allowed value",
      'Invalid values:\n  Argument: format, Given: "html", Choices: "table", "json", "markdown"',
      context({ commands: ["cost"] }),
      'cost: --format "html" is not one of: table, json, markdown',
    ],
    [
      "a missing positional, with the usage",
      "Not enough non-option arguments: got 0, need at least 1",
      context({ commands: ["experiment", "new <name>"] }),
      "experiment new: missing <name> (usage: trainctl experiment new <name>)",
    ],
    ["missing required flags", "Missing required arguments: strategy, out", context({ commands: ["dataloader"] }), "dataloader: missing --strategy, --out"],
    [
      "conflicting flags",
      "Arguments state and preview are mutually exclusive",
      context({ commands: ["cost"] }),
      "cost: --state and --preview cannot be used together",
    ],
    [
      "an unknown command, with the nearest and the list",
      "Did you mean new?",
      context({ argv: ["experiment", "nw"], commands: ["experiment"], subcommands: ["new", "gc", "up"] }),
      'experiment: unknown command "nw"; did you mean new? (commands: gc, new, up)',
    ],
    [
      "anything else, joined onto one line",
      "Implications failed:\n execute -> account",
      context({ commands: ["sweep"] }),
      "sweep: Implications failed: execute -> account",
    ],
  ])("%s", (_what, message, ctx, line) => expect(usageLine(message, ctx)).toBe(line));

  it("suggests only a close flag", () => {
    expect(closest("stak", ["stack", "json"])).toBe("stack");
    expect(closest("dryrun", ["dry-run", "delete"])).toBe("dry-run");
    expect(closest("preview-only", ["confirm", "help"])).toBeUndefined();
  });
});

describe("badValueIn: no value may carry a control character or a number that is not finite", () => {
  it("names the flag or the positional, and the character", () => {
    expect(badValueIn({ _: ["plan"], stack: "dev\n", $0: "trainctl" }, [])).toBe(
      '--stack: control character U+000A in "dev\\n"; values may not contain control characters',
    );
    expect(badValueIn({ name: "a\u001bb" }, ["name"])).toMatch(/^<name>: control character U\+001B/);
    expect(badValueIn({ env: ["A=1", "B=\r"] }, [])).toMatch(/^--env: control character U\+000D/);
  });

  it("names a number flag that parsed to NaN or Infinity, with what was typed", () => {
    expect(badValueIn({ hours: Number.NaN }, [], ["cost", "--hours", "ten"])).toBe('--hours: "ten" is not a finite number');
    expect(badValueIn({ hours: Number.POSITIVE_INFINITY }, [], ["cost", "--hours=1e400"])).toBe('--hours: "1e400" is not a finite number');
    expect(badValueIn({ s: "dev\n", stack: "dev\n" }, [])).toMatch(/^--stack:/);
  });

  it("leaves clean values and the command after -- alone", () => {
    expect(badValueIn({ _: ["run"], stack: "dev", env: ["A=1"], port: 29500, "--": ["bash", "-c", "a\nb"] }, ["stack"])).toBeUndefined();
  });
});

describe("errorMessage: a system error leads with the file it is about", () => {
  const dir = mkdtempSync(path.join(tmpdir(), "trainctl-errors-"));
  const caught = (f: () => void) => {
    try {
      f();
    } catch (error) {
      return error;
    }
    throw new Error("no error");
  };

  it("a failed write names the file, then what went wrong and the code", () => {
    writeFileSync(path.join(dir, "plain"), "x");
    const file = path.join(dir, "plain", "loader.py");
    expect(errorMessage(caught(() => writeFileSync(file, "x")))).toBe(`${file}: not a directory (ENOTDIR, open)`);
  });

  it("a failed rename names both files", () => {
    mkdirSync(path.join(dir, "folder"));
    const from = path.join(dir, "plain");
    expect(errorMessage(caught(() => renameSync(from, path.join(dir, "folder"))))).toMatch(
      new RegExp(`^${from} -> ${path.join(dir, "folder")}: .* \\((EISDIR|ENOTDIR|ENOTEMPTY), rename\\)$`),
    );
  });

  it("an error that wraps one names the wrapped error's file", () => {
    const cause = caught(() => writeFileSync(path.join(dir, "missing", "x"), "x"));
    expect(errorMessage(new Error("could not write the loader", { cause }))).toBe(`could not write the loader (${path.join(dir, "missing", "x")})`);
    expect(errorMessage(new Error("plain"))).toBe("plain");
  });
});

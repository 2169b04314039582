import { readdirSync, readFileSync } from "node:fs";
import * as path from "node:path";
import yargs, { type Argv, type CommandModule } from "yargs";
import { hideBin } from "yargs/helpers";
import { ExitCode, type TrainctlError, UsageError } from "../core/errors";
import { PACKAGE_ROOT } from "./package-root";

/**
 * Every file in scripts/commands/ exports one yargs command module, named like the file. Only the
 * command being run is loaded; help, --version and unknown names load them all. A command module
 * declares its options only: its handler loads the SDKs, Pulumi, zod and other packages it needs.
 */
function loadCommands(argv: string[]): CommandModule[] {
  const folder = path.join(__dirname, "commands");
  const extension = path.extname(__filename);
  const files = readdirSync(folder).filter((file) => file.endsWith(extension) && !file.endsWith(".d.ts"));
  return commandFilesFor(argv, files, extension).map((file) => (require(path.join(folder, file)) as { default: CommandModule }).default);
}

/** The command files to load for these arguments: the named command's own, else all of them. */
export function commandFilesFor(argv: string[], files: string[], extension = ".ts"): string[] {
  const chosen = files.find((file) => file === `${argv[0]}${extension}`);
  return chosen ? [chosen] : [...files].sort();
}

/** What a usage error is told with: the raw arguments, the command path so far, its flags and subcommands. */
export interface UsageContext {
  argv: string[];
  /** yargs' full command strings, outermost first, e.g. ["experiment", "new <name>"]. */
  commands: string[];
  flags: string[];
  subcommands: string[];
}

/** Levenshtein distance, for "did you mean". */
function distance(a: string, b: string): number {
  let row = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    const next = [i];
    for (let j = 1; j <= b.length; j++) next[j] = Math.min(row[j] + 1, next[j - 1] + 1, row[j - 1] + (a[i - 1] === b[j - 1] ? 0 : 1));
    row = next;
  }
  return row[b.length];
}

/** The candidate closest to `name` (at most 2 edits, or one a prefix of the other), if any. */
export function closest(name: string, candidates: string[]): string | undefined {
  const scored = candidates.map((c) => ({ c, d: c.startsWith(name) || name.startsWith(c) ? 1 : distance(name, c) })).filter((s) => s.d <= 2);
  return scored.sort((x, y) => x.d - y.d)[0]?.c;
}

/** "experiment new: " for ["experiment", "new <name>"]: which command an error is about. */
const commandPrefix = (commands: string[]) => (commands.length ? `${commands.map((c) => c.split(" ")[0]).join(" ")}: ` : "");
const dashed = (name: string) => (name.length === 1 ? `-${name}` : `--${name}`);
/** The positional tokens of a yargs command string: "new <name>" → ["<name>"]. */
const positionalsOf = (command: string) => command.split(" ").filter((t) => /^[<[]/.test(t));

/** yargs' (often multi-line) usage message as one line that names the command, the flag and the accepted values. */
export function usageLine(message: string, context: UsageContext): string {
  const prefix = commandPrefix(context.commands);
  let m: RegExpExecArray | null;
  if ((m = /^Unknown arguments?: (.*)$/s.exec(message))) {
    const names = m[1].split(", ");
    // yargs lists a kebab-case flag twice (--dry-run and --dryRun): keep the one the user typed.
    const typed = names.filter((n) => !(/[A-Z]/.test(n) && names.includes(n.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`))));
    const parts = typed.map((name) => {
      const isFlag = context.argv.some((a) => a === dashed(name) || a.startsWith(`${dashed(name)}=`)) || !context.argv.includes(name);
      if (!isFlag) return `unexpected argument ${JSON.stringify(name)}`;
      const near = closest(
        name,
        context.flags.filter((f) => f.length > 1),
      );
      const dryRunHint = /^dry-?run$/i.test(name) && context.flags.includes("execute") ? "; it is a dry run unless --execute" : "";
      return `unknown flag ${dashed(name)}${near ? ` (did you mean --${near}?)` : ""}${dryRunHint}`;
    });
    return prefix + parts.join("; ");
  }
  if ((m = /^Invalid values:\s*(.*)$/s.exec(message))) {
    const parts = [...m[1].matchAll(/Argument: (\S+), Given: (.*?), Choices: (.*)/g)].map(
      ([, name, given, choices]) => `${dashed(name)} ${given} is not one of: ${choices.replace(/"/g, "")}`,
    );
    return prefix + parts.join("; ");
  }
  if ((m = /^Not enough non-option arguments: got (\d+), need at least (\d+)$/.exec(message))) {
    const last = context.commands.at(-1) ?? "";
    const missing = positionalsOf(last).slice(Number(m[1]), Number(m[2]));
    return `${prefix}missing ${missing.join(" ") || "argument"} (usage: trainctl ${context.commands.join(" ")})`;
  }
  if ((m = /^Missing required arguments?: (.*)$/s.exec(message))) {
    const positionals = context.commands.flatMap(positionalsOf).map((t) => t.slice(1, -1));
    const names = m[1].split(", ").map((n) => (positionals.includes(n) ? `<${n}>` : dashed(n)));
    return `${prefix}missing ${names.join(", ")}`;
  }
  if ((m = /^Arguments (\S+) and (\S+) are mutually exclusive$/.exec(message))) return `${prefix}${dashed(m[1])} and ${dashed(m[2])} cannot be used together`;
  const unknownCommand = /^(?:Did you mean (.*)\?|Unknown commands?: .*)$/.exec(message);
  if (unknownCommand) {
    const given = context.argv.filter((a) => !a.startsWith("-"))[context.commands.length];
    const hint = unknownCommand[1] ? `; did you mean ${unknownCommand[1]}?` : "";
    return `${prefix}unknown command ${JSON.stringify(given)}${hint} (commands: ${[...context.subcommands].sort().join(", ")})`;
  }
  return (
    prefix +
    message
      .split("\n")
      .map((l) => l.trim())
      .filter(Boolean)
      .join(" ")
  );
}

// eslint-disable-next-line no-control-regex
const CONTROL = /[\u0000-\u001f\u007f-\u009f]/;

/** What the user typed for `--key` (`--key VALUE` or `--key=VALUE`), for messages about a parsed value. */
function typed(argv: string[], key: string): string | undefined {
  const at = argv.findIndex((a) => a === dashed(key) || a.startsWith(`${dashed(key)}=`));
  if (at < 0) return undefined;
  return argv[at].includes("=") ? argv[at].slice(argv[at].indexOf("=") + 1) : argv[at + 1];
}

/**
 * The first value no command may act on, as a usage error message: a control character in any option
 * or positional (it would end a line in user data, a tag or a file name), or a number that is not
 * finite (`--hours ten`, `--hours 1e400`). The command after `--` is left alone.
 */
export function badValueIn(args: Record<string, unknown>, positionals: string[], argv: string[] = []): string | undefined {
  // Long names first, so `--stack` is named rather than its alias `-s`; camelCase copies are skipped.
  const keys = Object.keys(args)
    .filter((key) => !["_", "$0", "--"].includes(key) && !/[A-Z]/.test(key))
    .sort((a, b) => b.length - a.length);
  for (const key of keys) {
    const name = positionals.includes(key) ? `<${key}>` : dashed(key);
    const values = [args[key]].flat();
    const text = values.find((v): v is string => typeof v === "string" && CONTROL.test(v));
    if (text !== undefined) {
      const code = text.match(CONTROL)![0].charCodeAt(0);
      return `${name}: control character U+${code.toString(16).toUpperCase().padStart(4, "0")} in ${JSON.stringify(text)}; values may not contain control characters`;
    }
    if (values.some((v) => typeof v === "number" && !Number.isFinite(v)))
      return `${name}: ${JSON.stringify(typed(argv, key) ?? String(args[key]))} is not a finite number`;
  }
  return undefined;
}

interface SystemError extends Error {
  code?: string;
  syscall?: string;
  path?: string;
  dest?: string;
}

/** A Node system error (ENOENT, EACCES, ENOSPC, …) told by the file it is about; other messages as they are. */
export function errorMessage(error: unknown): string {
  if (!(error instanceof Error)) return String(error);
  const system = error as SystemError;
  const cause = (error.cause ?? {}) as SystemError;
  if (system.syscall && system.code) {
    const what = error.message.replace(/^[A-Z0-9_]+: /, "").replace(/, \w+(?: '.*')?$/, "");
    const file = system.path ? `${system.path}${system.dest ? ` -> ${system.dest}` : ""}: ` : "";
    return `${file}${what} (${system.code}, ${system.syscall})`;
  }
  if (cause.path && !error.message.includes(cause.path)) return `${error.message} (${cause.path})`;
  return error.message;
}

/** One line per error, `error: …`; the stack only with --debug. */
export function reportError(error: unknown, debug: boolean): number {
  for (const line of errorMessage(error).split("\n")) process.stderr.write(`error: ${line}\n`);
  if (debug && error instanceof Error && error.stack) process.stderr.write(`${error.stack}\n`);
  // Duck-typed: the program may load its own copy of the errors module (offline plan, tests).
  const code = (error as Partial<TrainctlError> | undefined)?.exitCode;
  return typeof code === "number" ? code : ExitCode.failure;
}

/** The AWS SDK's Node-version notice is not the user's problem on every run. */
function quietSdkNotices(): void {
  const emit = process.emitWarning.bind(process);
  process.emitWarning = (warning: string | Error, ...rest: unknown[]) => {
    const text = typeof warning === "string" ? warning : warning.name;
    const type = typeof rest[0] === "string" ? rest[0] : "";
    if (/NodeVersionSupportWarning/.test(`${text} ${type}`)) return;
    (emit as (...args: unknown[]) => void)(warning, ...rest);
  };
}

export async function main(argv: string[]): Promise<number> {
  quietSdkNotices();
  const debug = argv.includes("--debug");
  // Not chained: the handlers below read the parser's state at the moment they run.
  const parser: Argv = yargs(argv);
  const state = parser as unknown as YargsState;
  const usageContext = (): UsageContext => ({
    argv,
    commands: [...state.getInternalMethods().getContext().fullCommands],
    flags: Object.keys(state.getOptions().key),
    subcommands: state.getInternalMethods().getCommandInstance().getCommands(),
  });
  parser
    .scriptName("trainctl")
    .usage("$0 <command> [options]\n\nOne Pulumi stack per training experiment: plan, cost, data, teardown.")
    .option("debug", { type: "boolean", describe: "print stack traces with errors", global: true })
    .command(loadCommands(argv))
    .completion("completion", "print a bash/zsh completion script (e.g. `trainctl completion >> ~/.bashrc`)")
    .demandCommand(1, "name a command (see --help)")
    .version((JSON.parse(readFileSync(path.join(PACKAGE_ROOT, "package.json"), "utf8")) as { version: string }).version)
    .strict()
    .showHelpOnFail(false)
    .recommendCommands()
    .wrap(Math.min(110, process.stderr.columns ?? 100))
    .exitProcess(false)
    // Runs after validation, before any handler.
    .middleware((args) => {
      const problem = badValueIn(
        args,
        usageContext()
          .commands.flatMap(positionalsOf)
          .map((t) => t.slice(1, -1)),
        argv,
      );
      if (problem) throw new UsageError(commandPrefix(usageContext().commands) + problem);
    })
    // Throwing stops yargs before the handler runs (with exitProcess(false) it would otherwise go on).
    .fail((message: string | null, error: Error | undefined) => {
      // A handler's own failure (no message), or an error that already knows its exit code.
      if (error && (!message || typeof (error as Partial<TrainctlError>).exitCode === "number")) throw error;
      throw new UsageError(usageLine(message ?? String(error), usageContext()), { cause: error });
    });
  try {
    await parser.parseAsync();
  } catch (error) {
    return reportError(error, debug);
  }
  return Number(process.exitCode ?? ExitCode.ok);
}

/** The parts of yargs' state a usage message needs (not in its typings). */
interface YargsState {
  getOptions(): { key: Record<string, unknown> };
  getInternalMethods(): {
    getContext(): { fullCommands: string[] };
    getCommandInstance(): { getCommands(): string[] };
  };
}

/** Runs the CLI on these arguments and sets the process's exit code. */
export async function run(argv: string[]): Promise<void> {
  process.exitCode = await main(argv);
}

if (require.main === module) void run(hideBin(process.argv));

import { readdirSync, readFileSync } from "node:fs";
import * as path from "node:path";
import yargs, { type CommandModule } from "yargs";
import { hideBin } from "yargs/helpers";
import { ExitCode, type TrainctlError } from "./errors";
import { PACKAGE_ROOT } from "./state/project";

/**
 * Every file in scripts/commands/ exports one yargs command module, named like the file. Only the
 * command being run is loaded (the others pull in SDKs and Pulumi: seconds of start-up); help,
 * --version and unknown names load them all.
 */
function loadCommands(argv: string[]): CommandModule[] {
  const folder = path.join(__dirname, "commands");
  const extension = path.extname(__filename);
  const files = readdirSync(folder).filter((file) => file.endsWith(extension) && !file.endsWith(".d.ts"));
  return commandFilesFor(argv, files, extension).map((file) => require(path.join(folder, file)).default as CommandModule);
}

/** The command files to load for these arguments: the named command's own, else all of them. */
export function commandFilesFor(argv: string[], files: string[], extension = ".ts"): string[] {
  const chosen = files.find((file) => file === `${argv[0]}${extension}`);
  return chosen ? [chosen] : [...files].sort();
}

/** One line per error, `error: …`; the stack only with --debug. */
export function reportError(error: unknown, debug: boolean): number {
  const message = error instanceof Error ? error.message : String(error);
  for (const line of message.split("\n")) process.stderr.write(`error: ${line}\n`);
  if (debug && error instanceof Error && error.stack) process.stderr.write(`${error.stack}\n`);
  // Duck-typed: the program may load its own copy of the errors module (offline plan, tests).
  const code = (error as Partial<TrainctlError> | undefined)?.exitCode;
  return typeof code === "number" ? code : ExitCode.failure;
}

/** The AWS SDK's Node-version notice is not the user's problem on every run. */
function quietSdkNotices(): void {
  const emit = process.emitWarning.bind(process);
  process.emitWarning = ((warning: string | Error, ...rest: unknown[]) => {
    const text = typeof warning === "string" ? warning : warning.name;
    if (/NodeVersionSupportWarning/.test(`${text} ${String(rest[0] ?? "")}`)) return;
    (emit as (...args: unknown[]) => void)(warning, ...rest);
  }) as typeof process.emitWarning;
}

export async function main(argv: string[]): Promise<number> {
  quietSdkNotices();
  const debug = argv.includes("--debug");
  let usageError: string | undefined;
  const parser = yargs(argv)
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
    .fail((message, error) => {
      if (error) throw error;
      usageError = message;
    });
  try {
    await parser.parseAsync();
  } catch (error) {
    return reportError(error, debug);
  }
  if (usageError) {
    process.stderr.write(`error: ${usageError.split("\n")[0]}\n`);
    return ExitCode.usage;
  }
  return Number(process.exitCode ?? ExitCode.ok);
}

/** Runs the CLI on these arguments and sets the process's exit code. */
export async function run(argv: string[]): Promise<void> {
  process.exitCode = await main(argv);
}

if (require.main === module) void run(hideBin(process.argv));

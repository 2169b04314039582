/**
 * `run --env-from-ssm KEY=NAME`: secrets a node reads from SSM Parameter Store when a run starts, so
 * their values never travel in SSM command parameters. Pure; shared by the CLI and the instance role.
 */
import { UsageError } from "../../core/errors";
import { CONTROL_CHARACTER } from "./shell";

export { runSecretsPath } from "../../core/names";

/**
 * SSM counts the ARN before a parameter name in its 1011-character limit (PutParameter, Name):
 * this leaves room for the longest partition, region and account prefix.
 */
export const MAX_PARAMETER_NAME = 1011 - "arn:aws-us-gov:ssm:ap-southeast-5:123456789012:parameter".length;
/** SSM: at most fifteen levels of hierarchy. */
const MAX_PARAMETER_LEVELS = 15;
/** SSM: a name level holds only `a-zA-Z0-9_.-`; a level of dots only is refused here as confusing. */
const PARAMETER_LEVEL = /^(?!\.+$)[A-Za-z0-9_.-]+$/;
/** A shell and systemd environment variable name. */
export const ENV_NAME = /^[A-Za-z_][A-Za-z0-9_]*$/;

/** Why NAME is no parameter of this experiment's run secrets, or undefined when it is one. */
export function secretNameProblem(name: string, prefix: string): string | undefined {
  if (!name.startsWith(prefix)) return `must be under ${prefix} (the instance role may read nothing else)`;
  const levels = name.slice(1).split("/");
  if (!levels.slice(prefix.split("/").length - 2).every((level) => PARAMETER_LEVEL.test(level)))
    return `each level after ${prefix} must be letters, digits, _ . - (not empty, not only dots)`;
  if (levels.length > MAX_PARAMETER_LEVELS) return `has ${levels.length} levels; SSM allows at most ${MAX_PARAMETER_LEVELS}`;
  if (name.length > MAX_PARAMETER_NAME) return `is ${name.length} characters; at most ${MAX_PARAMETER_NAME} fit SSM's limit`;
  return undefined;
}

/**
 * `KEY=NAME` pairs → {KEY: NAME}. Bad input is a UsageError naming the flag: a KEY that is no
 * variable name, is `reserved` or given twice (`taken` holds the --env names), or a NAME outside `prefix`.
 */
export function parseSecretRefs(
  pairs: readonly string[],
  prefix: string,
  reserved: (key: string) => boolean,
  taken: readonly string[] = [],
): Record<string, string> {
  const refs: Record<string, string> = {};
  for (const pair of pairs) {
    const fail = (why: string) => new UsageError(`--env-from-ssm ${JSON.stringify(pair)}: ${why}`, { subject: "--env-from-ssm" });
    if (CONTROL_CHARACTER.test(pair)) throw fail("must not contain control characters such as a newline or tab");
    const eq = pair.indexOf("=");
    const [key, name] = [pair.slice(0, eq), pair.slice(eq + 1)];
    if (eq < 0 || !ENV_NAME.test(key))
      throw fail(`is not KEY=NAME (KEY: letters, digits, _; not starting with a digit; NAME: an SSM parameter under ${prefix})`);
    if (reserved(key)) throw fail(`${key} is set by trainctl run itself`);
    if (key in refs || taken.includes(key)) throw fail(`${key} is given twice`);
    const problem = secretNameProblem(name, prefix);
    if (problem) throw fail(`NAME ${problem}`);
    refs[key] = name;
  }
  return refs;
}

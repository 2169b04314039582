/** Shell text sent to instances through SSM, built by pure functions so tests can read and run it. */

export { CONTROL_CHARACTER } from "../../core/text";

/** Single-quotes a word for bash. */
export function quote(word: string): string {
  return `'${word.replace(/'/g, `'\\''`)}'`;
}

export interface S3Access {
  region: string;
  /** An S3-compatible endpoint (tests, MinIO); absent on AWS. */
  endpoint?: string;
}

/** `aws s3 VERB` with the region and, when set, the endpoint. */
export const awsS3 = (verb: "sync" | "cp", access: S3Access) =>
  [`aws s3 ${verb} --only-show-errors --region ${quote(access.region)}`, ...(access.endpoint ? [`--endpoint-url ${quote(access.endpoint)}`] : [])].join(" ");
const s5cmdArgs = (access: S3Access) => (access.endpoint ? ` --endpoint-url ${quote(access.endpoint)}` : "");
const asFolder = (url: string) => (url.endsWith("/") ? url : `${url}/`);

/**
 * Copies between an S3 prefix and a path on the instance: `s5cmd` when the instance has it, else
 * `aws s3 sync` (or `aws s3 cp` for a single file). Folders map the way `aws s3 sync` maps them.
 */
export function instanceCopyShell(direction: "to-instance" | "from-instance", s3Url: string, instancePath: string, access: S3Access): string {
  const prefix = asFolder(s3Url);
  const lines = ["set -euo pipefail", `export AWS_REGION=${quote(access.region)}`];
  if (direction === "to-instance") {
    lines.push(
      `mkdir -p ${quote(instancePath)}`,
      "if command -v s5cmd >/dev/null 2>&1; then",
      `  s5cmd${s5cmdArgs(access)} sync ${quote(`${prefix}*`)} ${quote(asFolder(instancePath))}`,
      "else",
      `  ${awsS3("sync", access)} ${quote(prefix)} ${quote(instancePath)}`,
      "fi",
    );
  } else {
    lines.push(
      `if [ -f ${quote(instancePath)} ]; then`,
      `  ${awsS3("cp", access)} ${quote(instancePath)} ${quote(prefix)}`,
      `elif [ ! -d ${quote(instancePath)} ]; then`,
      `  echo ${quote(`trainctl: ${instancePath} does not exist on this instance`)} >&2; exit 2`,
      "elif command -v s5cmd >/dev/null 2>&1; then",
      `  s5cmd${s5cmdArgs(access)} sync ${quote(asFolder(instancePath))} ${quote(prefix)}`,
      "else",
      `  ${awsS3("sync", access)} ${quote(instancePath)} ${quote(prefix)}`,
      "fi",
    );
  }
  lines.push(`echo ${quote(`trainctl: copied ${direction === "to-instance" ? `${prefix} to ${instancePath}` : `${instancePath} to ${prefix}`}`)}`);
  return `${lines.join("\n")}\n`;
}

/** The pricing arithmetic lives in core/ (shared with the Pulumi program); re-exported for the CLI. */
import { isKnownRegion } from "../../core/regions";
import { UsageError } from "../../core/errors";

export * from "../../core/pricing";

/** The region, when AWS has it; else a usage error naming `aws:region` and where valid ones are listed. */
export function knownRegion(region: string): string {
  if (!isKnownRegion(region)) {
    throw new UsageError(
      `aws:region: unknown AWS region "${region}"; \`aws ec2 describe-regions --all-regions\` lists the valid ones (e.g. us-east-1, eu-west-1)`,
      { subject: "aws:region" },
    );
  }
  return region;
}

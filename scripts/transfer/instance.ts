import { createHash } from "node:crypto";
import { UsageError } from "../../core/errors";
import { type Location, STAGING_PREFIX } from "./location";

type S3Location = Extract<Location, { kind: "s3" }>;
type LocalLocation = Extract<Location, { kind: "local" }>;
type InstanceLocation = Extract<Location, { kind: "instance" }>;

/** One step of a transfer: the S3 engine on this machine, or a copy run on the instance through SSM. */
export type Leg =
  | { kind: "upload"; from: LocalLocation; to: S3Location }
  | { kind: "download"; from: S3Location; to: LocalLocation }
  | { kind: "to-instance"; from: S3Location; to: InstanceLocation }
  | { kind: "from-instance"; from: InstanceLocation; to: S3Location };

export const isInstanceId = (target: string) => /^i-[0-9a-f]{8,17}$/.test(target);

/**
 * Where a local ↔ instance copy waits in S3: `staging/transfer/<digest of SRC and DST>/` in the
 * experiment bucket (expired by its lifecycle rule after a day). The same command gets the same
 * prefix, so a re-run resumes through the transfer journal.
 */
export function stagingLocation(bucket: string, src: string, dst: string): S3Location {
  const digest = createHash("sha256").update(`${src}\n${dst}`).digest("hex").slice(0, 16);
  return { kind: "s3", bucket, prefix: `${STAGING_PREFIX}transfer/${digest}/` };
}

/** The steps that move SRC to DST; local ↔ instance goes through the staging location. */
export function planLegs(src: Location, dst: Location, staging?: S3Location): Leg[] {
  if (src.kind === "local" && dst.kind === "s3") return [{ kind: "upload", from: src, to: dst }];
  if (src.kind === "s3" && dst.kind === "local") return [{ kind: "download", from: src, to: dst }];
  if (src.kind === "s3" && dst.kind === "instance") return [{ kind: "to-instance", from: src, to: dst }];
  if (src.kind === "instance" && dst.kind === "s3") return [{ kind: "from-instance", from: src, to: dst }];
  if (src.kind === "instance" && dst.kind === "instance")
    throw new UsageError("DST: instance to instance copies are not supported (stage through s3://)", { subject: "DST" });
  if (!staging) throw new UsageError("--bucket: an instance location needs a bucket to stage through", { subject: "--bucket" });
  if (src.kind === "local" && dst.kind === "instance") {
    // A single file keeps its name inside the staging prefix.
    return [
      { kind: "upload", from: src, to: staging },
      { kind: "to-instance", from: staging, to: dst },
    ];
  }
  if (src.kind === "instance" && dst.kind === "local") {
    return [
      { kind: "from-instance", from: src, to: staging },
      { kind: "download", from: staging, to: dst },
    ];
  }
  throw new UsageError(`DST: cannot copy ${src.kind} to ${dst.kind}`, { subject: "DST" });
}

/** `s3://bucket/prefix` of an S3 location. */
export const s3Url = (location: S3Location) => `s3://${location.bucket}/${location.prefix}`;

/** Which bucket a local ↔ instance copy stages through, or why there is none (bad input). */
export function stagingBucket(instance: InstanceLocation, flagBucket: string | undefined, stackBucket: string | undefined): string {
  const bucket = flagBucket ?? stackBucket;
  if (bucket) return bucket;
  const hint = isInstanceId(instance.target) ? `${instance.target} is an instance id` : `stack ${instance.target} has no checkpointsBucket output`;
  throw new UsageError(`--bucket: ${hint}; name a bucket to stage through with --bucket BUCKET`, { subject: "--bucket" });
}

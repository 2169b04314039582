import { UsageError } from "../../core/errors";

export type Location = { kind: "local"; path: string } | { kind: "s3"; bucket: string; prefix: string } | { kind: "instance"; target: string; path: string };

export { STAGING_PREFIX } from "../../core/names";

const BUCKET = /^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$/;

/** One syntax for every location: a local path, `s3://bucket/prefix`, `<stack>:/path` or `i-0123…:/path`. */
export function parseLocation(text: string, flag: string): Location {
  if (text.startsWith("s3://")) {
    const [bucket, ...rest] = text.slice(5).split("/");
    if (!BUCKET.test(bucket ?? "")) throw new UsageError(`${flag}: malformed S3 URL ${JSON.stringify(text)} (expected s3://bucket/prefix)`, { subject: flag });
    return { kind: "s3", bucket, prefix: rest.join("/") };
  }
  // `s3:/b/x`, `S3://b/x`: a mistyped S3 URL, not a stack named s3.
  if (/^s3:/i.test(text)) throw new UsageError(`${flag}: malformed S3 URL ${JSON.stringify(text)} (expected s3://bucket/prefix)`, { subject: flag });
  if (/^[a-z][a-z0-9+.-]*:\/\//i.test(text))
    throw new UsageError(`${flag}: unsupported URL ${JSON.stringify(text)} (accepted: a local path, s3://bucket/prefix, STACK:/path or i-…:/path)`, {
      subject: flag,
    });
  const remote = /^([A-Za-z0-9_.-]+):(\/.*)$/.exec(text);
  if (remote) return { kind: "instance", target: remote[1], path: remote[2] };
  return { kind: "local", path: text };
}

/** Joins an S3 prefix and a relative key with exactly one `/`. */
export function joinKey(prefix: string, relative: string): string {
  if (!prefix) return relative;
  return prefix.endsWith("/") ? `${prefix}${relative}` : `${prefix}/${relative}`;
}

/** Part size so a file needs at most 10,000 parts, never below the minimum. */
export function partSizeFor(size: number, minimum = 8 * 1024 * 1024): number {
  const mib = 1024 * 1024;
  return Math.max(minimum, Math.ceil(size / 10_000 / mib) * mib);
}

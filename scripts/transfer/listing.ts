import { lstatSync, readdirSync, statSync } from "node:fs";
import * as path from "node:path";
import { ListObjectsV2Command, type S3Client } from "@aws-sdk/client-s3";
import picomatch from "picomatch";
import type { Run } from "./run-context";

export interface LocalFile {
  relative: string;
  absolute: string;
  size: number;
  mtimeMs: number;
}

/** Files under a folder (or the file itself), keyed by relative path with `/`. Symlinks are skipped with a warning. */
export function listLocal(root: string, onWarning?: (m: string) => void): LocalFile[] {
  const top = lstatSync(root);
  if (top.isFile()) return [{ relative: path.basename(root), absolute: root, size: top.size, mtimeMs: top.mtimeMs }];
  const files: LocalFile[] = [];
  const walk = (dir: string, prefix: string) => {
    for (const entry of readdirSync(dir, { withFileTypes: true })) {
      const absolute = path.join(dir, entry.name);
      const relative = prefix ? `${prefix}/${entry.name}` : entry.name;
      if (entry.isSymbolicLink()) onWarning?.(`skipping symlink ${absolute}`);
      else if (entry.isDirectory()) walk(absolute, relative);
      else if (entry.isFile()) {
        const stat = statSync(absolute);
        files.push({ relative, absolute, size: stat.size, mtimeMs: stat.mtimeMs });
      }
    }
  };
  walk(root, "");
  return files.sort((a, b) => (a.relative < b.relative ? -1 : 1));
}

export interface RemoteObject {
  key: string;
  relative: string;
  size: number;
  /** As the listing gives it, when it does: for an object stored in one PUT, its MD5 (see md5OfEtag). */
  etag?: string;
}

export async function listRemote(run: Run, client: S3Client, bucket: string, prefix: string): Promise<RemoteObject[]> {
  const objects: RemoteObject[] = [];
  let ContinuationToken: string | undefined;
  const base = prefix && !prefix.endsWith("/") ? `${prefix}/` : prefix;
  do {
    const token = ContinuationToken;
    const page = await run.request(`LIST s3://${bucket}/${base}`, () =>
      run.leanFirst(
        () => run.small.list(bucket, base, token),
        async () => {
          const answer = await client.send(new ListObjectsV2Command({ Bucket: bucket, Prefix: base, ContinuationToken: token }));
          return {
            contents: (answer.Contents ?? []).map((o) => ({ key: o.Key ?? "", size: o.Size ?? 0, etag: o.ETag })),
            next: answer.IsTruncated ? answer.NextContinuationToken : undefined,
          };
        },
      ),
    );
    for (const o of page.contents) {
      if (!o.key || o.key.endsWith("/")) continue;
      objects.push({ key: o.key, relative: o.key.slice(base.length), size: o.size, etag: o.etag });
    }
    ContinuationToken = page.next;
  } while (ContinuationToken);
  return objects;
}

export function matcher(include: string[], exclude: string[]): (relative: string) => boolean {
  const inc = include.length ? picomatch(include, { dot: true }) : () => true;
  const exc = exclude.length ? picomatch(exclude, { dot: true }) : () => false;
  return (relative) => inc(relative) && !exc(relative);
}

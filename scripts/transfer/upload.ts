import { createHash } from "node:crypto";
import { lstatSync, readFileSync, statSync } from "node:fs";
import { type FileHandle, open, readFile } from "node:fs/promises";
import * as path from "node:path";
import {
  AbortMultipartUploadCommand,
  CompleteMultipartUploadCommand,
  CreateMultipartUploadCommand,
  DeleteObjectsCommand,
  GetObjectCommand,
  PutObjectCommand,
  type S3Client,
  UploadPartCommand,
} from "@aws-sdk/client-s3";
import { TrainctlError, UsageError } from "../../core/errors";
import { hashed } from "./client";
import { Crc32c, DIGEST_KEY, crc32cOf, fileDigest, holdsObject } from "./digest";
import { Journal } from "./journal";
import { type LocalFile, listLocal, listRemote, matcher } from "./listing";
import { joinKey, partSizeFor } from "./location";
import { planSync } from "./sync-decision";
import { Run, SMALL_FILE, type TransferOptions, type TransferSummary, eachFile, failed, naming, unlessInPlace } from "./run-context";

/** Local file or folder → S3 prefix. A folder's contents land under the prefix, keyed by relative path. */
export async function upload(client: S3Client, source: string, bucket: string, prefix: string, options: TransferOptions): Promise<TransferSummary> {
  const isFile = lstatSync(source).isFile();
  if (isFile && options.deleteExtra) throw new UsageError("--delete applies to folder copies only, not to a single file", { subject: "--delete" });
  const run = await Run.create(client, options);
  const accept = matcher(options.include, options.exclude);
  const files = listLocal(source, options.onWarning).filter((f) => isFile || (accept(f.relative) && (options.select?.(f.relative) ?? true)));
  const keyOf = (f: LocalFile) => (isFile && prefix && !prefix.endsWith("/") ? prefix : joinKey(prefix, f.relative));
  const remote = options.sync || options.deleteExtra ? await listRemote(run, client, bucket, isFile ? path.posix.dirname(prefix) : prefix) : [];
  const plan = planSync(
    files.map((f) => ({ name: keyOf(f), size: f.size, item: f })),
    remote.map((o) => ({ name: o.key, size: o.size, item: o })),
    options,
  );
  const todo = await unlessInPlace(run, plan, ({ source, destination }) =>
    holdsObject(source.absolute, source.size, destination.etag, () => run.metadataOf(bucket, destination.key)),
  );
  const extra = plan.remove.filter((o) => accept(o.relative));
  run.plan(
    todo.length,
    todo.reduce((sum, f) => sum + f.size, 0),
    files.length - todo.length,
  );
  if (options.dryRun) {
    for (const f of todo) options.onEvent?.({ type: "file", path: f.relative, bytes: f.size, action: "would-copy" });
    for (const o of extra) options.onEvent?.({ type: "file", path: o.key, bytes: o.size, action: "would-delete" });
    run.deleted = extra.length;
    return run.summary();
  }

  const journal = new Journal(options.journalRoot, path.resolve(source), `s3://${bucket}/${prefix}`, bucket);
  let failures: unknown[];
  try {
    failures = await eachFile(
      todo,
      async (f) => {
        const key = keyOf(f);
        try {
          if (f.size <= options.multipartThreshold) await uploadWhole(client, run, f, bucket, key);
          else await uploadMultipart(client, run, journal, f, bucket, key);
        } catch (error) {
          throw naming(error, "read", f.absolute);
        }
        if (options.verify) await verifyRemote(client, run, bucket, key, f.absolute);
        options.onEvent?.({ type: "file", path: f.relative, bytes: f.size, action: "upload" });
        run.done(f.size);
      },
      options.signal,
    );
  } finally {
    journal.flush();
  }
  const failure = failed(failures);
  if (failure) throw failure; // nothing is deleted after a failed copy
  for (let i = 0; i < extra.length; i += 1000) {
    const batch = extra.slice(i, i + 1000);
    await run.request(`DELETE ${batch.length} object(s) under s3://${bucket}/${prefix}`, () =>
      client.send(new DeleteObjectsCommand({ Bucket: bucket, Delete: { Objects: batch.map((o) => ({ Key: o.key })), Quiet: true } })),
    );
    for (const o of batch) options.onEvent?.({ type: "file", path: o.key, bytes: o.size, action: "delete" });
    run.deleted += batch.length;
  }
  return run.summary();
}

/** A source file that is no longer what was listed (size or mtime): its upload must not be published. */
function checkUnchanged(f: LocalFile): void {
  const now = statSync(f.absolute);
  if (now.size === f.size && now.mtimeMs === f.mtimeMs) return;
  const change = now.size === f.size ? "modified" : `${now.size > f.size ? "grew" : "shrank"} from ${f.size} to ${now.size} bytes`;
  throw new TrainctlError(`${f.absolute} changed during the upload (${change}); it was not published: run again once it is stable`, { subject: f.absolute });
}

/** One PUT. The file is read only once its request holds a slot, so at most `concurrency` bodies are in memory. */
async function uploadWhole(client: S3Client, run: Run, f: LocalFile, bucket: string, key: string): Promise<void> {
  await run.request<unknown>(`PUT s3://${bucket}/${key}`, async () => {
    const body = f.size <= SMALL_FILE ? readFileSync(f.absolute) : await readFile(f.absolute);
    checkUnchanged(f); // after the read: what is sent is the file as listed
    const signed = sha256(body);
    const metadata = { [DIGEST_KEY]: crc32cOf(body) };
    const put = () =>
      client.send(new PutObjectCommand({ Bucket: bucket, Key: key, Body: hashed(body, signed), ContentLength: body.length, Metadata: metadata }));
    return body.length <= SMALL_FILE ? run.leanFirst<unknown>(() => run.small.put(bucket, key, body, signed, metadata), put) : put();
  });
}

async function uploadMultipart(client: S3Client, run: Run, journal: Journal, f: LocalFile, bucket: string, key: string): Promise<void> {
  const digest = await fileDigest(f.absolute);
  let entry = journal.get(f.relative);
  if (entry && (entry.size !== f.size || entry.mtimeMs !== f.mtimeMs || entry.digest !== digest || entry.key !== key)) {
    // The source changed since the interrupted run: that upload is worthless; start the file again.
    await client.send(new AbortMultipartUploadCommand({ Bucket: bucket, Key: entry.key, UploadId: entry.uploadId })).catch(() => undefined);
    journal.finish(f.relative);
    entry = undefined;
  }
  if (!entry) {
    const partSize = partSizeFor(f.size, run.options.multipartThreshold);
    const created = await run.request(`POST s3://${bucket}/${key}?uploads`, () =>
      client.send(new CreateMultipartUploadCommand({ Bucket: bucket, Key: key, Metadata: { [DIGEST_KEY]: digest } })),
    );
    entry = { key, uploadId: created.UploadId!, size: f.size, mtimeMs: f.mtimeMs, partSize, digest, parts: {} };
    journal.start(f.relative, entry);
  }
  const upload = entry;
  const count = Math.ceil(f.size / upload.partSize);
  const handle = await open(f.absolute, "r");
  try {
    await Promise.all(
      Array.from({ length: count }, (_, i) => i + 1)
        .filter((n) => !upload.parts[String(n)])
        .map((n) => {
          const start = (n - 1) * upload.partSize;
          const length = Math.min(upload.partSize, f.size - start);
          return run.partBuffers.use(length, async (buffer) => {
            const body = await readPart(handle, start, buffer);
            const sha = sha256(body);
            const sent = await run.request(`PUT s3://${bucket}/${key} part ${n}`, () =>
              client.send(
                new UploadPartCommand({ Bucket: bucket, Key: key, UploadId: upload.uploadId, PartNumber: n, Body: hashed(body, sha), ContentLength: length }),
              ),
            );
            journal.partDone(f.relative, n, sent.ETag!, sha);
            journal.flush();
          });
        }),
    );
  } finally {
    await handle.close();
  }
  try {
    checkUnchanged(f);
  } catch (error) {
    // Its parts hold bytes of two versions of the file: discard them, and start the file over next time.
    await client.send(new AbortMultipartUploadCommand({ Bucket: bucket, Key: key, UploadId: upload.uploadId })).catch(() => undefined);
    journal.finish(f.relative);
    throw error;
  }
  const parts = Object.entries(upload.parts)
    .map(([n, p]) => ({ PartNumber: Number(n), ETag: p.etag }))
    .sort((a, b) => a.PartNumber - b.PartNumber);
  await run.request(`POST s3://${bucket}/${key}?uploadId`, () =>
    client.send(new CompleteMultipartUploadCommand({ Bucket: bucket, Key: key, UploadId: upload.uploadId, MultipartUpload: { Parts: parts } })),
  );
  journal.finish(f.relative);
}

async function readPart(handle: FileHandle, start: number, body: Buffer): Promise<Buffer> {
  const { bytesRead } = await handle.read(body, 0, body.length, start);
  if (bytesRead !== body.length) throw new TrainctlError(`${body.length - bytesRead} byte(s) missing at offset ${start}: the file shrank during the upload`);
  return body;
}

const sha256 = (data: Uint8Array) => createHash("sha256").update(data).digest("hex");

async function verifyRemote(client: S3Client, run: Run, bucket: string, key: string, local: string): Promise<void> {
  const object = await run.request(`GET s3://${bucket}/${key}`, () => client.send(new GetObjectCommand({ Bucket: bucket, Key: key })));
  const crc = new Crc32c();
  for await (const chunk of object.Body as AsyncIterable<Uint8Array>) crc.update(chunk);
  if (crc.encoded() !== (await fileDigest(local))) throw new TrainctlError(`--verify: s3://${bucket}/${key} does not match ${local}`, { subject: key });
}

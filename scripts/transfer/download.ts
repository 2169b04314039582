import { existsSync, mkdirSync, realpathSync, renameSync, rmSync, statSync, writeFileSync } from "node:fs";
import { type FileHandle, open } from "node:fs/promises";
import * as path from "node:path";
import { GetObjectCommand, HeadObjectCommand, type S3Client } from "@aws-sdk/client-s3";
import { InterruptedError, TrainctlError, UsageError } from "../../core/errors";
import { Crc32c, DIGEST_KEY, digestOf, fileDigest, holdsObject, recordedDigest } from "./digest";
import { quoteKey, refusalReason } from "./keys";
import { type RemoteObject, listLocal, listRemote, matcher } from "./listing";
import { partSizeFor } from "./location";
import { type ByteRange, RAW_READ_BYTES } from "./raw-get";
import { planSync } from "./sync-decision";
import type { LimitFunction } from "p-limit" with { "resolution-mode": "import" };
import type { SmallObject } from "./small-objects";
import { Run, SMALL_FILE, type TransferOptions, type TransferSummary, eachFile, failed, message, naming, unlessInPlace } from "./run-context";

/** Downloads write in batches of this many bytes: a write per socket chunk costs more CPU than the copy itself. */
const WRITE_BATCH = 1024 * 1024;

const isNotFound = (error: unknown) => {
  const e = error as { name?: string; $metadata?: { httpStatusCode?: number } };
  return e?.name === "NotFound" || e?.name === "NoSuchKey" || e?.$metadata?.httpStatusCode === 404;
};

/** S3 prefix → local folder (the tree is recreated), checking each object's recorded digest. Writes only inside `destination`. */
export async function download(client: S3Client, bucket: string, prefix: string, destination: string, options: TransferOptions): Promise<TransferSummary> {
  if (options.deleteExtra) throw new UsageError("--delete applies to uploads only: a download never removes local files", { subject: "--delete" });
  const run = await Run.create(client, options);
  const accept = matcher(options.include, options.exclude);
  let objects = (await listRemote(run, client, bucket, prefix)).filter((o) => accept(o.relative));
  if (objects.length === 0 && prefix && !prefix.endsWith("/")) {
    // A single object: s3://bucket/path/file → destination (a folder gets the file's name).
    const head = await run
      .request(`HEAD s3://${bucket}/${prefix}`, () => client.send(new HeadObjectCommand({ Bucket: bucket, Key: prefix })))
      .catch((error) => {
        if (isNotFound(error)) return undefined;
        throw error;
      });
    if (head) objects = [{ key: prefix, relative: path.posix.basename(prefix), size: head.ContentLength ?? 0, etag: head.ETag }];
  }
  const refused = objects.flatMap((o) => {
    const reason = refusalReason(o.relative);
    return reason ? [{ key: o.key, reason }] : [];
  });
  for (const r of refused) options.onEvent?.({ type: "refuse", ...r });
  const safe = objects.filter((o) => refusalReason(o.relative) === undefined);
  const target = (o: RemoteObject) => path.join(destination, ...o.relative.split("/"));

  const present = options.sync && statSync(destination, { throwIfNoEntry: false })?.isDirectory() ? listLocal(destination) : [];
  const plan = planSync(
    safe.map((o) => ({ name: o.relative, size: o.size, item: o })),
    present.map((f) => ({ name: f.relative, size: f.size, item: f })),
    options,
  );
  const todo = await unlessInPlace(run, plan, ({ source, destination: local }) =>
    holdsObject(local.absolute, local.size, source.etag, () => run.metadataOf(bucket, source.key)),
  );
  run.plan(
    todo.length,
    todo.reduce((sum, o) => sum + o.size, 0),
    safe.length - todo.length,
  );
  let failures: unknown[] = [];
  if (options.dryRun) {
    for (const o of todo) options.onEvent?.({ type: "file", path: o.relative, bytes: o.size, action: "would-copy" });
  } else if (todo.length) {
    const folder = folderMaker(destination);
    failures = await eachFile(
      todo,
      async (o) => {
        const file = target(o);
        try {
          folder(path.dirname(file));
          await downloadTo(client, run, bucket, o, file);
        } catch (error) {
          throw naming(error, "write", file);
        }
        options.onEvent?.({ type: "file", path: o.relative, bytes: o.size, action: "download" });
        run.done(o.size);
      },
      options.signal,
    );
  }
  if (refused.length && !failures.some((e) => e instanceof InterruptedError)) {
    const others = failures.length ? `; and ${failures.length} file(s) failed, the first: ${message(failures[0])}` : "";
    const list = refused.map((r) => `${quoteKey(r.key)} (${r.reason})`).join(", ");
    throw new TrainctlError(
      `refused ${refused.length} key(s) that cannot be written inside ${destination}: ${list}; ${options.dryRun ? "the other objects would be copied" : "the other objects were copied"}${others}`,
      { subject: refused[0].key },
    );
  }
  const failure = failed(failures);
  if (failure) throw failure;
  return run.summary();
}

/**
 * mkdir -p for folders under `destination`, once each. A folder whose nearest existing ancestor resolves outside
 * `destination` (a symbolic link planted in the tree) is refused before anything is created through it.
 */
function folderMaker(destination: string): (dir: string) => void {
  mkdirSync(destination, { recursive: true });
  const root = realpathSync(destination);
  const made = new Set<string>([path.join(destination)]);
  return (dir) => {
    if (made.has(dir)) return;
    let existing = dir;
    while (!existsSync(existing)) existing = path.dirname(existing);
    const real = realpathSync(existing);
    if (real !== root && !real.startsWith(`${root}${path.sep}`))
      throw new TrainctlError(`${existing} leads outside ${destination} (to ${real}): nothing was written through it`, { subject: existing });
    mkdirSync(dir, { recursive: true });
    made.add(dir);
  };
}

/**
 * Downloads one object to `file`: written under a name of this run's own, created exclusively (an existing file or
 * link there is never followed), and renamed onto `file` only once the bytes this run wrote match the recorded digest.
 * A small object is checked in memory, before any file exists, and written with one call.
 */
async function downloadTo(client: S3Client, run: Run, bucket: string, o: RemoteObject, file: string): Promise<void> {
  const partial = `${file}.${run.tag}.trainctl-partial`;
  try {
    if (o.size <= SMALL_FILE && o.size <= run.options.multipartThreshold) {
      const object = await getSmall(client, run, bucket, o);
      checkDigest(bucket, o, recordedDigest(object.metadata), digestOf(object.body, recordedDigest(object.metadata)?.key));
      // One synchronous open-write-close: three thread-pool round trips cost more CPU than creating the file
      // (measured: about 0.3 s less user CPU per 5,000 × 4 KiB), at the price of the event loop waiting on each create.
      writeFileSync(partial, object.body, { flag: "wx" });
    } else {
      const arrived = await writeLarge(client, run, bucket, o, partial);
      const recorded = recordedDigest(arrived.metadata);
      // The CRC32C was computed as the bytes arrived; a digest recorded otherwise is computed from the file.
      checkDigest(bucket, o, recorded, !recorded || recorded.key === DIGEST_KEY ? arrived.crc.encoded() : await fileDigest(partial, recorded.key));
    }
    renameSync(partial, file);
  } catch (error) {
    // EEXIST: something else holds the partial name, and it is not this run's to remove.
    if ((error as NodeJS.ErrnoException).code !== "EEXIST") rmSync(partial, { force: true });
    throw error;
  }
}

function checkDigest(bucket: string, o: RemoteObject, recorded: ReturnType<typeof recordedDigest>, actual: string): void {
  if (recorded && recorded.value !== actual) {
    throw new TrainctlError(
      `s3://${bucket}/${o.key} is corrupt: its ${recorded.algorithm} is ${actual}, but ${recorded.value} was recorded at upload; the bad copy was not kept`,
      { subject: o.key },
    );
  }
}

/** What a download learnt: the object's metadata (with the digest recorded at upload, if any) and the CRC32C of the bytes that arrived. */
interface Arrived {
  metadata?: Record<string, string>;
  crc: Crc32c;
}

/**
 * A small object, fetched whole into memory: the lean GET first, the SDK's if that fails. An object of a byte or more
 * is read as one range over RawGet's pooled sockets (node:http's client costs more CPU than the rest of a 4 KiB
 * download); an empty object has no range to ask for.
 */
function getSmall(client: S3Client, run: Run, bucket: string, o: RemoteObject): Promise<SmallObject> {
  return run.request(`GET s3://${bucket}/${o.key}`, async () => {
    const arrived = await run.leanFirst(
      () => (o.size > 0 ? rawWhole(run, bucket, o) : run.small.get(bucket, o.key)),
      async () => {
        const answer = await client.send(new GetObjectCommand({ Bucket: bucket, Key: o.key }));
        return { body: Buffer.from(await answer.Body!.transformToByteArray()), metadata: answer.Metadata ?? {} };
      },
    );
    checkLength(arrived.body.length, o.size);
    return arrived;
  });
}

/** A whole object of the listed size, as one range `bytes=0-(size-1)`: RawGet refuses any answer of another length. */
async function rawWhole(run: Run, bucket: string, o: RemoteObject): Promise<SmallObject> {
  const body = Buffer.allocUnsafe(o.size);
  let filled = 0;
  const metadata = await run.raw.get(bucket, o.key, { start: 0, end: o.size, total: o.size }, (view) => {
    filled += view.copy(body, filled);
  });
  return { body: body.subarray(0, filled), metadata };
}

/** A larger object, streamed to `partial` (created exclusively) with its CRC32C computed as it is written: the file is never read back. */
async function writeLarge(client: S3Client, run: Run, bucket: string, o: RemoteObject, partial: string): Promise<Arrived> {
  const handle = await open(partial, "wx");
  const writes = run.oneWriter();
  try {
    if (o.size > run.options.multipartThreshold) return await downloadRanged(client, run, bucket, o, handle, writes);
    return await run.request(`GET s3://${bucket}/${o.key}`, async () => {
      const object = await client.send(new GetObjectCommand({ Bucket: bucket, Key: o.key }));
      const crc = new Crc32c();
      await writeAt(handle, writes, object.Body as AsyncIterable<Uint8Array>, 0, object.ContentLength ?? o.size, crc);
      return { metadata: object.Metadata, crc };
    });
  } finally {
    await handle.close();
  }
}

/**
 * Parallel ranged GETs written in place, each with its own CRC32C; the whole file's is their combination, in order.
 * Each part is read over a raw socket first (no buffer per read for the garbage collector), the SDK's GET if that fails.
 */
async function downloadRanged(client: S3Client, run: Run, bucket: string, o: RemoteObject, handle: FileHandle, writes: LimitFunction): Promise<Arrived> {
  const partSize = partSizeFor(o.size, run.options.multipartThreshold);
  let metadata: Record<string, string> | undefined;
  const parts = await Promise.all(
    Array.from({ length: Math.ceil(o.size / partSize) }, (_, i) => i * partSize).map((start) => {
      const end = Math.min(o.size, start + partSize);
      return run.request(`GET s3://${bucket}/${o.key} bytes ${start}-${end - 1}`, async () => {
        // Each attempt starts the part over: a new CRC32C, the same positions.
        const part = await run.leanFirst(
          () => rawPart(run, handle, writes, bucket, o.key, { start, end, total: o.size }),
          async () => {
            const answer = await client.send(new GetObjectCommand({ Bucket: bucket, Key: o.key, Range: `bytes=${start}-${end - 1}` }));
            const crc = new Crc32c();
            await writeAt(handle, writes, answer.Body as AsyncIterable<Uint8Array>, start, end - start, crc);
            return { metadata: answer.Metadata, crc };
          },
        );
        metadata = part.metadata;
        return part.crc;
      });
    }),
  );
  return { metadata, crc: parts.reduce((whole, part) => whole.append(part), new Crc32c()) };
}

/**
 * One part over RawGet: the body views are copied into one pooled batch buffer, which is hashed and written at the
 * part's position each time it holds WRITE_BATCH bytes (the socket waits meanwhile).
 */
function rawPart(run: Run, handle: FileHandle, writes: LimitFunction, bucket: string, key: string, range: ByteRange): Promise<Arrived> {
  // Room for a whole read past WRITE_BATCH: a view is always copied at once, since its buffer is reused.
  return run.partBuffers.use(WRITE_BATCH + RAW_READ_BYTES, async (batch) => {
    const crc = new Crc32c();
    let position = range.start;
    let filled = 0;
    const flush = async () => {
      crc.update(batch.subarray(0, filled));
      const { bytesWritten } = await writes(() => handle.write(batch, 0, filled, position));
      if (bytesWritten !== filled) throw new TrainctlError(`short write: ${bytesWritten} of ${filled} bytes`, { retryable: true });
      position += filled;
      filled = 0;
    };
    const metadata = await run.raw.get(bucket, key, range, (view) => {
      // Never past the stretch this part owns (RawGet checks the length too).
      if (position + filled + view.length > range.end) throw new TrainctlError(`expected ${range.end - range.start} bytes, received more`, { retryable: true });
      filled += view.copy(batch, filled);
      return filled >= WRITE_BATCH ? flush() : undefined;
    });
    if (filled) await flush();
    checkLength(position - range.start, range.end - range.start);
    return { metadata, crc };
  });
}

/** Writes a response body at `position` in batches, feeding `crc`; a body shorter or longer than expected fails (and is retried). */
async function writeAt(
  handle: FileHandle,
  writes: LimitFunction,
  body: AsyncIterable<Uint8Array>,
  position: number,
  expected: number,
  crc: Crc32c,
): Promise<void> {
  let written = 0;
  let batch: Uint8Array[] = [];
  let batched = 0;
  const flush = async () => {
    const { bytesWritten } = await writes(() => handle.writev(batch, position + written));
    if (bytesWritten !== batched) throw new TrainctlError(`short write: ${bytesWritten} of ${batched} bytes`, { retryable: true });
    written += batched;
    batch = [];
    batched = 0;
  };
  for await (const chunk of body) {
    // Never past the stretch this body owns: a ranged part that ran long would overwrite its neighbour.
    if (written + batched + chunk.length > expected) throw new TrainctlError(`expected ${expected} bytes, received more`, { retryable: true });
    crc.update(chunk);
    batch.push(chunk);
    batched += chunk.length;
    if (batched >= WRITE_BATCH) await flush();
  }
  if (batched) await flush();
  checkLength(written, expected);
}

/** A body shorter or longer than announced is an error worth retrying. */
function checkLength(received: number, expected: number): void {
  if (received !== expected) throw new TrainctlError(`expected ${expected} bytes, received ${received}`, { retryable: true });
}

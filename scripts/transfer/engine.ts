import { createHash } from "node:crypto";
import { existsSync, lstatSync, mkdirSync, readFileSync, readdirSync, renameSync, rmSync, statSync } from "node:fs";
import { type FileHandle, open, readFile, writeFile } from "node:fs/promises";
import { Agent } from "node:https";
import { Agent as HttpAgent } from "node:http";
import * as path from "node:path";
import {
  AbortMultipartUploadCommand,
  CompleteMultipartUploadCommand,
  CreateMultipartUploadCommand,
  DeleteObjectsCommand,
  GetObjectCommand,
  HeadObjectCommand,
  ListObjectsV2Command,
  PutObjectCommand,
  S3Client,
  UploadPartCommand,
} from "@aws-sdk/client-s3";
import { NodeHttpHandler } from "@smithy/node-http-handler";
import type { LimitFunction } from "p-limit" with { "resolution-mode": "import" };
import picomatch from "picomatch";
import { InterruptedError, TrainctlError } from "../errors";
import { environmentRegion } from "../region";
import { withRetry } from "../retry";
import { Journal } from "./journal";
import { joinKey, partSizeFor } from "./location";
import { Crc32c, DIGEST_KEY, crc32cOf, fileDigest, recordedDigest } from "./digest";
import { PartBuffers } from "./part-buffers";
import { SmallObjects } from "./small-objects";

/** Files up to this size are read with one synchronous call and written with one call, from one buffer. */
const SMALL_FILE = 256 * 1024;

/** Downloads write in batches of this many bytes: a write per socket chunk costs more CPU than the copy itself. */
const WRITE_BATCH = 1024 * 1024;

/** Upload part buffers held at once, across files: bounds memory whatever the file size. */
export const PART_BUFFER_BYTES = 48 * 1024 * 1024;

export interface TransferOptions {
  concurrency: number;
  include: string[];
  exclude: string[];
  /** Uploads only: a further filter on relative paths (e.g. the files git tracks). */
  select?: (relative: string) => boolean;
  dryRun: boolean;
  sync: boolean;
  /** Remove destination objects/files the source does not have (the command requires --yes). */
  deleteExtra: boolean;
  verify: boolean;
  multipartThreshold: number;
  /** Folder holding `.trainctl/transfers/`. */
  journalRoot: string;
  signal?: AbortSignal;
  onEvent?: (event: TransferEvent) => void;
  onWarning?: (message: string) => void;
}

export type TransferEvent =
  | { type: "plan"; files: number; bytes: number; skipped: number }
  | { type: "file"; path: string; bytes: number; action: "upload" | "download" | "skip" | "delete" | "would-copy" | "would-delete" }
  | { type: "progress"; files: number; bytes: number; totalFiles: number; totalBytes: number };

export interface TransferSummary {
  files: number;
  bytes: number;
  skipped: number;
  deleted: number;
  seconds: number;
  mibPerSecond: number;
  retries: number;
}

export function makeS3Client(options: { endpoint?: string; region?: string; concurrency: number }): S3Client {
  const agentOptions = { keepAlive: true, maxSockets: Math.max(8, options.concurrency) };
  const client = new S3Client({
    region: options.region ?? environmentRegion(),
    ...(options.endpoint ? { endpoint: options.endpoint, forcePathStyle: true } : {}),
    requestChecksumCalculation: "WHEN_REQUIRED",
    responseChecksumValidation: "WHEN_REQUIRED",
    maxAttempts: 5,
    // One resolved middleware stack per command type, not one per request: about a third of the SDK's CPU per small object.
    cacheMiddleware: true,
    requestHandler: new NodeHttpHandler({ httpAgent: new HttpAgent(agentOptions), httpsAgent: new Agent(agentOptions), ...stallTimeouts() }),
  });
  // On the client, not per command: with the middleware cache, a command's own middleware would be ignored.
  client.middlewareStack.add(
    (next) => (args) => {
      const body = (args.input as { Body?: unknown }).Body;
      const digest = Buffer.isBuffer(body) ? bodyDigests.get(body) : undefined;
      if (digest) (args.request as { headers: Record<string, string> }).headers["x-amz-content-sha256"] = digest;
      return next(args);
    },
    { step: "build", name: "trainctlKnownPayloadDigest" },
  );
  return client;
}

/**
 * SHA-256 of request bodies trainctl has already hashed. The request is signed with it (x-amz-content-sha256),
 * so the SDK does not hash the body a second time, and S3 rejects the request if the bytes it received differ.
 */
const bodyDigests = new WeakMap<object, string>();
const hashed = (body: Buffer, digest: string): Buffer => (bodyDigests.set(body, digest), body);

/**
 * A connection that goes silent for TRAINCTL_S3_TIMEOUT_MS (default 60 s) fails, and the request is retried.
 * This must be the socket idle timeout: it also covers a body that stops mid-stream after the headers,
 * whereas the handler's `requestTimeout` ends when the headers arrive and, by default, only logs a warning.
 */
const stallMs = () => Number(process.env.TRAINCTL_S3_TIMEOUT_MS ?? 60_000);
function stallTimeouts(): { connectionTimeout: number; socketTimeout: number } {
  return { connectionTimeout: stallMs(), socketTimeout: stallMs() };
}

interface LocalFile {
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

interface RemoteObject {
  key: string;
  relative: string;
  size: number;
}

export async function listRemote(client: S3Client, bucket: string, prefix: string): Promise<RemoteObject[]> {
  const objects: RemoteObject[] = [];
  let ContinuationToken: string | undefined;
  const base = prefix && !prefix.endsWith("/") ? `${prefix}/` : prefix;
  do {
    const page = await client.send(new ListObjectsV2Command({ Bucket: bucket, Prefix: base, ContinuationToken }));
    for (const o of page.Contents ?? []) {
      if (!o.Key || o.Key.endsWith("/")) continue;
      objects.push({ key: o.Key, relative: o.Key.slice(base.length), size: o.Size ?? 0 });
    }
    ContinuationToken = page.IsTruncated ? page.NextContinuationToken : undefined;
  } while (ContinuationToken);
  return objects;
}

export function matcher(include: string[], exclude: string[]): (relative: string) => boolean {
  const inc = include.length ? picomatch(include, { dot: true }) : () => true;
  const exc = exclude.length ? picomatch(exclude, { dot: true }) : () => false;
  return (relative) => inc(relative) && !exc(relative);
}

const isSlowDown = (error: unknown) => {
  const e = error as { name?: string; $metadata?: { httpStatusCode?: number } };
  return e?.name === "SlowDown" || e?.$metadata?.httpStatusCode === 503;
};

/** Shared state of one transfer: the global limit, counters and adaptive concurrency. */
class Run {
  readonly started = Date.now();
  files = 0;
  bytes = 0;
  skipped = 0;
  deleted = 0;
  retries = 0;
  readonly partBuffers = new PartBuffers(PART_BUFFER_BYTES);
  readonly small: SmallObjects;
  private sdkOnly = false;
  private successes = 0;
  private lastProgress = 0;

  private constructor(
    readonly options: TransferOptions,
    readonly totalFiles: number,
    readonly totalBytes: number,
    readonly limit: LimitFunction,
    client: S3Client,
  ) {
    this.small = new SmallObjects(client, stallMs());
  }

  /** p-limit is an ES module, loaded on first use. */
  static async create(client: S3Client, options: TransferOptions, totalFiles: number, totalBytes: number): Promise<Run> {
    const { default: pLimit } = await import("p-limit");
    return new Run(options, totalFiles, totalBytes, pLimit(options.concurrency), client);
  }

  /**
   * The lean request first; if it fails in any way the SDK asks again, with its own errors and retries.
   * Once the SDK has succeeded where the lean request failed, the rest of the run uses the SDK alone:
   * a store or proxy that refuses the lean requests costs one retry, not one per object.
   */
  async leanFirst<T>(lean: () => Promise<T>, sdk: () => Promise<T>): Promise<T> {
    if (this.sdkOnly) return sdk();
    try {
      return await lean();
    } catch {
      if (this.options.signal?.aborted) throw new InterruptedError();
      this.retries += 1;
      const result = await sdk();
      this.sdkOnly = true;
      return result;
    }
  }

  /** Runs one request under the global limit, with per-request retries; SlowDown halves the concurrency. */
  async request<T>(operation: () => Promise<T>): Promise<T> {
    return this.limit(() =>
      withRetry(
        async () => {
          if (this.options.signal?.aborted) throw new InterruptedError();
          const result = await operation();
          this.retries += Math.max(0, ((result as { $metadata?: { attempts?: number } } | undefined)?.$metadata?.attempts ?? 1) - 1);
          if (++this.successes % 50 === 0 && this.limit.concurrency < this.options.concurrency) this.limit.concurrency += 1;
          return result;
        },
        {
          attempts: 6,
          baseMs: 200,
          retryable: (error) => !(error instanceof InterruptedError) && !(error instanceof TrainctlError && !error.retryable) && (error as { name?: string }).name !== "NoSuchUpload",
          onRetry: (error) => {
            this.retries += 1;
            if (isSlowDown(error)) this.limit.concurrency = Math.max(1, Math.floor(this.limit.concurrency / 2));
          },
        },
      ),
    );
  }

  done(bytes: number): void {
    this.files += 1;
    this.bytes += bytes;
    const now = Date.now();
    if (now - this.lastProgress > 250 || this.files === this.totalFiles) {
      this.lastProgress = now;
      this.options.onEvent?.({ type: "progress", files: this.files, bytes: this.bytes, totalFiles: this.totalFiles, totalBytes: this.totalBytes });
    }
  }

  summary(): TransferSummary {
    const seconds = (Date.now() - this.started) / 1000;
    return { files: this.files, bytes: this.bytes, skipped: this.skipped, deleted: this.deleted, seconds, mibPerSecond: seconds > 0 ? this.bytes / 1048576 / seconds : 0, retries: this.retries };
  }
}

/** Local file or folder → S3 prefix. A folder's contents land under the prefix, keyed by relative path. */
export async function upload(client: S3Client, source: string, bucket: string, prefix: string, options: TransferOptions): Promise<TransferSummary> {
  const isFile = lstatSync(source).isFile();
  const accept = matcher(options.include, options.exclude);
  const files = listLocal(source, options.onWarning).filter((f) => isFile || (accept(f.relative) && (options.select?.(f.relative) ?? true)));
  const keyOf = (f: LocalFile) => (isFile && prefix && !prefix.endsWith("/") ? prefix : joinKey(prefix, f.relative));
  const remote = options.sync || options.deleteExtra ? await listRemote(client, bucket, isFile ? path.posix.dirname(prefix) : prefix) : [];
  const remoteByKey = new Map(remote.map((o) => [o.key, o]));

  const todo: LocalFile[] = [];
  let skipped = 0;
  for (const f of files) {
    const existing = remoteByKey.get(keyOf(f));
    if (options.sync && existing && existing.size === f.size) {
      const head = await client.send(new HeadObjectCommand({ Bucket: bucket, Key: keyOf(f) }));
      if (await matchesRecorded(head.Metadata, f.absolute)) {
        skipped += 1;
        options.onEvent?.({ type: "file", path: f.relative, bytes: f.size, action: "skip" });
        continue;
      }
    }
    todo.push(f);
  }
  const wanted = new Set(files.map(keyOf));
  const extra = options.deleteExtra ? remote.filter((o) => !wanted.has(o.key) && accept(o.relative)) : [];
  const run = await Run.create(client, options, todo.length, todo.reduce((s, f) => s + f.size, 0));
  run.skipped = skipped;
  options.onEvent?.({ type: "plan", files: todo.length, bytes: run.totalBytes, skipped });
  if (options.dryRun) {
    for (const f of todo) options.onEvent?.({ type: "file", path: f.relative, bytes: f.size, action: "would-copy" });
    for (const o of extra) options.onEvent?.({ type: "file", path: o.key, bytes: o.size, action: "would-delete" });
    return run.summary();
  }

  const journal = new Journal(options.journalRoot, path.resolve(source), `s3://${bucket}/${prefix}`, bucket);
  try {
    await Promise.all(
      todo.map(async (f) => {
        const key = keyOf(f);
        if (f.size <= options.multipartThreshold) await uploadWhole(client, run, f, bucket, key);
        else await uploadMultipart(client, run, journal, f, bucket, key);
        if (options.verify) await verifyRemote(client, run, bucket, key, f.absolute);
        options.onEvent?.({ type: "file", path: f.relative, bytes: f.size, action: "upload" });
        run.done(f.size);
      }),
    );
  } finally {
    journal.flush();
  }
  if (extra.length) {
    for (let i = 0; i < extra.length; i += 1000) {
      const batch = extra.slice(i, i + 1000);
      await run.request(() => client.send(new DeleteObjectsCommand({ Bucket: bucket, Delete: { Objects: batch.map((o) => ({ Key: o.key })), Quiet: true } })));
      for (const o of batch) options.onEvent?.({ type: "file", path: o.key, bytes: o.size, action: "delete" });
    }
    run.deleted = extra.length;
  }
  return run.summary();
}

/** One PUT. The file is read only once its request holds a slot, so at most `concurrency` bodies are in memory. */
async function uploadWhole(client: S3Client, run: Run, f: LocalFile, bucket: string, key: string): Promise<void> {
  await run.request<unknown>(async () => {
    const body = f.size <= SMALL_FILE ? readFileSync(f.absolute) : await readFile(f.absolute);
    const signed = sha256(body);
    const metadata = { [DIGEST_KEY]: crc32cOf(body) };
    const put = () => client.send(new PutObjectCommand({ Bucket: bucket, Key: key, Body: hashed(body, signed), ContentLength: body.length, Metadata: metadata }));
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
    const created = await run.request(() => client.send(new CreateMultipartUploadCommand({ Bucket: bucket, Key: key, Metadata: { [DIGEST_KEY]: digest } })));
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
            const sent = await run.request(() => client.send(new UploadPartCommand({ Bucket: bucket, Key: key, UploadId: upload.uploadId, PartNumber: n, Body: hashed(body, sha), ContentLength: length })));
            journal.partDone(f.relative, n, sent.ETag!, sha);
            journal.flush();
          });
        }),
    );
  } finally {
    await handle.close();
  }
  const parts = Object.entries(upload.parts)
    .map(([n, p]) => ({ PartNumber: Number(n), ETag: p.etag }))
    .sort((a, b) => a.PartNumber - b.PartNumber);
  await run.request(() => client.send(new CompleteMultipartUploadCommand({ Bucket: bucket, Key: key, UploadId: upload.uploadId, MultipartUpload: { Parts: parts } })));
  journal.finish(f.relative);
}

async function readPart(handle: FileHandle, start: number, body: Buffer): Promise<Buffer> {
  const { bytesRead } = await handle.read(body, 0, body.length, start);
  if (bytesRead !== body.length) throw new TrainctlError(`${body.length - bytesRead} byte(s) missing at offset ${start}: the file shrank during the upload`);
  return body;
}

const sha256 = (data: Uint8Array) => createHash("sha256").update(data).digest("hex");

async function verifyRemote(client: S3Client, run: Run, bucket: string, key: string, local: string): Promise<void> {
  const object = await run.request(() => client.send(new GetObjectCommand({ Bucket: bucket, Key: key })));
  const crc = new Crc32c();
  for await (const chunk of object.Body as AsyncIterable<Uint8Array>) crc.update(chunk);
  if (crc.encoded() !== (await fileDigest(local))) throw new TrainctlError(`--verify: s3://${bucket}/${key} does not match ${local}`, { subject: key });
}

/** Whether a local file has the digest an object's metadata records (in whichever algorithm it was recorded). */
async function matchesRecorded(metadata: Record<string, string> | undefined, file: string): Promise<boolean> {
  const recorded = recordedDigest(metadata);
  return recorded !== undefined && recorded.value === (await fileDigest(file, recorded.key));
}

/** S3 prefix → local folder (the tree is recreated), checking each object's recorded digest. */
export async function download(client: S3Client, bucket: string, prefix: string, destination: string, options: TransferOptions): Promise<TransferSummary> {
  const accept = matcher(options.include, options.exclude);
  let objects = (await listRemote(client, bucket, prefix)).filter((o) => accept(o.relative));
  if (objects.length === 0 && prefix && !prefix.endsWith("/")) {
    // A single object: s3://bucket/path/file → destination (a folder gets the file's name).
    const head = await client.send(new HeadObjectCommand({ Bucket: bucket, Key: prefix })).catch(() => undefined);
    if (head) objects = [{ key: prefix, relative: path.posix.basename(prefix), size: head.ContentLength ?? 0 }];
  }
  const target = (o: RemoteObject) => path.join(destination, ...o.relative.split("/"));
  const todo: RemoteObject[] = [];
  let skipped = 0;
  for (const o of objects) {
    const file = target(o);
    if (options.sync && existsSync(file) && statSync(file).size === o.size) {
      const head = await client.send(new HeadObjectCommand({ Bucket: bucket, Key: o.key }));
      if (await matchesRecorded(head.Metadata, file)) {
        skipped += 1;
        options.onEvent?.({ type: "file", path: o.relative, bytes: o.size, action: "skip" });
        continue;
      }
    }
    todo.push(o);
  }
  const run = await Run.create(client, options, todo.length, todo.reduce((s, o) => s + o.size, 0));
  run.skipped = skipped;
  options.onEvent?.({ type: "plan", files: todo.length, bytes: run.totalBytes, skipped });
  if (options.dryRun) {
    for (const o of todo) options.onEvent?.({ type: "file", path: o.relative, bytes: o.size, action: "would-copy" });
    return run.summary();
  }
  const makeDir = directoryMaker();
  await Promise.all(
    todo.map(async (o) => {
      const file = target(o);
      makeDir(path.dirname(file));
      // Written under a temporary name and renamed only once its digest checks out.
      const partial = `${file}.trainctl-partial`;
      try {
        const { metadata, crc } = o.size > options.multipartThreshold ? await downloadRanged(client, run, bucket, o, partial) : await downloadWhole(client, run, bucket, o, partial);
        const recorded = recordedDigest(metadata);
        // The CRC32C was computed as the bytes arrived; a digest recorded otherwise is computed from the file.
        const actual = !recorded || recorded.key === DIGEST_KEY ? crc.encoded() : await fileDigest(partial, recorded.key);
        if (recorded && recorded.value !== actual) {
          throw new TrainctlError(`s3://${bucket}/${o.key} is corrupt: its ${recorded.algorithm} is ${actual}, but ${recorded.value} was recorded at upload; the bad copy was not kept`, { subject: o.key });
        }
        renameSync(partial, file);
      } catch (error) {
        rmSync(partial, { force: true });
        throw error;
      }
      options.onEvent?.({ type: "file", path: o.relative, bytes: o.size, action: "download" });
      run.done(o.size);
    }),
  );
  return run.summary();
}

/** mkdir -p, once per folder. */
function directoryMaker(): (dir: string) => void {
  const made = new Set<string>();
  return (dir) => {
    if (made.has(dir)) return;
    mkdirSync(dir, { recursive: true });
    made.add(dir);
  };
}

/** What a download learnt: the object's metadata (with the digest recorded at upload, if any) and the CRC32C of the bytes that arrived. */
interface Arrived {
  metadata?: Record<string, string>;
  crc: Crc32c;
}

/** One GET, its CRC32C computed as it is written: the file is never read back. A small object is fetched whole, then written in one call. */
async function downloadWhole(client: S3Client, run: Run, bucket: string, o: RemoteObject, partial: string): Promise<Arrived> {
  const get = () => client.send(new GetObjectCommand({ Bucket: bucket, Key: o.key }));
  if (o.size <= SMALL_FILE) {
    const object = await run.request(async () => {
      const arrived = await run.leanFirst(
        () => run.small.get(bucket, o.key),
        async () => {
          const answer = await get();
          return { body: Buffer.from(await answer.Body!.transformToByteArray()), metadata: answer.Metadata ?? {}, $metadata: answer.$metadata };
        },
      );
      checkLength(arrived.body.length, o.size);
      return arrived;
    });
    await writeFile(partial, object.body); // not sync: creating a file costs far more than writing 4 KiB, and must not stall the event loop
    return { metadata: object.metadata, crc: new Crc32c().update(object.body) };
  }
  return run.request(async () => {
    const object = await get();
    const crc = new Crc32c();
    const handle = await open(partial, "w");
    try {
      await writeAt(handle, object.Body as AsyncIterable<Uint8Array>, 0, object.ContentLength ?? o.size, crc);
    } finally {
      await handle.close();
    }
    return { metadata: object.Metadata, crc, $metadata: object.$metadata };
  });
}

/** Parallel ranged GETs written in place, each with its own CRC32C; the whole file's is their combination, in order. */
async function downloadRanged(client: S3Client, run: Run, bucket: string, o: RemoteObject, partial: string): Promise<Arrived> {
  const partSize = partSizeFor(o.size, run.options.multipartThreshold);
  const handle = await open(partial, "w");
  let metadata: Record<string, string> | undefined;
  try {
    const parts = await Promise.all(
      Array.from({ length: Math.ceil(o.size / partSize) }, (_, i) => i * partSize).map((start) => {
        const end = Math.min(o.size, start + partSize);
        return run.request(async () => {
          const part = await client.send(new GetObjectCommand({ Bucket: bucket, Key: o.key, Range: `bytes=${start}-${end - 1}` }));
          const crc = new Crc32c();
          await writeAt(handle, part.Body as AsyncIterable<Uint8Array>, start, end - start, crc);
          metadata = part.Metadata;
          return Object.assign(crc, { $metadata: part.$metadata });
        });
      }),
    );
    return { metadata, crc: parts.reduce((whole, part) => whole.append(part), new Crc32c()) };
  } finally {
    await handle.close();
  }
}

/** Writes a response body at `position` in batches, feeding `crc`; a body shorter or longer than expected fails (and is retried). */
async function writeAt(handle: FileHandle, body: AsyncIterable<Uint8Array>, position: number, expected: number, crc: Crc32c): Promise<void> {
  let written = 0;
  let batch: Uint8Array[] = [];
  let batched = 0;
  const flush = async () => {
    const { bytesWritten } = await handle.writev(batch, position + written);
    if (bytesWritten !== batched) throw new TrainctlError(`short write: ${bytesWritten} of ${batched} bytes`, { retryable: true });
    written += batched;
    batch = [];
    batched = 0;
  };
  for await (const chunk of body) {
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

/** Aborts the open multipart uploads a journal records, then removes the journal. */
export async function abortJournal(client: S3Client, file: string): Promise<number> {
  const data = Journal.load(file);
  let aborted = 0;
  for (const upload of Object.values(data.uploads)) {
    await client.send(new AbortMultipartUploadCommand({ Bucket: data.bucket, Key: upload.key, UploadId: upload.uploadId })).catch(() => undefined);
    aborted += 1;
  }
  rmSync(file, { force: true });
  return aborted;
}

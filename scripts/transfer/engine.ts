import { createHash, randomBytes } from "node:crypto";
import { existsSync, lstatSync, mkdirSync, readFileSync, readdirSync, realpathSync, renameSync, rmSync, statSync } from "node:fs";
import { type FileHandle, open, readFile } from "node:fs/promises";
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
import { InterruptedError, TrainctlError, UsageError } from "../errors";
import { environmentRegion } from "../region";
import { RetryDeadline, withRetry } from "../retry";
import { Journal } from "./journal";
import { quoteKey, refusalReason } from "./keys";
import { joinKey, partSizeFor } from "./location";
import { type SyncPlan, planSync } from "./plan";
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
  /** A key a download will not write (see keys.ts), with why; the run then exits 1 naming it. */
  | { type: "refuse"; key: string; reason: string }
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
    // One retry layer: Run.request's withRetry, under the run's one deadline. The SDK's own attempts would multiply with it.
    maxAttempts: 1,
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

async function listRemote(run: Run, client: S3Client, bucket: string, prefix: string): Promise<RemoteObject[]> {
  const objects: RemoteObject[] = [];
  let ContinuationToken: string | undefined;
  const base = prefix && !prefix.endsWith("/") ? `${prefix}/` : prefix;
  do {
    const page = await run.request(`LIST s3://${bucket}/${base}`, () => client.send(new ListObjectsV2Command({ Bucket: bucket, Prefix: base, ContinuationToken })));
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

/** Worth another attempt: a network failure, a timeout, throttling or a server error; never a refusal such as 403 or 404. */
export function isTransient(error: unknown): boolean {
  if (error instanceof InterruptedError) return false;
  if (error instanceof TrainctlError) return error.retryable;
  const e = error as { name?: string; $retryable?: unknown; $metadata?: { httpStatusCode?: number } };
  if (e?.name === "NoSuchUpload" || e?.name === "CredentialsProviderError") return false;
  const status = e?.$metadata?.httpStatusCode;
  return status === undefined || status >= 500 || status === 429 || status === 408 || e.name === "RequestTimeout" || Boolean(e.$retryable);
}

const isNotFound = (error: unknown) => {
  const e = error as { name?: string; $metadata?: { httpStatusCode?: number } };
  return e?.name === "NotFound" || e?.name === "NoSuchKey" || e?.$metadata?.httpStatusCode === 404;
};

/** Shared state of one transfer: the global limit, counters, adaptive concurrency and the one retry deadline. */
class Run {
  readonly started = Date.now();
  /** Names this run's partial files, so two runs into one folder never share one. */
  readonly tag = randomBytes(6).toString("hex");
  totalFiles = 0;
  totalBytes = 0;
  files = 0;
  bytes = 0;
  skipped = 0;
  deleted = 0;
  retries = 0;
  readonly partBuffers = new PartBuffers(PART_BUFFER_BYTES);
  readonly small: SmallObjects;
  /** Requests keep being retried until nothing has succeeded for two stall timeouts. */
  private readonly deadline = new RetryDeadline(2 * stallMs());
  private sdkOnly = false;
  private successes = 0;
  private lastProgress = 0;

  private constructor(
    readonly options: TransferOptions,
    readonly limit: LimitFunction,
    client: S3Client,
  ) {
    this.small = new SmallObjects(client, stallMs());
  }

  /** p-limit is an ES module, loaded on first use. */
  static async create(client: S3Client, options: TransferOptions): Promise<Run> {
    const { default: pLimit } = await import("p-limit");
    return new Run(options, pLimit(options.concurrency), client);
  }

  /** What the run will move, once decided; a dry run counts it as moved. */
  plan(files: number, bytes: number, skipped: number): void {
    this.totalFiles = files;
    this.totalBytes = bytes;
    this.skipped = skipped;
    this.options.onEvent?.({ type: "plan", files, bytes, skipped });
    if (this.options.dryRun) [this.files, this.bytes] = [files, bytes];
  }

  /**
   * The lean request first; if it fails in any way the SDK asks again, with its own error parsing.
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

  /**
   * Runs one request (`what`, e.g. `PUT s3://bucket/key`) under the global limit, retried while it fails transiently
   * and the run's deadline allows; SlowDown halves the concurrency.
   */
  async request<T>(what: string, operation: () => Promise<T>): Promise<T> {
    return this.limit(() =>
      withRetry(
        async () => {
          if (this.options.signal?.aborted) throw new InterruptedError();
          const result = await operation();
          this.deadline.succeeded();
          if (++this.successes % 50 === 0 && this.limit.concurrency < this.options.concurrency) this.limit.concurrency += 1;
          return result;
        },
        {
          attempts: 6,
          baseMs: 200,
          retryable: isTransient,
          deadline: this.deadline.expiresAt,
          what,
          signal: this.options.signal,
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
    return { files: this.files, bytes: this.bytes, skipped: this.skipped, deleted: this.deleted, seconds, mibPerSecond: seconds > 0 && !this.options.dryRun ? this.bytes / 1048576 / seconds : 0, retries: this.retries };
  }
}

/**
 * Runs one job per file; a file that fails does not stop the others. Resolves to the failures, except that
 * Ctrl-C ends the wait at once.
 */
async function eachFile<T>(items: T[], job: (item: T) => Promise<void>, signal?: AbortSignal): Promise<unknown[]> {
  const settled = Promise.allSettled(items.map(job));
  const interrupted = new Promise<never>((_, reject) => signal?.addEventListener("abort", () => reject(new InterruptedError()), { once: true }));
  const results = await Promise.race([settled, interrupted]);
  return results.flatMap((r) => (r.status === "rejected" ? [r.reason] : []));
}

/** The one error for failed files: the first one's message, and how many others failed. */
function failed(failures: unknown[]): TrainctlError | undefined {
  if (failures.length === 0) return undefined;
  const first = failures.find((e) => e instanceof InterruptedError) ?? failures[0];
  if (failures.length === 1 || first instanceof InterruptedError) return first instanceof TrainctlError ? first : new TrainctlError(message(first), { cause: first });
  return new TrainctlError(`${message(first)} (and ${failures.length - 1} other file(s) failed)`, { cause: first });
}

const message = (error: unknown) => (error instanceof Error ? error.message : String(error));

/** File-system errors: Node names no file for those raised through a file handle (ENOSPC on write, for one). */
const FILE_ERRORS = new Set(["ENOSPC", "EDQUOT", "EEXIST", "ENOENT", "ENOTDIR", "EISDIR", "EACCES", "EPERM", "EROFS", "EIO", "ENAMETOOLONG", "ELOOP", "EFBIG", "EMFILE", "ENFILE", "EBUSY"]);

/** A file-system error as one line that names the file; any other error as it is. */
export function naming(error: unknown, verb: "read" | "write", file: string): unknown {
  const code = (error as NodeJS.ErrnoException)?.code;
  if (!(error instanceof Error) || !code || !FILE_ERRORS.has(code)) return error;
  return new TrainctlError(`cannot ${verb} ${file}: ${error.message.split("\n")[0]}`, { subject: file, cause: error });
}

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
  const todo = await unlessInPlace(run, plan, async ({ source, destination }) => {
    const head = await run.request(`HEAD s3://${bucket}/${destination.key}`, () => client.send(new HeadObjectCommand({ Bucket: bucket, Key: destination.key })));
    return matchesRecorded(head.Metadata, source.absolute);
  });
  const extra = plan.remove.filter((o) => accept(o.relative));
  run.plan(todo.length, todo.reduce((sum, f) => sum + f.size, 0), files.length - todo.length);
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

/**
 * The sources to copy: the plan's copies, and the compared ones that `inPlace` (a HEAD, under the concurrency limit)
 * finds not in place. The others are reported as skipped.
 */
async function unlessInPlace<S extends { relative: string; size: number }, D>(run: Run, plan: SyncPlan<S, D>, inPlace: (pair: { source: S; destination: D }) => Promise<boolean>): Promise<S[]> {
  const found = await Promise.all(plan.compare.map(inPlace));
  const stale = plan.compare.filter((_, i) => !found[i]).map((pair) => pair.source);
  for (const [i, pair] of plan.compare.entries()) if (found[i]) run.options.onEvent?.({ type: "file", path: pair.source.relative, bytes: pair.source.size, action: "skip" });
  return [...plan.copy, ...stale];
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
    const created = await run.request(`POST s3://${bucket}/${key}?uploads`, () => client.send(new CreateMultipartUploadCommand({ Bucket: bucket, Key: key, Metadata: { [DIGEST_KEY]: digest } })));
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
            const sent = await run.request(`PUT s3://${bucket}/${key} part ${n}`, () => client.send(new UploadPartCommand({ Bucket: bucket, Key: key, UploadId: upload.uploadId, PartNumber: n, Body: hashed(body, sha), ContentLength: length })));
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
  await run.request(`POST s3://${bucket}/${key}?uploadId`, () => client.send(new CompleteMultipartUploadCommand({ Bucket: bucket, Key: key, UploadId: upload.uploadId, MultipartUpload: { Parts: parts } })));
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

/** Whether a local file has the digest an object's metadata records (in whichever algorithm it was recorded). */
async function matchesRecorded(metadata: Record<string, string> | undefined, file: string): Promise<boolean> {
  const recorded = recordedDigest(metadata);
  return recorded !== undefined && recorded.value === (await fileDigest(file, recorded.key));
}

/** S3 prefix → local folder (the tree is recreated), checking each object's recorded digest. Writes only inside `destination`. */
export async function download(client: S3Client, bucket: string, prefix: string, destination: string, options: TransferOptions): Promise<TransferSummary> {
  if (options.deleteExtra) throw new UsageError("--delete applies to uploads only: a download never removes local files", { subject: "--delete" });
  const run = await Run.create(client, options);
  const accept = matcher(options.include, options.exclude);
  let objects = (await listRemote(run, client, bucket, prefix)).filter((o) => accept(o.relative));
  if (objects.length === 0 && prefix && !prefix.endsWith("/")) {
    // A single object: s3://bucket/path/file → destination (a folder gets the file's name).
    const head = await run.request(`HEAD s3://${bucket}/${prefix}`, () => client.send(new HeadObjectCommand({ Bucket: bucket, Key: prefix }))).catch((error) => {
      if (isNotFound(error)) return undefined;
      throw error;
    });
    if (head) objects = [{ key: prefix, relative: path.posix.basename(prefix), size: head.ContentLength ?? 0 }];
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
  const todo = await unlessInPlace(run, plan, async ({ source, destination: local }) => {
    const head = await run.request(`HEAD s3://${bucket}/${source.key}`, () => client.send(new HeadObjectCommand({ Bucket: bucket, Key: source.key })));
    return matchesRecorded(head.Metadata, local.absolute);
  });
  run.plan(todo.length, todo.reduce((sum, o) => sum + o.size, 0), safe.length - todo.length);
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
    throw new TrainctlError(`refused ${refused.length} key(s) that cannot be written inside ${destination}: ${list}; ${options.dryRun ? "the other objects would be copied" : "the other objects were copied"}${others}`, { subject: refused[0].key });
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
    if (real !== root && !real.startsWith(`${root}${path.sep}`)) throw new TrainctlError(`${existing} leads outside ${destination} (to ${real}): nothing was written through it`, { subject: existing });
    mkdirSync(dir, { recursive: true });
    made.add(dir);
  };
}

/**
 * Downloads one object to `file`: written under a name of this run's own, created exclusively (an existing file or
 * link there is never followed), and renamed onto `file` only once the bytes this run wrote match the recorded digest.
 */
async function downloadTo(client: S3Client, run: Run, bucket: string, o: RemoteObject, file: string): Promise<void> {
  const partial = `${file}.${run.tag}.trainctl-partial`;
  const handle = await open(partial, "wx");
  try {
    let arrived: Arrived;
    try {
      arrived = o.size > run.options.multipartThreshold ? await downloadRanged(client, run, bucket, o, handle) : await downloadWhole(client, run, bucket, o, handle);
    } finally {
      await handle.close();
    }
    const recorded = recordedDigest(arrived.metadata);
    // The CRC32C was computed as the bytes arrived; a digest recorded otherwise is computed from the file.
    const actual = !recorded || recorded.key === DIGEST_KEY ? arrived.crc.encoded() : await fileDigest(partial, recorded.key);
    if (recorded && recorded.value !== actual) {
      throw new TrainctlError(`s3://${bucket}/${o.key} is corrupt: its ${recorded.algorithm} is ${actual}, but ${recorded.value} was recorded at upload; the bad copy was not kept`, { subject: o.key });
    }
    renameSync(partial, file);
  } catch (error) {
    rmSync(partial, { force: true });
    throw error;
  }
}

/** What a download learnt: the object's metadata (with the digest recorded at upload, if any) and the CRC32C of the bytes that arrived. */
interface Arrived {
  metadata?: Record<string, string>;
  crc: Crc32c;
}

/** One GET, its CRC32C computed as it is written: the file is never read back. A small object is fetched whole, then written in one call. */
async function downloadWhole(client: S3Client, run: Run, bucket: string, o: RemoteObject, handle: FileHandle): Promise<Arrived> {
  const what = `GET s3://${bucket}/${o.key}`;
  const get = () => client.send(new GetObjectCommand({ Bucket: bucket, Key: o.key }));
  if (o.size <= SMALL_FILE) {
    const object = await run.request(what, async () => {
      const arrived = await run.leanFirst(
        () => run.small.get(bucket, o.key),
        async () => {
          const answer = await get();
          return { body: Buffer.from(await answer.Body!.transformToByteArray()), metadata: answer.Metadata ?? {} };
        },
      );
      checkLength(arrived.body.length, o.size);
      return arrived;
    });
    // Not sync: creating a file costs far more than writing 4 KiB, and must not stall the event loop.
    const { bytesWritten } = await handle.write(object.body, 0, object.body.length, 0);
    if (bytesWritten !== object.body.length) throw new TrainctlError(`short write: ${bytesWritten} of ${object.body.length} bytes`);
    return { metadata: object.metadata, crc: new Crc32c().update(object.body) };
  }
  return run.request(what, async () => {
    const object = await get();
    const crc = new Crc32c();
    await writeAt(handle, object.Body as AsyncIterable<Uint8Array>, 0, object.ContentLength ?? o.size, crc);
    return { metadata: object.Metadata, crc };
  });
}

/** Parallel ranged GETs written in place, each with its own CRC32C; the whole file's is their combination, in order. */
async function downloadRanged(client: S3Client, run: Run, bucket: string, o: RemoteObject, handle: FileHandle): Promise<Arrived> {
  const partSize = partSizeFor(o.size, run.options.multipartThreshold);
  let metadata: Record<string, string> | undefined;
  const parts = await Promise.all(
    Array.from({ length: Math.ceil(o.size / partSize) }, (_, i) => i * partSize).map((start) => {
      const end = Math.min(o.size, start + partSize);
      return run.request(`GET s3://${bucket}/${o.key} bytes ${start}-${end - 1}`, async () => {
        const part = await client.send(new GetObjectCommand({ Bucket: bucket, Key: o.key, Range: `bytes=${start}-${end - 1}` }));
        const crc = new Crc32c();
        await writeAt(handle, part.Body as AsyncIterable<Uint8Array>, start, end - start, crc);
        metadata = part.Metadata;
        return crc;
      });
    }),
  );
  return { metadata, crc: parts.reduce((whole, part) => whole.append(part), new Crc32c()) };
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

/**
 * Aborts the open multipart uploads a journal records, then removes the journal. An unreadable journal is removed
 * with a warning: the uploads it held cannot be named, and the bucket's lifecycle rule expires them.
 */
export async function abortJournal(client: S3Client, file: string, onWarning?: (message: string) => void): Promise<number> {
  let data;
  try {
    data = Journal.load(file);
  } catch (error) {
    onWarning?.(`${message(error).split(";")[0]}; removed it (its open uploads, if any, expire by the bucket's lifecycle rule)`);
    rmSync(file, { force: true });
    return 0;
  }
  let aborted = 0;
  for (const upload of Object.values(data.uploads)) {
    await client.send(new AbortMultipartUploadCommand({ Bucket: data.bucket, Key: upload.key, UploadId: upload.uploadId })).catch(() => undefined);
    aborted += 1;
  }
  rmSync(file, { force: true });
  return aborted;
}

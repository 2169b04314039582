import { randomBytes } from "node:crypto";
import type { LimitFunction, default as PLimit } from "p-limit" with { "resolution-mode": "import" };
import { InterruptedError, TrainctlError } from "../../core/errors";
import { RetryDeadline, withRetry } from "../retry";
import { HeadObjectCommand, type S3Client } from "@aws-sdk/client-s3";
import { stallMs } from "./client";
import { PartBuffers } from "./part-buffers";
import type { SyncPlan } from "./sync-decision";
import { RawGet } from "./raw-get";
import { SmallObjects } from "./small-objects";

/** Files up to this size are read with one synchronous call and written with one call, from one buffer. */
export const SMALL_FILE = 256 * 1024;

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

/** Shared state of one transfer: the global limit, counters, adaptive concurrency and the one retry deadline. */
export class Run {
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
  /** Ranged GETs of large objects, one reused read buffer per socket. */
  readonly raw: RawGet;
  /** Requests keep being retried until nothing has succeeded for two stall timeouts. */
  private readonly deadline = new RetryDeadline(2 * stallMs());
  private sdkOnly = false;
  private successes = 0;
  private lastProgress = 0;

  readonly limit: LimitFunction;
  /** Local files being compared at once: each may hold a file open while it waits for its HEAD. */
  readonly compareLimit: LimitFunction;

  private constructor(
    readonly options: TransferOptions,
    private readonly client: S3Client,
    private readonly newLimit: typeof PLimit,
  ) {
    this.limit = newLimit(options.concurrency);
    this.compareLimit = newLimit(options.concurrency);
    this.small = new SmallObjects(client, stallMs());
    this.raw = new RawGet(this.small.signing, stallMs(), options.concurrency);
  }

  /** p-limit is an ES module, loaded on first use. */
  static async create(client: S3Client, options: TransferOptions): Promise<Run> {
    const { default: pLimit } = await import("p-limit");
    return new Run(options, client, pLimit);
  }

  /**
   * Writes to one file, one at a time: concurrent writes to a file contend for its inode lock, and the kernel spins
   * on it (about a tenth of the CPU samples in a 1 GiB download written by 16 parts at once).
   */
  oneWriter(): LimitFunction {
    return this.newLimit(1);
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

  /** An object's user metadata (x-amz-meta-*, where trainctl records the digest), from one HEAD under the limit. */
  metadataOf(bucket: string, key: string): Promise<Record<string, string>> {
    return this.request(`HEAD s3://${bucket}/${key}`, () =>
      this.leanFirst(
        () => this.small.head(bucket, key),
        async () => (await this.client.send(new HeadObjectCommand({ Bucket: bucket, Key: key }))).Metadata ?? {},
      ),
    );
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
    return {
      files: this.files,
      bytes: this.bytes,
      skipped: this.skipped,
      deleted: this.deleted,
      seconds,
      mibPerSecond: seconds > 0 && !this.options.dryRun ? this.bytes / 1048576 / seconds : 0,
      retries: this.retries,
    };
  }
}

/**
 * Runs one job per file; a file that fails does not stop the others. Resolves to the failures, except that
 * Ctrl-C ends the wait at once.
 */
export async function eachFile<T>(items: T[], job: (item: T) => Promise<void>, signal?: AbortSignal): Promise<unknown[]> {
  const settled = Promise.allSettled(items.map(job));
  const interrupted = new Promise<never>((_, reject) => signal?.addEventListener("abort", () => reject(new InterruptedError()), { once: true }));
  const results = await Promise.race([settled, interrupted]);
  return results.flatMap((r): unknown[] => (r.status === "rejected" ? [r.reason as unknown] : []));
}

/** The one error for failed files: the first one's message, and how many others failed. */
export function failed(failures: unknown[]): TrainctlError | undefined {
  if (failures.length === 0) return undefined;
  const first = failures.find((e) => e instanceof InterruptedError) ?? failures[0];
  if (failures.length === 1 || first instanceof InterruptedError)
    return first instanceof TrainctlError ? first : new TrainctlError(message(first), { cause: first });
  return new TrainctlError(`${message(first)} (and ${failures.length - 1} other file(s) failed)`, { cause: first });
}

export const message = (error: unknown) => (error instanceof Error ? error.message : String(error));

/** File-system errors: Node names no file for those raised through a file handle (ENOSPC on write, for one). */
const FILE_ERRORS = new Set([
  "ENOSPC",
  "EDQUOT",
  "EEXIST",
  "ENOENT",
  "ENOTDIR",
  "EISDIR",
  "EACCES",
  "EPERM",
  "EROFS",
  "EIO",
  "ENAMETOOLONG",
  "ELOOP",
  "EFBIG",
  "EMFILE",
  "ENFILE",
  "EBUSY",
]);

/** A file-system error as one line that names the file; any other error as it is. */
export function naming(error: unknown, verb: "read" | "write", file: string): unknown {
  const code = (error as NodeJS.ErrnoException)?.code;
  if (!(error instanceof Error) || !code || !FILE_ERRORS.has(code)) return error;
  return new TrainctlError(`cannot ${verb} ${file}: ${error.message.split("\n")[0]}`, { subject: file, cause: error });
}

/**
 * The sources to copy: the plan's copies, and the compared ones that `inPlace` (the listing's ETag, else a HEAD)
 * finds not in place, as many at once as the concurrency. The others are reported as skipped.
 */
export async function unlessInPlace<S extends { relative: string; size: number }, D>(
  run: Run,
  plan: SyncPlan<S, D>,
  inPlace: (pair: { source: S; destination: D }) => Promise<boolean>,
): Promise<S[]> {
  const found = await Promise.all(plan.compare.map((pair) => run.compareLimit(() => inPlace(pair))));
  const stale = plan.compare.filter((_, i) => !found[i]).map((pair) => pair.source);
  for (const [i, pair] of plan.compare.entries())
    if (found[i]) run.options.onEvent?.({ type: "file", path: pair.source.relative, bytes: pair.source.size, action: "skip" });
  return [...plan.copy, ...stale];
}

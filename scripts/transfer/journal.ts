import { createHash } from "node:crypto";
import { existsSync, mkdirSync, readFileSync, renameSync, rmSync, writeFileSync } from "node:fs";
import * as path from "node:path";
import { AbortMultipartUploadCommand, type S3Client } from "@aws-sdk/client-s3";
import { UsageError } from "../../core/errors";

/** What the journal remembers of one multipart upload, so a re-run resumes it. */
export interface JournalUpload {
  key: string;
  uploadId: string;
  size: number;
  mtimeMs: number;
  partSize: number;
  /** The whole file's CRC32C (as recorded in metadata): a source that changed restarts the file. */
  digest: string;
  /** Completed parts: number → {etag, sha256 of the part}. */
  parts: Record<string, { etag: string; sha256: string }>;
}

export interface JournalData {
  source: string;
  destination: string;
  bucket: string;
  uploads: Record<string, JournalUpload>;
}

/** A resume journal under `.trainctl/transfers/`, one file per source and destination pair. */
export class Journal {
  readonly file: string;
  data: JournalData;
  private dirty = false;

  constructor(root: string, source: string, destination: string, bucket: string) {
    const id = createHash("sha256").update(`${source}\0${destination}`).digest("hex").slice(0, 16);
    this.file = path.join(root, ".trainctl", "transfers", `${id}.json`);
    this.data = existsSync(this.file) ? Journal.load(this.file) : { source, destination, bucket, uploads: {} };
  }

  /** Reads a journal; one that is empty, not JSON or not a journal is a usage error naming the file and the way out. */
  static load(file: string): JournalData {
    let data: unknown;
    try {
      data = JSON.parse(readFileSync(file, "utf8"));
    } catch (error) {
      throw unreadable(file, error instanceof SyntaxError ? "not JSON" : (error as Error).message);
    }
    if (!isJournal(data)) throw unreadable(file, "not a resume journal");
    return data;
  }

  get(relative: string): JournalUpload | undefined {
    return this.data.uploads[relative];
  }

  start(relative: string, upload: JournalUpload): void {
    this.data.uploads[relative] = upload;
    this.dirty = true;
    this.flush();
  }

  partDone(relative: string, part: number, etag: string, sha256: string): void {
    this.data.uploads[relative].parts[String(part)] = { etag, sha256 };
    this.dirty = true;
  }

  finish(relative: string): void {
    delete this.data.uploads[relative];
    this.dirty = true;
  }

  /** Writes atomically; called after each part and on exit. */
  flush(): void {
    if (!this.dirty) return;
    if (Object.keys(this.data.uploads).length === 0) {
      rmSync(this.file, { force: true });
    } else {
      mkdirSync(path.dirname(this.file), { recursive: true });
      writeFileSync(`${this.file}.tmp`, JSON.stringify(this.data));
      renameSync(`${this.file}.tmp`, this.file);
    }
    this.dirty = false;
  }
}

const isRecord = (value: unknown): value is Record<string, unknown> => typeof value === "object" && value !== null && !Array.isArray(value);

function isJournal(data: unknown): data is JournalData {
  if (!isRecord(data) || typeof data.bucket !== "string" || !isRecord(data.uploads)) return false;
  return Object.values(data.uploads).every(
    (u) => isRecord(u) && typeof u.key === "string" && typeof u.uploadId === "string" && isRecord(u.parts) && typeof u.partSize === "number",
  );
}

const unreadable = (file: string, reason: string) =>
  new UsageError(`resume journal ${file} is unreadable (${reason}); run \`trainctl transfer --abort\` to discard it, then run this command again`, {
    subject: file,
  });

/**
 * Aborts the open multipart uploads a journal records, then removes the journal. An unreadable journal is removed
 * with a warning: the uploads it held cannot be named, and the bucket's lifecycle rule expires them.
 */
export async function abortJournal(client: S3Client, file: string, onWarning?: (message: string) => void): Promise<number> {
  let data;
  try {
    data = Journal.load(file);
  } catch (error) {
    onWarning?.(
      `${(error instanceof Error ? error.message : String(error)).split(";")[0]}; removed it (its open uploads, if any, expire by the bucket's lifecycle rule)`,
    );
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

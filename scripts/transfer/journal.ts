import { createHash } from "node:crypto";
import { existsSync, mkdirSync, readFileSync, renameSync, rmSync, writeFileSync } from "node:fs";
import * as path from "node:path";

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
    this.data = existsSync(this.file) ? (JSON.parse(readFileSync(this.file, "utf8")) as JournalData) : { source, destination, bucket, uploads: {} };
  }

  static load(file: string): JournalData {
    return JSON.parse(readFileSync(file, "utf8")) as JournalData;
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

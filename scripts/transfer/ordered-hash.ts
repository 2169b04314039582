import { type Hash, createHash } from "node:crypto";
import type { FileHandle } from "node:fs/promises";

const CHUNK = 1024 * 1024;

/**
 * SHA-256 of a file whose ranges are written out of order (parallel ranged GETs). Each finished
 * range is reported with `complete`; the hash follows the contiguous prefix, reading it back from
 * the file (still in the page cache), so no part has to be held in memory until its turn.
 */
export class OrderedHasher {
  private readonly hash = createHash("sha256");
  private readonly finished = new Map<number, number>();
  private hashed = 0;
  private reading: Promise<void> = Promise.resolve();

  constructor(private readonly handle: FileHandle) {}

  /** Marks [start, end) as written. */
  complete(start: number, end: number): void {
    this.finished.set(start, end);
    this.reading = this.reading.then(() => this.advance());
    this.reading.catch(() => undefined); // reported by digest(), or moot if the download failed
  }

  /** The hex digest of everything hashed; call once every range is complete. */
  async digest(): Promise<string> {
    await this.reading;
    return this.hash.digest("hex");
  }

  private async advance(): Promise<void> {
    for (let end = this.finished.get(this.hashed); end !== undefined; end = this.finished.get(this.hashed)) {
      this.finished.delete(this.hashed);
      await hashRange(this.handle, this.hashed, end, this.hash);
      this.hashed = end;
    }
  }
}

/** Feeds bytes [start, end) of a file to `hash`, through one reused 1 MiB buffer. */
export async function hashRange(handle: FileHandle, start: number, end: number, hash: Hash): Promise<void> {
  const buffer = Buffer.allocUnsafe(Math.min(CHUNK, Math.max(1, end - start)));
  for (let position = start; position < end; ) {
    const { bytesRead } = await handle.read(buffer, 0, Math.min(buffer.length, end - position), position);
    if (bytesRead === 0) throw new Error(`unexpected end of file at byte ${position}`);
    hash.update(buffer.subarray(0, bytesRead));
    position += bytesRead;
  }
}

/**
 * Buffers for upload parts. At most `limit` bytes are held at once, across files, so memory stays flat
 * whatever the file size; buffers are reused, so the garbage collector has nothing to chase.
 * Waiters are served in order; a part larger than the whole limit runs once nothing else is held.
 */
export class PartBuffers {
  private held = 0;
  private pooled = 0;
  private readonly idle: Buffer[] = [];
  private readonly waiting: { bytes: number; grant: () => void }[] = [];

  constructor(readonly limit: number) {}

  /** Runs `work` with a buffer of exactly `bytes`, returned to the pool afterwards. */
  async use<T>(bytes: number, work: (buffer: Buffer) => Promise<T>): Promise<T> {
    await this.acquire(bytes);
    const buffer = this.take(bytes);
    try {
      return await work(buffer.subarray(0, bytes));
    } finally {
      this.idle.push(buffer);
      this.release(bytes);
    }
  }

  /** An idle buffer large enough, else a new one (dropping idle ones so the pool stays within the limit). */
  private take(bytes: number): Buffer {
    const fit = this.idle.findIndex((b) => b.length >= bytes);
    if (fit >= 0) return this.idle.splice(fit, 1)[0];
    while (this.idle.length > 0 && this.pooled + bytes > this.limit) this.pooled -= this.idle.shift()!.length;
    this.pooled += bytes;
    return Buffer.allocUnsafeSlow(bytes);
  }

  private fits(bytes: number): boolean {
    return this.held === 0 || this.held + bytes <= this.limit;
  }

  private acquire(bytes: number): Promise<void> {
    if (this.waiting.length === 0 && this.fits(bytes)) {
      this.held += bytes;
      return Promise.resolve();
    }
    return new Promise((grant) => this.waiting.push({ bytes, grant }));
  }

  private release(bytes: number): void {
    this.held -= bytes;
    while (this.waiting.length > 0 && this.fits(this.waiting[0].bytes)) {
      const next = this.waiting.shift()!;
      this.held += next.bytes;
      next.grant();
    }
  }
}

import { createHash } from "node:crypto";
import { open, readFile } from "node:fs/promises";
import { crc32c } from "@node-rs/crc32";
import { SMALL_FILE } from "./run-context";

/**
 * Object metadata holding the whole-file CRC32C (x-amz-meta-trainctl-crc32c), written the way S3 writes
 * x-amz-checksum-crc32c: base64 of its four big-endian bytes.
 */
export const DIGEST_KEY = "trainctl-crc32c";

/** What trainctl recorded before CRC32C: the whole-file SHA-256, in hex. Objects that carry it are still checked. */
export const LEGACY_DIGEST_KEY = "trainctl-sha256";

/** CRC32C as bytes stream by (the CPU's crc32 instruction: about a quarter of SHA-256's cost here). */
export class Crc32c {
  value = 0;
  length = 0;

  update(chunk: Uint8Array): this {
    this.value = crc32c(chunk, this.value);
    this.length += chunk.length;
    return this;
  }

  /** Appends a later stretch whose own CRC32C is known, without its bytes (parts finished out of order). */
  append(later: Crc32c): this {
    this.value = combineCrc32c(this.value, later.value, later.length);
    this.length += later.length;
    return this;
  }

  encoded(): string {
    const bytes = Buffer.alloc(4);
    bytes.writeUInt32BE(this.value >>> 0);
    return bytes.toString("base64");
  }
}

/** CRC32C, encoded, of bytes in memory. */
export const crc32cOf = (data: Uint8Array): string => new Crc32c().update(data).encoded();

/** The digest of bytes in memory, in the algorithm `key` names (CRC32C when none). */
export const digestOf = (data: Uint8Array, key: string = DIGEST_KEY): string =>
  key === LEGACY_DIGEST_KEY ? createHash("sha256").update(data).digest("hex") : crc32cOf(data);

const ALGORITHMS = { [DIGEST_KEY]: "CRC32C", [LEGACY_DIGEST_KEY]: "SHA-256" };

/** The digest an object's metadata records, if any: its metadata key, value and algorithm. */
export function recordedDigest(metadata: Record<string, string> | undefined): { key: string; value: string; algorithm: string } | undefined {
  for (const [key, algorithm] of Object.entries(ALGORITHMS)) if (metadata?.[key]) return { key, value: metadata[key], algorithm };
  return undefined;
}

/** The digest of a local file, in the algorithm `key` names. */
export async function fileDigest(file: string, key: string = DIGEST_KEY): Promise<string> {
  const sha256 = key === LEGACY_DIGEST_KEY ? createHash("sha256") : undefined;
  const crc = new Crc32c();
  const handle = await open(file, "r");
  try {
    const buffer = Buffer.allocUnsafe(1024 * 1024);
    for (let bytesRead = -1; bytesRead !== 0;) {
      ({ bytesRead } = await handle.read(buffer, 0, buffer.length, null));
      const chunk = buffer.subarray(0, bytesRead);
      if (sha256) sha256.update(chunk);
      else crc.update(chunk);
    }
  } finally {
    await handle.close();
  }
  return sha256 ? sha256.digest("hex") : crc.encoded();
}

// CRC combination as zlib's crc32_combine does it: multiplication modulo the (reflected) Castagnoli polynomial.
const POLYNOMIAL = 0x82f63b78;

/** a(x)·b(x) modulo the polynomial, bit-reflected. */
function multiplyModP(a: number, b: number): number {
  let product = 0;
  for (let bit = 0x80000000; ; bit >>>= 1) {
    if (a & bit) {
      product ^= b;
      if ((a & (bit - 1)) === 0) break;
    }
    b = b & 1 ? (b >>> 1) ^ POLYNOMIAL : b >>> 1;
  }
  return product >>> 0;
}

/** x^(2^k) modulo the polynomial, k = 0…63: zlib wraps its CRC-32 table at 32, which is wrong for this polynomial (the tests catch it). */
const X_TO_2_TO_K = (() => {
  const table: number[] = [];
  let p = 0x40000000; // x^1
  for (let k = 0; k < 64; k++) {
    table.push(p);
    p = multiplyModP(p, p);
  }
  return table;
})();

/** CRC32C of A‖B from CRC32C(A), CRC32C(B) and B's length in bytes. */
export function combineCrc32c(crcA: number, crcB: number, lengthB: number): number {
  let shift = 0x80000000; // x^0; becomes x^(8·lengthB)
  for (let n = lengthB, k = 3; n > 0; n = Math.floor(n / 2), k++) {
    if (n % 2) shift = multiplyModP(X_TO_2_TO_K[k], shift);
  }
  return (multiplyModP(shift, crcA >>> 0) ^ crcB) >>> 0;
}

/** Whether a local file (listed at `size` bytes) has the digest an object's metadata records (in whichever algorithm it was recorded). */
export async function matchesRecorded(metadata: Record<string, string> | undefined, file: string, size: number): Promise<boolean> {
  const recorded = recordedDigest(metadata);
  if (recorded === undefined) return false;
  // A small file is digested from one read: no 1 MiB buffer for each.
  const actual = size <= SMALL_FILE ? digestOf(await readFile(file), recorded.key) : await fileDigest(file, recorded.key);
  return recorded.value === actual;
}

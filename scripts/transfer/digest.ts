import { createHash } from "node:crypto";
import { readFileSync } from "node:fs";
import { open } from "node:fs/promises";
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

/** What a digest is for, which names its algorithm: a metadata key trainctl records (CRC32C, legacy SHA-256), or an ETag (MD5). */
export type DigestKind = typeof DIGEST_KEY | typeof LEGACY_DIGEST_KEY | "etag";

function hasher(kind: DigestKind): { update(chunk: Uint8Array): void; digest(): string } {
  if (kind === DIGEST_KEY) {
    const crc = new Crc32c();
    return { update: (chunk) => void crc.update(chunk), digest: () => crc.encoded() };
  }
  const hash = createHash(kind === LEGACY_DIGEST_KEY ? "sha256" : "md5");
  return { update: (chunk) => void hash.update(chunk), digest: () => hash.digest("hex") };
}

/** The digest of bytes in memory, of the kind given (CRC32C when none). */
export function digestOf(data: Uint8Array, kind: DigestKind = DIGEST_KEY): string {
  const hash = hasher(kind);
  hash.update(data);
  return hash.digest();
}

const ALGORITHMS = { [DIGEST_KEY]: "CRC32C", [LEGACY_DIGEST_KEY]: "SHA-256" };

/** The digest an object's metadata records, if any: its metadata key, value and algorithm. */
export function recordedDigest(metadata: Record<string, string> | undefined): { key: DigestKind; value: string; algorithm: string } | undefined {
  for (const [key, algorithm] of Object.entries(ALGORITHMS)) if (metadata?.[key]) return { key: key as DigestKind, value: metadata[key], algorithm };
  return undefined;
}

/** The digest of a local file, of the kind given (CRC32C when none). */
export async function fileDigest(file: string, kind: DigestKind = DIGEST_KEY): Promise<string> {
  const hash = hasher(kind);
  const handle = await open(file, "r");
  try {
    const buffer = Buffer.allocUnsafe(1024 * 1024);
    for (let bytesRead = -1; bytesRead !== 0;) {
      ({ bytesRead } = await handle.read(buffer, 0, buffer.length, null));
      hash.update(buffer.subarray(0, bytesRead));
    }
  } finally {
    await handle.close();
  }
  return hash.digest();
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

/**
 * The MD5, in hex, that an ETag from a listing may be: S3's ETag of an object stored in one PUT, unencrypted or with
 * SSE-S3 (trainctl's buckets), is its MD5. None for a multipart ETag (`…-N`). A 32-digit ETag of an SSE-KMS or SSE-C
 * object is not its MD5, so only a match means anything.
 */
export function md5OfEtag(etag: string | undefined): string | undefined {
  const value = etag?.replace(/"/g, "").toLowerCase();
  return value && /^[0-9a-f]{32}$/.test(value) ? value : undefined;
}

/**
 * Whether a local file (listed at `size` bytes) holds an object's bytes: its MD5 against the object's ETag from the
 * listing first (no request), then the digest trainctl recorded at upload, from the object's `metadata` (one HEAD).
 */
export async function holdsObject(file: string, size: number, etag: string | undefined, metadata: () => Promise<Record<string, string>>): Promise<boolean> {
  // A small file is read once, synchronously, for both digests: no 1 MiB buffer and no thread-pool round trip for each.
  const small = size <= SMALL_FILE ? readFileSync(file) : undefined;
  const digest = async (kind: DigestKind) => (small ? digestOf(small, kind) : await fileDigest(file, kind));
  const md5 = md5OfEtag(etag);
  if (md5 !== undefined && (await digest("etag")) === md5) return true;
  const recorded = recordedDigest(await metadata());
  return recorded !== undefined && (await digest(recorded.key)) === recorded.value;
}

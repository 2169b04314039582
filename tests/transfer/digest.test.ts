import { mkdtempSync, writeFileSync } from "node:fs";
import { createHash } from "node:crypto";
import { tmpdir } from "node:os";
import * as path from "node:path";
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { Crc32c, LEGACY_DIGEST_KEY, combineCrc32c, crc32cOf, fileDigest, holdsObject, md5OfEtag, recordedDigest } from "../../scripts/transfer/digest";
import { SMALL_FILE } from "../../scripts/transfer/run-context";

const md5 = (bytes: Buffer) => createHash("md5").update(bytes).digest("hex");

describe("CRC32C digests", () => {
  it("matches the Castagnoli check value and S3's base64 encoding", () => {
    expect(new Crc32c().update(Buffer.from("123456789")).value).toBe(0xe3069283);
    expect(crc32cOf(Buffer.from("123456789"))).toBe(Buffer.from([0xe3, 0x06, 0x92, 0x83]).toString("base64"));
    expect(crc32cOf(Buffer.alloc(0))).toBe("AAAAAA==");
  });

  it("streams: updating chunk by chunk equals one pass", () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 3000 }), fc.nat(3000), (bytes, cut) => {
        const at = Math.min(cut, bytes.length);
        expect(new Crc32c().update(bytes.subarray(0, at)).update(bytes.subarray(at)).value).toBe(new Crc32c().update(bytes).value);
      }),
    );
  });

  it("combines the CRCs of parts finished out of order into the whole file's", () => {
    fc.assert(
      fc.property(fc.array(fc.uint8Array({ maxLength: 2000 }), { maxLength: 6 }), (parts) => {
        const whole = new Crc32c();
        for (const part of parts) whole.update(part);
        const combined = parts.map((part) => new Crc32c().update(part)).reduce((sum, part) => sum.append(part), new Crc32c());
        expect(combined.value).toBe(whole.value);
        expect(combined.length).toBe(whole.length);
      }),
    );
  });

  it("combines consistently at lengths beyond 32 bits (a 5 TB file's parts)", () => {
    // (A‖B)‖C = A‖(B‖C) holds only if x^(8·n) is right for every length, large ones included.
    fc.assert(
      fc.property(fc.nat(), fc.nat(), fc.nat(), fc.integer({ min: 1, max: 5e12 }), fc.integer({ min: 1, max: 5e12 }), (a, b, c, lengthB, lengthC) => {
        expect(combineCrc32c(combineCrc32c(a, b, lengthB), c, lengthC)).toBe(combineCrc32c(a, combineCrc32c(b, c, lengthC), lengthB + lengthC));
      }),
    );
  });

  it("reads a file's digest in the recorded algorithm, legacy SHA-256 included", async () => {
    const file = path.join(mkdtempSync(path.join(tmpdir(), "digest-")), "f.bin");
    const bytes = Buffer.alloc(3 * 1024 * 1024 + 5, 9);
    writeFileSync(file, bytes);
    expect(await fileDigest(file)).toBe(crc32cOf(bytes));
    expect(await fileDigest(file, LEGACY_DIGEST_KEY)).toBe(createHash("sha256").update(bytes).digest("hex"));
    expect(recordedDigest({ "trainctl-crc32c": "x", "trainctl-sha256": "y" })).toEqual({ key: "trainctl-crc32c", value: "x", algorithm: "CRC32C" });
    expect(recordedDigest({ "trainctl-sha256": "y" })).toEqual({ key: "trainctl-sha256", value: "y", algorithm: "SHA-256" });
    expect(recordedDigest({ other: "z" })).toBeUndefined();
  });
});

describe("whether a local file holds an object's bytes (--sync)", () => {
  const folder = mkdtempSync(path.join(tmpdir(), "holds-"));
  const write = (name: string, bytes: Buffer) => {
    const file = path.join(folder, name);
    writeFileSync(file, bytes);
    return file;
  };
  /** Metadata for the HEAD, counting how often it is asked for. */
  const head = (metadata: Record<string, string>) => {
    const asked = { count: 0 };
    return { asked, metadata: () => (asked.count++, Promise.resolve(metadata)) };
  };

  it("reads an MD5 only from a single-part ETag, in any case and with or without quotes", () => {
    const hex = md5(Buffer.from("x"));
    expect(md5OfEtag(`"${hex}"`)).toBe(hex);
    expect(md5OfEtag(hex.toUpperCase())).toBe(hex);
    expect(md5OfEtag(`"${hex}-3"`)).toBeUndefined();
    expect(md5OfEtag('"abc"')).toBeUndefined();
    expect(md5OfEtag(undefined)).toBeUndefined();
  });

  it.each([
    ["small", 4096],
    ["larger than one read", SMALL_FILE + 1],
  ])("%s file: an ETag equal to its MD5 settles it without a HEAD", async (_, size) => {
    const bytes = Buffer.alloc(size, 7);
    const { asked, metadata } = head({});
    expect(await holdsObject(write(`same-${size}`, bytes), size, `"${md5(bytes)}"`, metadata)).toBe(true);
    expect(asked.count).toBe(0);
  });

  it.each([
    ["a 32-digit ETag that is not the MD5 (SSE-KMS)", "0123456789abcdef0123456789abcdef"],
    ["a multipart ETag", `"${"a".repeat(32)}-4"`],
    ["no ETag", undefined],
  ])("%s: the digest recorded at upload decides, from one HEAD", async (_, etag) => {
    const bytes = Buffer.from("recorded");
    const file = write("recorded", bytes);
    const same = head({ "trainctl-crc32c": crc32cOf(bytes) });
    expect(await holdsObject(file, bytes.length, etag, same.metadata)).toBe(true);
    expect(same.asked.count).toBe(1);
    expect(await holdsObject(file, bytes.length, etag, head({ "trainctl-crc32c": crc32cOf(Buffer.from("RECORDED")) }).metadata)).toBe(false);
    expect(await holdsObject(file, bytes.length, etag, head({ "trainctl-sha256": createHash("sha256").update(bytes).digest("hex") }).metadata)).toBe(true);
  });

  it("neither a matching ETag nor a recorded digest: not in place, so it is copied", async () => {
    const bytes = Buffer.from("unknown");
    expect(await holdsObject(write("unknown", bytes), bytes.length, `"${md5(Buffer.from("UNKNOWN"))}"`, head({ other: "x" }).metadata)).toBe(false);
  });
});

import { mkdtempSync, writeFileSync } from "node:fs";
import { createHash } from "node:crypto";
import { tmpdir } from "node:os";
import * as path from "node:path";
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { Crc32c, LEGACY_DIGEST_KEY, combineCrc32c, crc32cOf, fileDigest, recordedDigest } from "../../scripts/transfer/digest";

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

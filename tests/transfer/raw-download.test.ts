import { mkdirSync, mkdtempSync, readFileSync, readdirSync, writeFileSync } from "node:fs";
import { createServer, request as httpRequest } from "node:http";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import * as path from "node:path";
import { type FileHandle, open } from "node:fs/promises";
import { PutObjectCommand } from "@aws-sdk/client-s3";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { trainctlAsync as trainctl } from "../helpers/cli";
import { crc32cOf } from "../../scripts/transfer/digest";
import { download, makeS3Client } from "../../scripts/transfer/engine";
import { type S3rverHandle, startS3rver } from "../helpers/s3rver";

const lastJson = (stdout: string) => JSON.parse(stdout.trim().split("\n").pop()!);

/** `size` bytes of a repeating pattern that differs by `step`. */
function patterned(size: number, step: number): Buffer {
  const buffer = Buffer.alloc(size);
  for (let i = 0; i < size; i++) buffer[i] = (i * step + 3) % 256;
  return buffer;
}

/** The SDK marks its GetObject requests with `x-id=GetObject`; RawGet's carry no query. */
const sdkGet = (request: string) => /^GET .*[?&]x-id=GetObject/.test(request);

/** A loopback proxy to `target` that records each request's method, path and Range, and may rewrite answer statuses. */
async function recordingProxy(target: URL, status: (upstream: number) => number = (code) => code) {
  const seen: { method: string; url: string; range?: string }[] = [];
  const proxy = createServer((req, res) => {
    seen.push({ method: req.method!, url: req.url!, range: req.headers.range });
    const upstream = httpRequest({ host: target.hostname, port: target.port, method: req.method, path: req.url, headers: req.headers }, (answer) => {
      res.writeHead(status(answer.statusCode ?? 500), answer.headers);
      answer.pipe(res);
    });
    req.pipe(upstream);
  });
  await new Promise<void>((resolve) => proxy.listen(0, "127.0.0.1", resolve));
  return {
    endpoint: `http://127.0.0.1:${(proxy.address() as AddressInfo).port}`,
    seen,
    close: () => {
      proxy.closeAllConnections();
      proxy.close();
    },
  };
}

describe("ranged downloads over RawGet", () => {
  let s3: S3rverHandle;
  let env: Record<string, string>;
  const work = mkdtempSync(path.join(tmpdir(), "trainctl-raw-download-"));
  const body = patterned(7 * 1024 * 1024 + 13, 29);
  const args = ["--json", "--multipart-threshold-mib", "1", "--concurrency", "4"];

  beforeAll(async () => {
    s3 = await startS3rver(["bucket-1"]);
    env = s3.env();
    writeFileSync(path.join(work, "weights.bin"), body);
    const up = await trainctl(["transfer", path.join(work, "weights.bin"), "s3://bucket-1/raw/weights.bin"], { env, cwd: work });
    expect(up.code, up.stderr).toBe(0);
  });
  afterAll(async () => s3?.stop());

  it("downloads a multi-part object byte for byte without the SDK's GET, and the process exits once done", async () => {
    const mark = s3.requests.length;
    const out = path.join(work, "out");
    const down = await trainctl(["transfer", "s3://bucket-1/raw/weights.bin", out, ...args], { env, cwd: work });
    expect(down.code, down.stderr).toBe(0);
    expect(lastJson(down.stdout)).toMatchObject({ files: 1, retries: 0 });
    expect(readFileSync(path.join(out, "weights.bin")).equals(body)).toBe(true);
    const gets = s3.requests.slice(mark).filter((r) => r.startsWith("GET /bucket-1/raw/weights.bin"));
    expect(gets).toHaveLength(8); // 1 MiB parts
    expect(gets.filter(sdkGet)).toEqual([]);
  });

  it("still catches corruption: bytes that differ from the recorded CRC32C are not kept", async () => {
    const tampered = Buffer.from(body);
    tampered[5 * 1024 * 1024 + 3] ^= 1;
    await s3
      .client()
      .send(new PutObjectCommand({ Bucket: "bucket-1", Key: "raw/tampered.bin", Body: tampered, Metadata: { "trainctl-crc32c": crc32cOf(body) } }));
    const out = path.join(work, "tampered-out");
    const down = await trainctl(["transfer", "s3://bucket-1/raw/tampered.bin", out, ...args], { env, cwd: work });
    expect(down.code).toBe(1);
    expect(down.stderr).toContain(`is corrupt: its CRC32C is ${crc32cOf(tampered)}, but ${crc32cOf(body)} was recorded at upload`);
    expect(readdirSync(out)).toEqual([]);
  });

  it("falls back to the SDK, and a correct file, behind a proxy that answers ranged GETs with 200", async () => {
    const proxy = await recordingProxy(new URL(s3.endpoint), (code) => (code === 206 ? 200 : code));
    const mark = s3.requests.length;
    try {
      const out = path.join(work, "proxied");
      const down = await trainctl(["transfer", "s3://bucket-1/raw/weights.bin", out, ...args, "--endpoint-url", proxy.endpoint], { env, cwd: work });
      expect(down.code, down.stderr).toBe(0);
      expect(readFileSync(path.join(out, "weights.bin")).equals(body)).toBe(true);
      expect(lastJson(down.stdout).retries).toBeGreaterThan(0);
      expect(s3.requests.slice(mark).filter(sdkGet)).toHaveLength(8);
    } finally {
      proxy.close();
    }
  });

  it.each([
    ["over RawGet", false],
    ["through the SDK's GET", true],
  ])("writes each part %s into the file one write at a time (parallel writes to one file spin on its inode lock)", async (_, viaFallback) => {
    const proxy = await recordingProxy(new URL(s3.endpoint), (code) => (viaFallback && code === 206 ? 200 : code));
    const probe = await open(path.join(work, "probe"), "w");
    await probe.close();
    const prototype = Object.getPrototypeOf(probe) as FileHandle;
    const originals = Object.fromEntries(
      ["write", "writev"].map((name) => [name, Object.getOwnPropertyDescriptor(prototype, name)!.value as (...args: unknown[]) => Promise<unknown>]),
    );
    let inFlight = 0;
    let most = 0;
    const counted = (write: (...args: unknown[]) => Promise<unknown>) =>
      async function (this: FileHandle, ...args: unknown[]): Promise<unknown> {
        most = Math.max(most, ++inFlight);
        try {
          return await write.apply(this, args);
        } finally {
          inFlight -= 1;
        }
      };
    Object.assign(prototype, Object.fromEntries(Object.entries(originals).map(([name, write]) => [name, counted(write)])));
    Object.assign(process.env, env);
    try {
      const out = path.join(work, `one-writer-${viaFallback}`);
      const options = {
        concurrency: 8,
        include: [],
        exclude: [],
        dryRun: false,
        sync: false,
        deleteExtra: false,
        verify: false,
        journalRoot: work,
        multipartThreshold: 1024 * 1024,
      };
      const client = makeS3Client({ endpoint: proxy.endpoint, region: "us-east-1", concurrency: 8 });
      const summary = await download(client, "bucket-1", "raw/weights.bin", out, options);
      expect(summary.files).toBe(1);
      expect(readFileSync(path.join(out, "weights.bin")).equals(body)).toBe(true);
      expect(proxy.seen.filter((r) => sdkGet(`${r.method} ${r.url}`))).toHaveLength(viaFallback ? 8 : 0);
      expect(most).toBe(1);
    } finally {
      Object.assign(prototype, originals);
      proxy.close();
    }
  });

  describe("small objects", () => {
    const tree = { "empty.bin": Buffer.alloc(0), "one.bin": Buffer.from([7]), "kib.bin": patterned(4096, 5), "sub/odd.bin": patterned(65_537, 11) };
    beforeAll(async () => {
      for (const [name, bytes] of Object.entries(tree)) {
        mkdirSync(path.dirname(path.join(work, "small", name)), { recursive: true });
        writeFileSync(path.join(work, "small", name), bytes);
      }
      const up = await trainctl(["transfer", path.join(work, "small"), "s3://bucket-1/small/"], { env, cwd: work });
      expect(up.code, up.stderr).toBe(0);
    });
    const downloaded = (out: string) => Object.fromEntries(Object.keys(tree).map((name) => [name, readFileSync(path.join(out, name))]));

    it("are each read as one range of their whole length, an empty one with a plain GET, and never with the SDK's GET", async () => {
      const proxy = await recordingProxy(new URL(s3.endpoint));
      try {
        const out = path.join(work, "small-out");
        const down = await trainctl(["transfer", "s3://bucket-1/small/", out, "--json", "--endpoint-url", proxy.endpoint], { env, cwd: work });
        expect(down.code, down.stderr).toBe(0);
        expect(lastJson(down.stdout)).toMatchObject({ files: 4, retries: 0 });
        expect(downloaded(out)).toEqual(tree);
        const gets = proxy.seen.filter((r) => r.method === "GET" && r.url.startsWith("/bucket-1/small/"));
        expect(gets.filter((r) => sdkGet(`GET ${r.url}`))).toEqual([]);
        expect(Object.fromEntries(gets.map((r) => [r.url.slice("/bucket-1/small/".length), r.range]))).toEqual({
          "empty.bin": undefined,
          "one.bin": "bytes=0-0",
          "kib.bin": "bytes=0-4095",
          "sub/odd.bin": "bytes=0-65536",
        });
      } finally {
        proxy.close();
      }
    });

    it("fall back to the SDK, and correct files, behind a proxy that answers ranged GETs with 200", async () => {
      const proxy = await recordingProxy(new URL(s3.endpoint), (code) => (code === 206 ? 200 : code));
      try {
        const out = path.join(work, "small-proxied");
        const down = await trainctl(["transfer", "s3://bucket-1/small/", out, "--json", "--concurrency", "1", "--endpoint-url", proxy.endpoint], {
          env,
          cwd: work,
        });
        expect(down.code, down.stderr).toBe(0);
        expect(downloaded(out)).toEqual(tree);
        expect(lastJson(down.stdout).retries).toBe(1);
        expect(proxy.seen.filter((r) => sdkGet(`${r.method} ${r.url}`)).length).toBeGreaterThan(0);
      } finally {
        proxy.close();
      }
    });
  });
});

import { type ChildProcess, spawn } from "node:child_process";
import { createHash } from "node:crypto";
import { existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, symlinkSync, writeFileSync } from "node:fs";
import { createServer, request as httpRequest } from "node:http";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import * as path from "node:path";
import { pathToFileURL } from "node:url";
import { GetObjectCommand, PutObjectCommand } from "@aws-sdk/client-s3";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ROOT, trainctlAsync } from "../helpers/cli";
import { type S3rverHandle, startS3rver } from "../helpers/s3rver";

const sha = (b: Buffer) => createHash("sha256").update(b).digest("hex");

function tree(root: string): Map<string, string> {
  const out = new Map<string, string>();
  const walk = (dir: string, prefix: string) => {
    for (const e of readdirSync(dir, { withFileTypes: true })) {
      const rel = prefix ? `${prefix}/${e.name}` : e.name;
      if (e.isDirectory()) walk(path.join(dir, e.name), rel);
      else if (e.isFile()) out.set(rel, sha(readFileSync(path.join(dir, e.name))));
    }
  };
  walk(root, "");
  return out;
}

const lastJson = (stdout: string) => JSON.parse(stdout.trim().split("\n").pop()!);

describe("trainctl transfer against s3rver", () => {
  let s3: S3rverHandle;
  let env: Record<string, string>;
  const work = mkdtempSync(path.join(tmpdir(), "trainctl-transfer-"));
  const source = path.join(work, "src");

  beforeAll(async () => {
    s3 = await startS3rver(["bucket-1"]);
    env = s3.env();
    mkdirSync(path.join(source, "nested", "deeper"), { recursive: true });
    for (let i = 0; i < 2000; i++) writeFileSync(path.join(source, "nested", i % 2 ? "deeper" : "", `sample ${i}.bin`), Buffer.alloc(1024 + (i % 7), i % 251));
    writeFileSync(path.join(source, "big.bin"), Buffer.from(Array.from({ length: 23 * 1024 * 1024 }, (_, i) => (i * 31) % 256)));
    writeFileSync(path.join(source, "empty.txt"), "");
    writeFileSync(path.join(source, "ünïcödé näme.txt"), "héllo");
    symlinkSync(path.join(source, "big.bin"), path.join(source, "link-to-big"));
  });
  afterAll(async () => s3?.stop());

  it("uploads a folder (a multipart file and 2,000 small ones), downloads it back byte for byte", async () => {
    const up = await trainctlAsync(["transfer", source, "s3://bucket-1/ds/", "--json", "--multipart-threshold-mib", "5"], { env, cwd: work });
    expect(up.code, up.stderr).toBe(0);
    expect(up.stderr).toMatch(/warning: skipping symlink .*link-to-big/);
    const summary = lastJson(up.stdout);
    expect(summary).toMatchObject({ files: 2003, skipped: 0, retries: 0 });
    expect(s3.requests.filter((r) => /partNumber=/.test(r)).length).toBe(5); // 23 MiB in 5 MiB parts
    const back = path.join(work, "back");
    const down = await trainctlAsync(["transfer", "s3://bucket-1/ds/", back, "--json", "--multipart-threshold-mib", "5"], { env, cwd: work });
    expect(down.code, down.stderr).toBe(0);
    const expected = tree(source);
    expect(tree(back)).toEqual(expected);
    // Keys are relative paths with `/`, as aws s3 sync and rclone write them.
    const object = await s3.client().send(new GetObjectCommand({ Bucket: "bucket-1", Key: "ds/nested/deeper/sample 1.bin" }));
    expect(object.Metadata?.["trainctl-sha256"]).toBe(expected.get("nested/deeper/sample 1.bin"));
  });

  it("--sync on a second run transfers nothing, both ways", async () => {
    const before = s3.requests.filter((r) => r.startsWith("PUT")).length;
    const up = await trainctlAsync(["transfer", source, "s3://bucket-1/ds/", "--sync", "--json", "--multipart-threshold-mib", "5"], { env, cwd: work });
    expect(lastJson(up.stdout)).toMatchObject({ files: 0, bytes: 0, skipped: 2003 });
    expect(s3.requests.filter((r) => r.startsWith("PUT")).length).toBe(before);
    const down = await trainctlAsync(["transfer", "s3://bucket-1/ds/", path.join(work, "back"), "--sync", "--json"], { env, cwd: work });
    expect(lastJson(down.stdout)).toMatchObject({ files: 0, skipped: 2003 });
  });

  it("a corrupted object is detected on download and no bad copy is left", async () => {
    const client = s3.client();
    await client.send(new PutObjectCommand({ Bucket: "bucket-1", Key: "bad/file.bin", Body: "tampered", Metadata: { "trainctl-sha256": sha(Buffer.from("original")) } }));
    const out = path.join(work, "bad-out");
    const result = await trainctlAsync(["transfer", "s3://bucket-1/bad/", out, "--json"], { env, cwd: work });
    expect(result.code).toBe(1);
    expect(result.stderr).toMatch(/error: s3:\/\/bucket-1\/bad\/file\.bin is corrupt/);
    expect(existsSync(path.join(out, "file.bin"))).toBe(false);
    expect(existsSync(path.join(out, "file.bin.trainctl-partial"))).toBe(false);
  });

  it("a transfer killed with SIGKILL resumes: byte-identical, and no completed part is sent again", async () => {
    const big = path.join(work, "resume", "huge.bin");
    mkdirSync(path.dirname(big), { recursive: true });
    writeFileSync(big, Buffer.from(Array.from({ length: 60 * 1024 * 1024 }, (_, i) => (i * 7 + 3) % 256)));
    const journalDir = path.join(work, ".trainctl", "transfers");
    const args = [path.join(ROOT, "scripts", "cli.ts"), "transfer", big, "s3://bucket-1/resume/huge.bin", "--concurrency", "1", "--multipart-threshold-mib", "5", "--json"];
    // One process (node with tsx's loader), so SIGKILL really stops the upload.
    const loader = pathToFileURL(path.join(ROOT, "node_modules", "tsx", "dist", "loader.mjs")).href;
    const child: ChildProcess = spawn(process.execPath, ["--import", loader, ...args], { cwd: work, env: { ...process.env, ...env } });
    // Kill once the journal records at least three completed parts.
    let recorded: string[] = [];
    await new Promise<void>((resolve, reject) => {
      const poll = setInterval(() => {
        const files = existsSync(journalDir) ? readdirSync(journalDir).filter((f) => f.endsWith(".json")) : [];
        if (files.length) {
          const data = JSON.parse(readFileSync(path.join(journalDir, files[0]), "utf8"));
          recorded = Object.keys(Object.values<any>(data.uploads)[0]?.parts ?? {});
          if (recorded.length >= 3) {
            clearInterval(poll);
            child.kill("SIGKILL");
            resolve();
          }
        }
      }, 20);
      child.once("exit", () => {
        clearInterval(poll);
        reject(new Error("the upload finished before it could be killed"));
      });
    });
    await new Promise((r) => child.once("exit", r));
    const mark = s3.requests.length;
    const resumed = await trainctlAsync(args.slice(1), { env, cwd: work });
    expect(resumed.code, resumed.stderr).toBe(0);
    const again = s3.requests.slice(mark).filter((r) => /partNumber=/.test(r)).map((r) => /partNumber=(\d+)/.exec(r)![1]);
    for (const part of recorded) expect(again, `part ${part}`).not.toContain(part);
    expect(again.length).toBe(12 - recorded.length);
    const object = await s3.client().send(new GetObjectCommand({ Bucket: "bucket-1", Key: "resume/huge.bin" }));
    expect(sha(Buffer.from(await object.Body!.transformToByteArray()))).toBe(sha(readFileSync(big)));
    expect(existsSync(journalDir) ? readdirSync(journalDir).filter((f) => f.endsWith(".json")) : []).toEqual([]);
  });

  it("completes through a proxy that answers 503 SlowDown and resets connections, and counts the retries", async () => {
    const target = new URL(s3.endpoint);
    let seen = 0;
    const proxy = createServer((req, res) => {
      seen += 1;
      if (seen % 7 === 3) {
        res.writeHead(503, { "content-type": "application/xml" });
        res.end('<?xml version="1.0"?><Error><Code>SlowDown</Code><Message>Please reduce your request rate.</Message></Error>');
        return;
      }
      if (seen % 11 === 5) {
        req.socket.destroy();
        return;
      }
      const upstream = httpRequest({ host: target.hostname, port: target.port, method: req.method, path: req.url, headers: req.headers }, (answer) => {
        res.writeHead(answer.statusCode ?? 500, answer.headers);
        answer.pipe(res);
      });
      req.pipe(upstream);
    });
    await new Promise<void>((resolve) => proxy.listen(0, "127.0.0.1", resolve));
    const endpoint = `http://127.0.0.1:${(proxy.address() as AddressInfo).port}`;
    const small = path.join(work, "faulty");
    mkdirSync(small, { recursive: true });
    for (let i = 0; i < 60; i++) writeFileSync(path.join(small, `${i}.bin`), Buffer.alloc(2048, i));
    try {
      const result = await trainctlAsync(["transfer", small, "s3://bucket-1/faulty/", "--json", "--endpoint-url", endpoint, "--concurrency", "4"], { env: { ...env, TRAINCTL_S3_TIMEOUT_MS: "1500" }, cwd: work });
      expect(result.code, result.stderr).toBe(0);
      const summary = lastJson(result.stdout);
      expect(summary.files).toBe(60);
      expect(summary.retries).toBeGreaterThan(0);
      const back = path.join(work, "faulty-back");
      expect((await trainctlAsync(["transfer", "s3://bucket-1/faulty/", back], { env, cwd: work })).code).toBe(0);
      expect(tree(back)).toEqual(tree(small));
    } finally {
      proxy.closeAllConnections();
      proxy.close();
    }
  });

  it.each([
    ["a source that does not exist", ["/nope/nothing", "s3://bucket-1/x/"], /SRC: \/nope\/nothing does not exist/],
    ["a malformed s3:// URL", [".", "s3://Bad_Bucket/x"], /DST: malformed S3 URL/],
    ["--delete without --yes", [".", "s3://bucket-1/x/", "--delete"], /--delete removes objects at the destination: add --yes/],
    ["a destination inside the source", [".", "./inside"], /DST: \.\/inside is inside the source/],
  ])("bad input: %s exits 2 before anything moves", async (_what, args, message) => {
    const before = s3.requests.length;
    const result = await trainctlAsync(["transfer", ...(args as string[])], { env, cwd: source });
    expect(result.code).toBe(2);
    expect(result.stderr.trim().split("\n")).toHaveLength(1);
    expect(result.stderr).toMatch(message as RegExp);
    expect(s3.requests.length).toBe(before);
  });
});

import { type ChildProcess, spawn } from "node:child_process";
import { createHash } from "node:crypto";
import { appendFileSync, existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, symlinkSync, truncateSync, writeFileSync } from "node:fs";
import { type IncomingMessage, createServer, request as httpRequest } from "node:http";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import * as path from "node:path";
import { GetObjectCommand, HeadObjectCommand, PutObjectCommand } from "@aws-sdk/client-s3";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { COMPILED_CLI, type CliResult, expectUsageError, trainctlAsync as trainctl } from "../helpers/cli";

import { crc32cOf } from "../../scripts/transfer/digest";
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

/** `size` bytes of a repeating pattern that differs by `step`: distinct parts, made without a large array. */
function patterned(size: number, step: number): Buffer {
  const buffer = Buffer.alloc(size);
  for (let i = 0; i < size; i++) buffer[i] = (i * step + 3) % 256;
  return buffer;
}

const lastJson = (stdout: string) => JSON.parse(stdout.trim().split("\n").pop()!);

type Fault = "slowdown" | "refuse" | "reset" | "silent" | "mid-body";

/**
 * A proxy in front of s3rver that injects a fault into the requests `faultFor` picks (n counts from 1):
 * a 503 SlowDown, a 400 refusal, a reset connection, no answer at all, or the headers and part of the body, then silence.
 */
async function faultProxy(target: URL, faultFor: (n: number, req: IncomingMessage) => Fault | undefined): Promise<{ endpoint: string; close: () => void }> {
  let seen = 0;
  const proxy = createServer((req, res) => {
    const fault = faultFor(++seen, req);
    if (fault === "refuse") {
      res.writeHead(400, { "content-type": "application/xml" });
      res.end('<?xml version="1.0"?><Error><Code>InvalidRequest</Code><Message>Refused by the test proxy.</Message></Error>');
      return;
    }
    if (fault === "slowdown") {
      res.writeHead(503, { "content-type": "application/xml" });
      res.end('<?xml version="1.0"?><Error><Code>SlowDown</Code><Message>Please reduce your request rate.</Message></Error>');
      return;
    }
    if (fault === "reset") return void req.socket.destroy();
    if (fault === "silent") return void req.resume();
    const upstream = httpRequest({ host: target.hostname, port: target.port, method: req.method, path: req.url, headers: req.headers }, (answer) => {
      res.writeHead(answer.statusCode ?? 500, answer.headers);
      if (fault !== "mid-body") return void answer.pipe(res);
      answer.once("data", (chunk: Buffer) => {
        res.write(chunk.subarray(0, Math.ceil(chunk.length / 2)));
        answer.destroy();
      });
    });
    req.pipe(upstream);
  });
  await new Promise<void>((resolve) => proxy.listen(0, "127.0.0.1", resolve));
  return {
    endpoint: `http://127.0.0.1:${(proxy.address() as AddressInfo).port}`,
    close: () => {
      proxy.closeAllConnections();
      proxy.close();
    },
  };
}

/** trainctlAsync with a deadline: a hung transfer is killed and fails the test instead of hanging it. */
async function trainctlWithin(ms: number, args: string[], env: Record<string, string>, cwd: string): Promise<CliResult> {
  const child = spawn(process.execPath, [COMPILED_CLI, ...args], { cwd, env: { ...process.env, ...env }, timeout: ms, killSignal: "SIGKILL" });
  let stdout = "";
  let stderr = "";
  child.stdout.on("data", (d: Buffer) => (stdout += d.toString()));
  child.stderr.on("data", (d: Buffer) => (stderr += d.toString()));
  const [code, signal] = await new Promise<[number | null, string | null]>((resolve) => child.once("close", (c, s) => resolve([c, s])));
  return { code: code ?? -1, stdout, stderr: signal ? `killed by ${signal} after ${ms} ms (hung)\n${stderr}` : stderr };
}

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
    writeFileSync(path.join(source, "big.bin"), patterned(23 * 1024 * 1024, 31));
    writeFileSync(path.join(source, "empty.txt"), "");
    writeFileSync(path.join(source, "ünïcödé näme.txt"), "héllo");
    symlinkSync(path.join(source, "big.bin"), path.join(source, "link-to-big"));
  });
  afterAll(async () => s3?.stop());

  it("uploads a folder (a multipart file and 2,000 small ones), downloads it back byte for byte", async () => {
    const up = await trainctl(["transfer", source, "s3://bucket-1/ds/", "--json", "--multipart-threshold-mib", "5"], { env, cwd: work });
    expect(up.code, up.stderr).toBe(0);
    expect(up.stderr).toMatch(/warning: skipping symlink .*link-to-big/);
    const summary = lastJson(up.stdout);
    expect(summary).toMatchObject({ files: 2003, skipped: 0, retries: 0 });
    expect(s3.requests.filter((r) => /partNumber=/.test(r)).length).toBe(5); // 23 MiB in 5 MiB parts
    const back = path.join(work, "back");
    const down = await trainctl(["transfer", "s3://bucket-1/ds/", back, "--json", "--multipart-threshold-mib", "5"], { env, cwd: work });
    expect(down.code, down.stderr).toBe(0);
    const expected = tree(source);
    expect(tree(back)).toEqual(expected);
    // Keys are relative paths with `/`, as aws s3 sync and rclone write them.
    const object = await s3.client().send(new GetObjectCommand({ Bucket: "bucket-1", Key: "ds/nested/deeper/sample 1.bin" }));
    expect(object.Metadata?.["trainctl-crc32c"]).toBe(crc32cOf(readFileSync(path.join(source, "nested", "deeper", "sample 1.bin"))));
    const multipart = await s3.client().send(new HeadObjectCommand({ Bucket: "bucket-1", Key: "ds/big.bin" }));
    expect(multipart.Metadata?.["trainctl-crc32c"]).toBe(crc32cOf(readFileSync(path.join(source, "big.bin"))));
  });

  it("--sync on a second run transfers nothing, both ways", async () => {
    // Its own small tree (nested, empty, non-ASCII and one multipart file), so it needs no earlier test.
    const folder = path.join(work, "sync-src");
    mkdirSync(path.join(folder, "nested", "deeper"), { recursive: true });
    for (let i = 0; i < 40; i++) writeFileSync(path.join(folder, "nested", i % 2 ? "deeper" : "", `sample ${i}.bin`), Buffer.alloc(1024 + i, i));
    writeFileSync(path.join(folder, "multipart.bin"), patterned(6 * 1024 * 1024, 11));
    writeFileSync(path.join(folder, "empty.txt"), "");
    writeFileSync(path.join(folder, "ünïcödé näme.txt"), "héllo");
    const back = path.join(work, "sync-back");
    const args = ["--json", "--multipart-threshold-mib", "5"];
    for (const [src, dst] of [
      [folder, "s3://bucket-1/sync/"],
      ["s3://bucket-1/sync/", back],
    ]) {
      const first = await trainctl(["transfer", src, dst, ...args], { env, cwd: work });
      expect(lastJson(first.stdout), first.stderr).toMatchObject({ files: 43 });
    }
    const before = s3.requests.length;
    const up = await trainctl(["transfer", folder, "s3://bucket-1/sync/", "--sync", ...args], { env, cwd: work });
    expect(lastJson(up.stdout), up.stderr).toMatchObject({ files: 0, bytes: 0, skipped: 43 });
    const down = await trainctl(["transfer", "s3://bucket-1/sync/", back, "--sync", ...args], { env, cwd: work });
    expect(lastJson(down.stdout), down.stderr).toMatchObject({ files: 0, bytes: 0, skipped: 43 });
    expect(tree(back)).toEqual(tree(folder));
    // Decided from the listings alone: a single-PUT object's ETag is its MD5. (s3rver also gives a multipart object its
    // whole MD5, where S3 gives `…-N` and a HEAD is needed: tests/transfer/digest.test.ts covers that case.)
    expect(s3.requests.slice(before).filter((r) => !r.startsWith("GET /bucket-1?"))).toEqual([]);
  });

  it("--sync copies a file changed at the same size, and skips bytes another tool stored without trainctl's digest", async () => {
    const folder = path.join(work, "sync-changed");
    mkdirSync(folder, { recursive: true });
    writeFileSync(path.join(folder, "a.bin"), "first");
    writeFileSync(path.join(folder, "b.bin"), "other");
    const first = await trainctl(["transfer", folder, "s3://bucket-1/changed/", "--json"], { env, cwd: work });
    expect(first.code, first.stderr).toBe(0);
    await s3.client().send(new PutObjectCommand({ Bucket: "bucket-1", Key: "changed/c.bin", Body: "third" }));
    writeFileSync(path.join(folder, "a.bin"), "FIRST");
    writeFileSync(path.join(folder, "c.bin"), "third");
    const before = s3.requests.length;
    const again = await trainctl(["transfer", folder, "s3://bucket-1/changed/", "--sync", "--json"], { env, cwd: work });
    expect(lastJson(again.stdout), again.stderr).toMatchObject({ files: 1, skipped: 2 });
    const sent = s3.requests.slice(before).filter((r) => !r.startsWith("GET /bucket-1?"));
    // The changed file's ETag differs, which proves nothing alone (SSE-KMS ETags are not MD5s): its HEAD settles it.
    expect(sent).toEqual(["HEAD /bucket-1/changed/a.bin", "PUT /bucket-1/changed/a.bin"]);
    const stored = await s3.client().send(new GetObjectCommand({ Bucket: "bucket-1", Key: "changed/a.bin" }));
    expect(await stored.Body!.transformToString()).toBe("FIRST");
  });

  it.each([
    ["a small object (CRC32C)", "small.bin", Buffer.from("tampered"), { "trainctl-crc32c": crc32cOf(Buffer.from("original")) }, "CRC32C"],
    [
      "a ranged download (CRC32C of the parts combined)",
      "large.bin",
      Buffer.alloc(6 * 1024 * 1024, 1),
      { "trainctl-crc32c": crc32cOf(Buffer.alloc(6 * 1024 * 1024, 2)) },
      "CRC32C",
    ],
    [
      "an object an earlier trainctl recorded with SHA-256",
      "legacy.bin",
      Buffer.from("tampered"),
      { "trainctl-sha256": sha(Buffer.from("original")) },
      "SHA-256",
    ],
  ])("a corrupted object is detected on download and no bad copy is left: %s", async (_, name, body, metadata, algorithm) => {
    await s3.client().send(new PutObjectCommand({ Bucket: "bucket-1", Key: `bad/${name}`, Body: body, Metadata: metadata }));
    const out = path.join(work, "bad-out");
    const result = await trainctl(["transfer", `s3://bucket-1/bad/${name}`, out, "--json", "--multipart-threshold-mib", "5"], { env, cwd: work });
    expect(result.code).toBe(1);
    expect(result.stderr).toContain(`error: s3://bucket-1/bad/${name} is corrupt: its ${algorithm} is `);
    expect(existsSync(path.join(out, name))).toBe(false);
    expect(existsSync(path.join(out, `${name}.trainctl-partial`))).toBe(false);
  });

  it("an intact object an earlier trainctl recorded with SHA-256 downloads, and --sync recognises it", async () => {
    const body = Buffer.from("recorded the old way");
    await s3.client().send(new PutObjectCommand({ Bucket: "bucket-1", Key: "legacy-ok/file.txt", Body: body, Metadata: { "trainctl-sha256": sha(body) } }));
    const out = path.join(work, "legacy-out");
    const first = await trainctl(["transfer", "s3://bucket-1/legacy-ok/", out, "--json"], { env, cwd: work });
    expect(first.code, first.stderr).toBe(0);
    expect(readFileSync(path.join(out, "file.txt"))).toEqual(body);
    const again = await trainctl(["transfer", "s3://bucket-1/legacy-ok/", out, "--sync", "--json"], { env, cwd: work });
    expect(lastJson(again.stdout)).toMatchObject({ files: 0, skipped: 1 });
  });

  it("a transfer killed with SIGKILL resumes: byte-identical, and no completed part is sent again", async () => {
    const big = path.join(work, "resume", "huge.bin");
    mkdirSync(path.dirname(big), { recursive: true });
    writeFileSync(big, patterned(4 * 5 * 1024 * 1024, 7)); // four 5 MiB parts
    const journalDir = path.join(work, ".trainctl", "transfers");
    const journaledParts = () => {
      const files = existsSync(journalDir) ? readdirSync(journalDir).filter((f) => f.endsWith(".json")) : [];
      return files.length ? Object.keys(Object.values<any>(JSON.parse(readFileSync(path.join(journalDir, files[0]), "utf8")).uploads)[0]?.parts ?? {}) : [];
    };
    // The proxy lets the first part through and holds every later one unanswered until the kill: the
    // upload can neither finish nor get further first, however slow or fast the machine.
    let holding = true;
    let partsLetThrough = 0;
    const proxy = await faultProxy(new URL(s3.endpoint), (_n, req) =>
      holding && /[?&]partNumber=/.test(req.url ?? "") && partsLetThrough++ > 0 ? "silent" : undefined,
    );
    const args = [
      "transfer",
      big,
      "s3://bucket-1/resume/huge.bin",
      "--endpoint-url",
      proxy.endpoint,
      "--concurrency",
      "1",
      "--multipart-threshold-mib",
      "5",
      "--json",
    ];
    try {
      const child: ChildProcess = spawn(process.execPath, [COMPILED_CLI, ...args], { cwd: work, env: { ...process.env, ...env } });
      const exited = new Promise((resolve) => child.once("exit", resolve));
      // Kill once the journal records the part that went through.
      await new Promise<void>((resolve, reject) => {
        const poll = setInterval(() => {
          if (journaledParts().length === 0) return;
          clearInterval(poll);
          child.kill("SIGKILL");
          resolve();
        }, 20);
        child.once("exit", (code) => (clearInterval(poll), reject(new Error(`the upload exited (${code}) before a part was journaled`))));
      });
      await exited;
      const recorded = journaledParts();
      expect(recorded).toHaveLength(1);
      holding = false;
      const mark = s3.requests.length;
      const resumed = await trainctl(args, { env, cwd: work });
      expect(resumed.code, resumed.stderr).toBe(0);
      const again = s3.requests
        .slice(mark)
        .filter((r) => /partNumber=/.test(r))
        .map((r) => /partNumber=(\d+)/.exec(r)![1]);
      expect(again.sort()).toEqual(["1", "2", "3", "4"].filter((part) => !recorded.includes(part)));
    } finally {
      proxy.close();
    }
    const object = await s3.client().send(new GetObjectCommand({ Bucket: "bucket-1", Key: "resume/huge.bin" }));
    expect(sha(Buffer.from(await object.Body!.transformToByteArray()))).toBe(sha(readFileSync(big)));
    expect(existsSync(journalDir) ? readdirSync(journalDir).filter((f) => f.endsWith(".json")) : []).toEqual([]);
  });

  it("reads a file only when its request can go, so many mid-size files never sit in memory at once", async () => {
    const folder = path.join(work, "mid-size");
    mkdirSync(folder);
    for (let i = 0; i < 48; i++) writeFileSync(path.join(folder, `${i}.bin`), Buffer.alloc(6 * 1024 * 1024, i)); // 288 MiB, each one PUT
    const child = spawn(process.execPath, [COMPILED_CLI, "transfer", folder, "s3://bucket-1/mid-size/", "--concurrency", "4", "--json"], {
      cwd: work,
      env: { ...process.env, ...env },
    });
    // VmHWM is the process's peak RSS so far; the last reading before it exits is (close to) the peak of the run.
    let peakKiB = 0;
    const poll = setInterval(() => {
      const status = existsSync(`/proc/${child.pid}/status`) ? readFileSync(`/proc/${child.pid}/status`, "utf8") : "";
      peakKiB = Math.max(peakKiB, Number(/VmHWM:\s+(\d+)/.exec(status)?.[1] ?? 0));
    }, 20);
    let stdout = "";
    child.stdout.on("data", (d: Buffer) => (stdout += d.toString()));
    const code = await new Promise((resolve) => child.once("exit", resolve));
    clearInterval(poll);
    expect(code).toBe(0);
    expect(lastJson(stdout)).toMatchObject({ files: 48, bytes: 48 * 6 * 1024 * 1024 });
    expect(peakKiB / 1024).toBeGreaterThan(50); // the readings did happen
    expect(peakKiB / 1024).toBeLessThan(250); // all 48 bodies at once would be 288 MiB on top of the CLI's own ~100 MiB
  });

  it("a store that refuses the lean small-object requests costs one retry per run, not one per object", async () => {
    // Only the SDK sends amz-sdk-invocation-id: the proxy refuses every request without it.
    let refused = 0;
    const proxy = await faultProxy(new URL(s3.endpoint), (_, req) => (req.headers["amz-sdk-invocation-id"] ? undefined : (refused++, "refuse")));
    const folder = path.join(work, "refused");
    mkdirSync(folder, { recursive: true });
    for (let i = 0; i < 40; i++) writeFileSync(path.join(folder, `${i}.bin`), Buffer.alloc(1024, i));
    try {
      for (const [src, dst] of [
        [folder, "s3://bucket-1/refused/"],
        ["s3://bucket-1/refused/", path.join(work, "refused-back")],
      ]) {
        const before = refused;
        const result = await trainctl(["transfer", src, dst, "--json", "--endpoint-url", proxy.endpoint, "--concurrency", "1"], { env, cwd: work });
        expect(result.code, result.stderr).toBe(0);
        expect(lastJson(result.stdout)).toMatchObject({ files: 40, retries: 1 });
        expect(refused - before).toBe(1);
      }
      expect(tree(path.join(work, "refused-back"))).toEqual(tree(folder));
    } finally {
      proxy.close();
    }
  });

  it("completes through a proxy that answers 503 SlowDown and resets connections, and counts the retries", async () => {
    const proxy = await faultProxy(new URL(s3.endpoint), (n) => (n % 7 === 3 ? "slowdown" : n % 11 === 5 ? "reset" : undefined));
    const small = path.join(work, "faulty");
    mkdirSync(small, { recursive: true });
    for (let i = 0; i < 60; i++) writeFileSync(path.join(small, `${i}.bin`), Buffer.alloc(2048, i));
    try {
      const result = await trainctl(["transfer", small, "s3://bucket-1/faulty/", "--json", "--endpoint-url", proxy.endpoint, "--concurrency", "4"], {
        env: { ...env, TRAINCTL_S3_TIMEOUT_MS: "1500" },
        cwd: work,
      });
      expect(result.code, result.stderr).toBe(0);
      const summary = lastJson(result.stdout);
      expect(summary.files).toBe(60);
      expect(summary.retries).toBeGreaterThan(0);
      const back = path.join(work, "faulty-back");
      expect((await trainctl(["transfer", "s3://bucket-1/faulty/", back], { env, cwd: work })).code).toBe(0);
      expect(tree(back)).toEqual(tree(small));
    } finally {
      proxy.close();
    }
  });

  // Regression: the SDK's requestTimeout only warns by default and ends when the headers arrive, so a response
  // that went quiet (before the headers or mid-body) used to hang the transfer forever.
  it("completes through a proxy that stalls responses (no answer, or silence mid-body), and counts the retries", { timeout: 120_000 }, async () => {
    const stalled = new Set<string>();
    const once = (what: string) => {
      if (stalled.has(what)) return false;
      stalled.add(what);
      return true;
    };
    const proxy = await faultProxy(new URL(s3.endpoint), (_n, req) => {
      const objectGet = req.method === "GET" && !req.url?.includes("list-type");
      if (req.method === "PUT" && once("PUT")) return "silent";
      if (objectGet && req.headers.range && once("ranged GET")) return "mid-body";
      if (objectGet && !req.headers.range && once("whole GET")) return "mid-body";
      if (objectGet && once("silent GET")) return "silent";
      return undefined;
    });
    const folder = path.join(work, "stall");
    mkdirSync(folder, { recursive: true });
    for (let i = 0; i < 30; i++) writeFileSync(path.join(folder, `${i}.bin`), Buffer.alloc(4096, i));
    writeFileSync(path.join(folder, "ranged.bin"), patterned(3 * 1024 * 1024 + 5, 13));
    const stallEnv = { ...env, TRAINCTL_S3_TIMEOUT_MS: "2000" };
    const args = ["--json", "--endpoint-url", proxy.endpoint, "--concurrency", "4", "--multipart-threshold-mib", "1"];
    try {
      const up = await trainctlWithin(90_000, ["transfer", folder, "s3://bucket-1/stall/", ...args], stallEnv, work);
      expect(up.code, up.stderr).toBe(0);
      expect(lastJson(up.stdout)).toMatchObject({ files: 31 });
      expect(lastJson(up.stdout).retries).toBeGreaterThan(0);
      const back = path.join(work, "stall-back");
      const down = await trainctlWithin(90_000, ["transfer", "s3://bucket-1/stall/", back, ...args], stallEnv, work);
      expect(down.code, down.stderr).toBe(0);
      expect(lastJson(down.stdout).retries).toBeGreaterThanOrEqual(3);
      expect([...stalled].sort()).toEqual(["PUT", "ranged GET", "silent GET", "whole GET"]);
      expect(tree(back)).toEqual(tree(folder));
    } finally {
      proxy.close();
    }
  });

  it("two downloads into one folder at once both end correct: partial names are per run, never shared", async () => {
    const folder = path.join(work, "shared");
    mkdirSync(folder, { recursive: true });
    for (let i = 0; i < 100; i++) writeFileSync(path.join(folder, `${i}.bin`), Buffer.alloc(512 + i, i % 251));
    writeFileSync(path.join(folder, "ranged.bin"), patterned(3 * 1024 * 1024 + 7, 17));
    const up = await trainctl(["transfer", folder, "s3://bucket-1/shared/"], { env, cwd: work });
    expect(up.code, up.stderr).toBe(0);
    const out = path.join(work, "concurrent");
    const args = ["transfer", "s3://bucket-1/shared/", out, "--json", "--multipart-threshold-mib", "1", "--concurrency", "8"];
    const [a, b] = await Promise.all([trainctl(args, { env, cwd: work }), trainctl(args, { env, cwd: work })]);
    expect(a.code, a.stderr).toBe(0);
    expect(b.code, b.stderr).toBe(0);
    expect(tree(out)).toEqual(tree(folder)); // every file whole, and no partial file left
  });

  it("a symlink planted at the old shared partial name is never written through", async () => {
    const out = path.join(work, "planted-partial");
    const victim = path.join(work, "victim.txt");
    writeFileSync(victim, "precious");
    mkdirSync(out, { recursive: true });
    await s3.client().send(new PutObjectCommand({ Bucket: "bucket-1", Key: "planted/model.txt", Body: "downloaded" }));
    symlinkSync(victim, path.join(out, "model.txt.trainctl-partial"));
    const result = await trainctl(["transfer", "s3://bucket-1/planted/", out], { env, cwd: work });
    expect(result.code, result.stderr).toBe(0);
    expect(readFileSync(victim, "utf8")).toBe("precious");
    expect(readFileSync(path.join(out, "model.txt"), "utf8")).toBe("downloaded");
  });

  it.each([
    ["grows", (file: string) => appendFileSync(file, Buffer.alloc(1024, 7)), "grew from 12582912 to 12583936 bytes"],
    ["shrinks", (file: string) => truncateSync(file, 1024), "shrank from 12582912 to 1024 bytes"],
  ])("a source that %s during a multipart upload fails without being published", async (_what, change, detail) => {
    const file = path.join(work, "changing", "weights.bin");
    mkdirSync(path.dirname(file), { recursive: true });
    writeFileSync(file, Buffer.alloc(12 * 1024 * 1024, 3));
    let changed = false;
    // The hook: the first part request changes the file, then goes through.
    const proxy = await faultProxy(new URL(s3.endpoint), (_n, req) => {
      if (!changed && /partNumber=/.test(req.url ?? "")) {
        changed = true;
        change(file);
      }
      return undefined;
    });
    const mark = s3.requests.length;
    try {
      const result = await trainctl(
        ["transfer", file, "s3://bucket-1/changing/weights.bin", "--endpoint-url", proxy.endpoint, "--multipart-threshold-mib", "5", "--concurrency", "1"],
        { env, cwd: work },
      );
      expect(changed).toBe(true);
      expect(result.code).toBe(1);
      expect(result.stderr.trim().split("\n")).toEqual([
        `error: ${file} changed during the upload (${detail}); it was not published: run again once it is stable`,
      ]);
    } finally {
      proxy.close();
    }
    const sent = s3.requests.slice(mark);
    expect(sent.filter((r) => /^POST .*uploadId=/.test(r))).toEqual([]); // never completed
    expect(sent.filter((r) => /^DELETE .*uploadId=/.test(r))).toHaveLength(1); // aborted
    await expect(s3.client().send(new HeadObjectCommand({ Bucket: "bucket-1", Key: "changing/weights.bin" }))).rejects.toMatchObject({ name: "NotFound" });
  });

  it("a silent endpoint: one run deadline ends the retries (not 6 × 6 attempts), naming what was being retried", { timeout: 120_000 }, async () => {
    let seen = 0;
    const silent = createServer((req) => (seen++, req.resume())); // reads every request, answers none
    await new Promise<void>((resolve) => silent.listen(0, "127.0.0.1", resolve));
    const endpoint = `http://127.0.0.1:${(silent.address() as AddressInfo).port}`;
    const folder = path.join(work, "silent");
    mkdirSync(folder, { recursive: true });
    writeFileSync(path.join(folder, "a.bin"), "a");
    try {
      const result = await trainctlWithin(
        90_000,
        ["transfer", folder, "s3://bucket-1/silent/", "--endpoint-url", endpoint, "--concurrency", "1"],
        { ...env, TRAINCTL_S3_TIMEOUT_MS: "400" },
        work,
      );
      expect(result.code).toBe(1);
      expect(result.stderr.trim().split("\n")).toHaveLength(1);
      expect(result.stderr).toMatch(
        /^error: gave up retrying PUT s3:\/\/bucket-1\/silent\/a\.bin after \d attempt\(s\): the run's retry deadline passed \(last error: /,
      );
      // Each attempt is the lean PUT and the SDK's one; the old layers made 36 (6 × (1 + 5)).
      expect(seen).toBeGreaterThanOrEqual(2);
      expect(seen).toBeLessThanOrEqual(10);
    } finally {
      silent.closeAllConnections();
      silent.close();
    }
  });

  it("--delete --yes says how many objects it deleted; --dry-run how many it would", async () => {
    const folder = path.join(work, "mirror");
    mkdirSync(folder, { recursive: true });
    writeFileSync(path.join(folder, "keep.txt"), "keep");
    for (const key of ["mirror/old-1.txt", "mirror/old-2.txt", "mirror/sub/old-3.txt"])
      await s3.client().send(new PutObjectCommand({ Bucket: "bucket-1", Key: key, Body: "old" }));
    const dry = await trainctl(["transfer", folder, "s3://bucket-1/mirror/", "--delete", "--yes", "--dry-run"], { env, cwd: work });
    expect(dry.code, dry.stderr).toBe(0);
    expect(dry.stderr.trim().split("\n").at(-1)).toBe("would copy 1 file(s), 0.0 MiB; 0 already in place; would delete 3 object(s)");
    const real = await trainctl(["transfer", folder, "s3://bucket-1/mirror/", "--delete", "--yes"], { env, cwd: work });
    expect(real.code, real.stderr).toBe(0);
    expect(real.stderr).toMatch(/^copied 1 file\(s\), .*; 0 already in place; deleted 3 object\(s\); \d+ retries$/m);
  });

  it.each([
    ["a source that does not exist", ["/nope/nothing", "s3://bucket-1/x/"], /SRC: \/nope\/nothing does not exist/],
    ["a malformed s3:// URL", [".", "s3://Bad_Bucket/x"], /DST: malformed S3 URL/],
    ["--delete without --yes", [".", "s3://bucket-1/x/", "--delete"], /--delete removes objects at the destination: add --yes/],
    ["a destination inside the source", [".", "./inside"], /DST: \.\/inside is inside the source/],
  ])("bad input: %s exits 2 before anything moves", async (_what, args, message) => {
    const before = s3.requests.length;
    const result = await trainctl(["transfer", ...args], { env, cwd: source });
    expectUsageError(result, message);
    expect(s3.requests.length).toBe(before);
  });
});

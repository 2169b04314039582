import { execFileSync } from "node:child_process";
import { mkdtempSync, readFileSync } from "node:fs";
import { createServer as createHttpsServer } from "node:https";
import { type AddressInfo, type Socket, createServer } from "node:net";
import { tmpdir } from "node:os";
import * as path from "node:path";
import { PutObjectCommand, S3Client } from "@aws-sdk/client-s3";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { crc32cOf } from "../../scripts/transfer/digest";
import { type ByteRange, RAW_READ_BYTES, RawGet, parseHead } from "../../scripts/transfer/raw-get";
import { RequestSigning } from "../../scripts/transfer/signed-request";
import { type S3rverHandle, TEST_CREDENTIALS, startS3rver } from "../helpers/s3rver";

/** A hang guard only: a loaded machine can take seconds for a loopback request. */
const TIMEOUT_MS = 30_000;

const patterned = (size: number, step: number) => Buffer.from(Array.from({ length: size }, (_, i) => (i * step + 3) % 256));

const signingFor = (endpoint: string) =>
  new RequestSigning(new S3Client({ endpoint, region: "us-east-1", forcePathStyle: true, credentials: TEST_CREDENTIALS }));

/** Runs a GET, copying every view (the buffer behind it is reused), and checking no view is longer than one read. */
async function fetchRange(raw: RawGet, key: string, range: ByteRange, wait?: (view: number) => Promise<void> | undefined) {
  const views: Buffer[] = [];
  const metadata = await raw.get("bucket", key, range, (view) => {
    expect(view.length).toBeLessThanOrEqual(RAW_READ_BYTES);
    views.push(Buffer.from(view));
    return wait?.(views.length);
  });
  return { body: Buffer.concat(views), metadata };
}

describe("parseHead: only the 206 that was asked for", () => {
  const range = { start: 10, end: 20, total: 100 };
  const head = (status: string, ...lines: string[]) => [status, ...lines].join("\r\n");
  const good = ["Content-Range: bytes 10-19/100", "Content-Length: 10"];

  it("accepts it, with the user metadata and whether the connection stays open", () => {
    expect(parseHead(head("HTTP/1.1 206 Partial Content", ...good, "X-Amz-Meta-Trainctl-Crc32c: AAAAAA==", "ETag: x"), range)).toEqual({
      metadata: { "trainctl-crc32c": "AAAAAA==" },
      keepAlive: true,
    });
    expect(parseHead(head("HTTP/1.1 206 Partial Content", ...good, "Connection: close"), range).keepAlive).toBe(false);
    expect(parseHead(head("HTTP/1.0 206 Partial Content", ...good), range).keepAlive).toBe(false);
  });

  it.each([
    ["another status", head("HTTP/1.1 200 OK", ...good), /HTTP 200, expected 206/],
    ["a malformed status line", head("HTTP/2 206", ...good), /malformed status line/],
    ["a malformed header line", head("HTTP/1.1 206 Partial Content", ...good, "no colon here"), /malformed header line/],
    ["a folded header line", head("HTTP/1.1 206 Partial Content", ...good, " folded"), /malformed header line/],
    ["a transfer coding", head("HTTP/1.1 206 Partial Content", ...good, "Transfer-Encoding: chunked"), /Transfer-Encoding chunked/],
    ["no Content-Length", head("HTTP/1.1 206 Partial Content", good[0]), /Content-Length undefined, expected 10/],
    ["another Content-Length", head("HTTP/1.1 206 Partial Content", good[0], "Content-Length: 11"), /Content-Length 11, expected 10/],
    ["Content-Length twice", head("HTTP/1.1 206 Partial Content", ...good, "Content-Length: 10"), /content-length twice/],
    ["another range", head("HTTP/1.1 206 Partial Content", "Content-Range: bytes 0-9/100", good[1]), /Content-Range bytes 0-9\/100, expected bytes 10-19\/100/],
    ["another object size", head("HTTP/1.1 206 Partial Content", "Content-Range: bytes 10-19/101", good[1]), /Content-Range/],
  ])("refuses %s", (_, text, error) => {
    expect(() => parseHead(text, range)).toThrow(error);
  });
});

describe("RawGet against s3rver", () => {
  let s3: S3rverHandle;
  const body = patterned(3 * 1024 * 1024 + 11, 7);
  beforeAll(async () => {
    s3 = await startS3rver(["bucket"]);
    await s3.client().send(new PutObjectCommand({ Bucket: "bucket", Key: "dir/ünï big.bin", Body: body, Metadata: { "trainctl-crc32c": crc32cOf(body) } }));
  });
  afterAll(async () => s3?.stop());

  it("reads ranges byte for byte, with the metadata, under a key that needs escaping", async () => {
    const raw = new RawGet(signingFor(s3.endpoint), TIMEOUT_MS, 4);
    const parts: Buffer[] = [];
    for (let start = 0; start < body.length; start += 1024 * 1024) {
      const range = { start, end: Math.min(body.length, start + 1024 * 1024), total: body.length };
      const got = await fetchRange(raw, "dir/ünï big.bin", range);
      expect(got.metadata).toEqual({ "trainctl-crc32c": crc32cOf(body) });
      parts.push(got.body);
    }
    expect(crc32cOf(Buffer.concat(parts))).toBe(crc32cOf(body));
    expect(Buffer.concat(parts).equals(body)).toBe(true);
    raw.close();
  });

  it("pauses the socket while the consumer waits, and loses nothing", async () => {
    const raw = new RawGet(signingFor(s3.endpoint), TIMEOUT_MS, 4);
    const range = { start: 5, end: body.length, total: body.length };
    const got = await fetchRange(raw, "dir/ünï big.bin", range, (n) => (n % 3 === 0 ? new Promise((resolve) => setTimeout(resolve, 5)) : undefined));
    expect(got.body.equals(body.subarray(5))).toBe(true);
    raw.close();
  });

  it("fails on a store that refuses the request (403 for an unknown key)", async () => {
    const signing = new RequestSigning(
      new S3Client({ endpoint: s3.endpoint, region: "us-east-1", forcePathStyle: true, credentials: { accessKeyId: "UNKNOWN", secretAccessKey: "x" } }),
    );
    await expect(fetchRange(new RawGet(signing, TIMEOUT_MS, 4), "dir/ünï big.bin", { start: 0, end: 10, total: body.length })).rejects.toThrow(
      /HTTP 403, expected 206/,
    );
  });
});

describe("RawGet over TLS", () => {
  const work = mkdtempSync(path.join(tmpdir(), "trainctl-raw-tls-"));
  const body = patterned(5 * 1024 * 1024, 11);
  let endpoint = "";
  let ca: Buffer;
  let close = () => {};
  beforeAll(async () => {
    const [key, cert] = [path.join(work, "key.pem"), path.join(work, "cert.pem")];
    execFileSync(
      "openssl",
      ["req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", key, "-out", cert, "-days", "1"].concat([
        "-subj",
        "/CN=localhost",
        "-addext",
        "subjectAltName=DNS:localhost",
      ]),
      { stdio: "ignore" },
    );
    ca = readFileSync(cert);
    const server = createHttpsServer({ key: readFileSync(key), cert: ca }, (req, res) => {
      const [, from, to] = /^bytes=(\d+)-(\d+)$/.exec(req.headers.range ?? "") ?? [];
      const [start, end] = [Number(from), Number(to) + 1];
      res.writeHead(206, { "content-length": end - start, "content-range": `bytes ${start}-${end - 1}/${body.length}`, "x-amz-meta-origin": "tls" });
      res.end(body.subarray(start, end));
    });
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
    endpoint = `https://localhost:${(server.address() as AddressInfo).port}`;
    close = () => {
      server.closeAllConnections();
      server.close();
    };
  });
  afterAll(() => close());

  it("reads a range over HTTPS from a server whose certificate it is given", async () => {
    const raw = new RawGet(signingFor(endpoint), TIMEOUT_MS, 4, { ca });
    const got = await fetchRange(raw, "big.bin", { start: 1, end: body.length, total: body.length });
    expect(got.body.equals(body.subarray(1))).toBe(true);
    expect(got.metadata).toEqual({ origin: "tls" });
    raw.close();
  });

  it("verifies the certificate: a self-signed one it was not given is refused", async () => {
    const raw = new RawGet(signingFor(endpoint), TIMEOUT_MS, 4);
    await expect(fetchRange(raw, "big.bin", { start: 0, end: 10, total: body.length })).rejects.toThrow(/self.signed certificate/);
  });
});

/**
 * A loopback server speaking raw bytes: `answer` gets each request (its head, as text), the socket and how many
 * requests that socket carried before this one.
 */
async function scriptedServer(answer: (request: string, socket: Socket, earlier: number) => void) {
  const sockets = new Set<Socket>();
  let connections = 0;
  let requests = 0;
  const server = createServer((socket) => {
    connections += 1;
    sockets.add(socket);
    socket.setNoDelay(true);
    let pending = "";
    let earlier = 0;
    socket.on("data", (chunk) => {
      pending += chunk.toString("latin1");
      let end: number;
      while ((end = pending.indexOf("\r\n\r\n")) >= 0) {
        const request = pending.slice(0, end);
        pending = pending.slice(end + 4);
        requests += 1;
        answer(request, socket, earlier++);
      }
    });
    socket.on("error", () => {});
    socket.on("close", () => sockets.delete(socket));
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  return {
    endpoint: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    connections: () => connections,
    requests: () => requests,
    close: () => {
      for (const s of sockets) s.destroy();
      server.close();
    },
  };
}

describe("RawGet against a server that misbehaves", () => {
  const body = patterned(1000, 3);
  const range = { start: 100, end: 600, total: body.length };
  const partial = body.subarray(100, 600);
  const head = (...lines: string[]) => `${lines.join("\r\n")}\r\n\r\n`;
  const good = (extra: string[] = []) => head("HTTP/1.1 206 Partial Content", "Content-Range: bytes 100-599/1000", "Content-Length: 500", ...extra);
  const servers: { close: () => void }[] = [];
  afterAll(() => servers.forEach((s) => s.close()));
  const against = async (answer: Parameters<typeof scriptedServer>[0], timeoutMs = TIMEOUT_MS) => {
    const server = await scriptedServer(answer);
    servers.push(server);
    return { server, raw: new RawGet(signingFor(server.endpoint), timeoutMs, 4) };
  };

  it.each([
    ["200 instead of 206", head("HTTP/1.1 200 OK", "Content-Length: 1000") + body.toString("latin1"), /HTTP 200, expected 206/],
    [
      "a chunked body",
      head("HTTP/1.1 206 Partial Content", "Content-Range: bytes 100-599/1000", "Transfer-Encoding: chunked") + "1f4\r\n",
      /Transfer-Encoding/,
    ],
    ["a wrong Content-Range", head("HTTP/1.1 206 Partial Content", "Content-Range: bytes 0-499/1000", "Content-Length: 500"), /Content-Range/],
    ["a malformed header", good(["Bad Header"]), /malformed header line/],
    ["a body longer than announced", good() + partial.toString("latin1") + "x", /more than the 500 bytes announced/],
  ])("fails on %s", async (_, answer, error) => {
    const { raw } = await against((_request, socket) => socket.write(answer, "latin1"));
    await expect(fetchRange(raw, "k", range)).rejects.toThrow(error);
  });

  it("fails on a short body and a closed connection", async () => {
    const { raw } = await against((_request, socket) => socket.end(good() + partial.subarray(0, 200).toString("latin1"), "latin1"));
    await expect(fetchRange(raw, "k", range)).rejects.toThrow(/connection closed after \d+ bytes/);
  });

  it("reads a head that arrives one byte per read", async () => {
    let seen = "";
    const drip = async (socket: Socket) => {
      for (const byte of good(["x-amz-meta-trainctl-crc32c: abc="])) {
        socket.write(byte, "latin1");
        await new Promise((resolve) => setTimeout(resolve, 1));
      }
      socket.write(partial);
    };
    const { raw } = await against((request, socket) => {
      seen = request;
      void drip(socket);
    });
    const got = await fetchRange(raw, "k", range);
    expect(got.body.equals(partial)).toBe(true);
    expect(got.metadata).toEqual({ "trainctl-crc32c": "abc=" });
    expect(seen).toMatch(/^GET \/bucket\/k HTTP\/1\.1\r\n/);
    expect(seen).toContain("\r\nrange: bytes=100-599\r\n");
  });

  it("retries once, on a fresh connection, a request whose pooled connection the server had closed", async () => {
    const { server, raw } = await against((_request, socket, earlier) => {
      if (earlier === 0) socket.write(Buffer.concat([Buffer.from(good(), "latin1"), partial]));
      else socket.end(); // the keep-alive race: the server closes as the next request arrives
    });
    expect((await fetchRange(raw, "k", range)).body.equals(partial)).toBe(true);
    expect((await fetchRange(raw, "k", range)).body.equals(partial)).toBe(true);
    expect([server.connections(), server.requests()]).toEqual([2, 3]);
  });

  it("does not retry a fresh connection closed before any answer", async () => {
    const { server, raw } = await against((_request, socket) => socket.end());
    await expect(fetchRange(raw, "k", range)).rejects.toThrow(/connection closed after 0 bytes/);
    expect(server.connections()).toBe(1);
  });

  it("sends the next request on the same connection once an answer is complete", async () => {
    const { server, raw } = await against((_request, socket) => socket.write(Buffer.concat([Buffer.from(good(), "latin1"), partial])));
    for (let i = 0; i < 3; i++) expect((await fetchRange(raw, "k", range)).body.equals(partial)).toBe(true);
    expect([server.connections(), server.requests()]).toEqual([1, 3]);
  });

  it("keeps no connection the server said it would close", async () => {
    const { server, raw } = await against((_request, socket) => socket.write(Buffer.concat([Buffer.from(good(["Connection: close"]), "latin1"), partial])));
    await fetchRange(raw, "k", range);
    await fetchRange(raw, "k", range);
    expect(server.connections()).toBe(2);
  });

  it("fails a connection that stalls mid-body within the stall timeout", async () => {
    const { raw } = await against((_request, socket) => socket.write(good() + partial.subarray(0, 100).toString("latin1"), "latin1"), 300);
    const started = Date.now();
    await expect(fetchRange(raw, "k", range)).rejects.toThrow(/no bytes from 127\.0\.0\.1:\d+ for 300 ms/);
    expect(Date.now() - started).toBeLessThan(5_000);
  });
});

import { Agent as HttpAgent, type IncomingMessage, request as httpRequest } from "node:http";
import { Agent as HttpsAgent, request as httpsRequest } from "node:https";
import { GetObjectCommand, type S3Client } from "@aws-sdk/client-s3";
import { getEndpointFromInstructions } from "@smithy/core/endpoints";
import { SignatureV4 } from "@smithy/signature-v4";
import type { HttpRequest } from "@smithy/types";

/** SHA-256 of an empty body, which a signed GET declares. */
const EMPTY_SHA256 = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855";

/** A small object as it arrived: the whole body and its x-amz-meta-* values. */
export interface SmallObject {
  body: Buffer;
  metadata: Record<string, string>;
}

/**
 * Plain GET and PUT of small objects: one signed HTTP request each, with the SDK's own SigV4 signer,
 * endpoint rules and credentials. The SDK's per-request middleware costs about five times the CPU of
 * the request itself, which is the whole cost of a small object. Any answer but 2xx, and any network
 * error, is thrown: the caller asks the SDK again, which owns error parsing and its retry strategy.
 */
export class SmallObjects {
  private readonly endpoints = new Map<string, Promise<{ url: URL; signingRegion?: string }>>();
  private readonly signer: SignatureV4;
  // Idle keep-alive sockets are unref'd by the agents, so they never hold the process open.
  private readonly http = new HttpAgent({ keepAlive: true });
  private readonly https = new HttpsAgent({ keepAlive: true });

  constructor(
    private readonly client: S3Client,
    private readonly timeoutMs: number,
  ) {
    const config = client.config;
    this.signer = new SignatureV4({ credentials: config.credentials, region: config.region, service: "s3", sha256: config.sha256, uriEscapePath: false, applyChecksum: false });
  }

  async get(bucket: string, key: string): Promise<SmallObject> {
    const response = await this.send("GET", bucket, key, { "x-amz-content-sha256": EMPTY_SHA256 });
    const body = await collect(response);
    const length = Number(response.headers["content-length"]);
    if (body.length !== length) throw new Error(`expected ${length} bytes, received ${body.length}`);
    const metadata: Record<string, string> = {};
    for (const [name, value] of Object.entries(response.headers)) {
      if (name.startsWith("x-amz-meta-") && typeof value === "string") metadata[name.slice(11)] = value;
    }
    return { body, metadata };
  }

  /** `sha256` is the body's hex digest: the request is signed with it, so S3 rejects bytes that arrive different. */
  async put(bucket: string, key: string, body: Buffer, sha256: string, metadata: Record<string, string>): Promise<void> {
    const headers: Record<string, string> = { "content-length": String(body.length), "x-amz-content-sha256": sha256 };
    for (const [name, value] of Object.entries(metadata)) headers[`x-amz-meta-${name}`] = value;
    await collect(await this.send("PUT", bucket, key, headers, body));
  }

  private async send(method: string, bucket: string, key: string, headers: Record<string, string>, body?: Buffer): Promise<IncomingMessage> {
    const { url: base, signingRegion } = await this.endpoint(bucket);
    const path = `${base.pathname.replace(/\/$/, "")}/${key.split("/").map(encodeSegment).join("/")}`;
    const unsigned: HttpRequest = { method, protocol: base.protocol, hostname: base.hostname, port: base.port ? Number(base.port) : undefined, path, query: {}, headers: { ...headers, host: base.host } };
    const signed = await this.signer.sign(unsigned, { signingRegion });
    const secure = base.protocol === "https:";
    return new Promise((resolve, reject) => {
      const request = (secure ? httpsRequest : httpRequest)(
        { method, host: base.hostname, port: unsigned.port, path, headers: signed.headers, agent: secure ? this.https : this.http, timeout: this.timeoutMs },
        (response) => {
          if (response.statusCode !== undefined && response.statusCode >= 200 && response.statusCode < 300) return resolve(response);
          response.resume();
          reject(new Error(`${method} s3://${bucket}/${key}: HTTP ${response.statusCode}`));
        },
      );
      request.on("timeout", () => request.destroy(new Error(`${method} s3://${bucket}/${key}: no answer in ${this.timeoutMs} ms`)));
      request.on("error", reject);
      request.end(body);
    });
  }

  /** The bucket's endpoint as the SDK resolves it (path style or virtual host, custom endpoint, region). */
  private endpoint(bucket: string): Promise<{ url: URL; signingRegion?: string }> {
    let resolved = this.endpoints.get(bucket);
    if (!resolved) {
      resolved = getEndpointFromInstructions({ Bucket: bucket }, GetObjectCommand, this.client.config).then((endpoint) => ({
        url: new URL(endpoint.url.href),
        signingRegion: (endpoint.properties?.authSchemes as { signingRegion?: string }[] | undefined)?.[0]?.signingRegion,
      }));
      this.endpoints.set(bucket, resolved);
    }
    return resolved;
  }
}

/** An S3 key segment as the SDK escapes it: RFC 3986, so `!'()*` too. */
const encodeSegment = (segment: string) => encodeURIComponent(segment).replace(/[!'()*]/g, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`);

function collect(response: IncomingMessage): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    response.on("data", (chunk: Buffer) => chunks.push(chunk));
    response.on("end", () => resolve(Buffer.concat(chunks)));
    response.on("error", reject);
    response.on("aborted", () => reject(new Error("connection closed mid-body")));
  });
}

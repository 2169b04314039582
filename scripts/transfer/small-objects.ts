import { Agent as HttpAgent, type IncomingMessage, request as httpRequest } from "node:http";
import { Agent as HttpsAgent, request as httpsRequest } from "node:https";
import type { S3Client } from "@aws-sdk/client-s3";
import { EMPTY_SHA256, RequestSigning, userMetadata } from "./signed-request";

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
  readonly signing: RequestSigning;
  // Idle keep-alive sockets are unref'd by the agents, so they never hold the process open.
  private readonly http = new HttpAgent({ keepAlive: true });
  private readonly https = new HttpsAgent({ keepAlive: true });

  constructor(
    client: S3Client,
    private readonly timeoutMs: number,
  ) {
    this.signing = new RequestSigning(client);
  }

  async get(bucket: string, key: string): Promise<SmallObject> {
    const response = await this.send("GET", bucket, key, { "x-amz-content-sha256": EMPTY_SHA256 });
    const body = await collect(response);
    const length = Number(response.headers["content-length"]);
    if (body.length !== length) throw new Error(`expected ${length} bytes, received ${body.length}`);
    return { body, metadata: userMetadata(response.headers) };
  }

  /** An object's x-amz-meta-* values, from one HEAD. */
  async head(bucket: string, key: string): Promise<Record<string, string>> {
    const response = await this.send("HEAD", bucket, key, { "x-amz-content-sha256": EMPTY_SHA256 });
    await collect(response);
    return userMetadata(response.headers);
  }

  /** `sha256` is the body's hex digest: the request is signed with it, so S3 rejects bytes that arrive different. */
  async put(bucket: string, key: string, body: Buffer, sha256: string, metadata: Record<string, string>): Promise<void> {
    const headers: Record<string, string> = { "content-length": String(body.length), "x-amz-content-sha256": sha256 };
    for (const [name, value] of Object.entries(metadata)) headers[`x-amz-meta-${name}`] = value;
    await collect(await this.send("PUT", bucket, key, headers, body));
  }

  /** One ListObjectsV2 page (up to 1,000 keys) under `prefix`, parsed without the SDK's XML deserializer. */
  async list(bucket: string, prefix: string, continuationToken?: string): Promise<ListPage> {
    const query: Record<string, string> = { "list-type": "2", prefix };
    if (continuationToken) query["continuation-token"] = continuationToken;
    const response = await this.send("GET", bucket, undefined, { "x-amz-content-sha256": EMPTY_SHA256 }, undefined, query);
    return parseListPage((await collect(response)).toString("utf8"));
  }

  private async send(
    method: string,
    bucket: string,
    key: string | undefined,
    headers: Record<string, string>,
    body?: Buffer,
    query?: Record<string, string>,
  ): Promise<IncomingMessage> {
    const { endpoint, target, headers: signed } = await this.signing.sign(method, bucket, key, headers, query);
    const secure = endpoint.protocol === "https:";
    return new Promise((resolve, reject) => {
      const request = (secure ? httpsRequest : httpRequest)(
        {
          method,
          host: endpoint.hostname,
          port: endpoint.port ? Number(endpoint.port) : undefined,
          path: target,
          headers: signed,
          agent: secure ? this.https : this.http,
          timeout: this.timeoutMs,
        },
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
}

export interface ListPage {
  contents: { key: string; size: number; etag?: string }[];
  /** Set when more keys follow: the token for the next page. */
  next?: string;
}

const XML_ENTITIES: Record<string, string> = { amp: "&", lt: "<", gt: ">", quot: '"', apos: "'" };
const unescapeXml = (text: string) =>
  text.replace(/&(#x[0-9a-fA-F]+|#[0-9]+|[a-z]+);/g, (whole, name: string) => {
    if (name[0] !== "#") {
      if (!(name in XML_ENTITIES)) throw new Error(`unknown XML entity ${whole}`);
      return XML_ENTITIES[name];
    }
    return String.fromCodePoint(name[1] === "x" ? parseInt(name.slice(2), 16) : Number(name.slice(1)));
  });

/**
 * A ListObjectsV2 answer: each Contents' Key, Size and ETag, IsTruncated and NextContinuationToken. Anything it does not
 * expect (CDATA, a Contents without Key or Size, a count that differs from KeyCount, a truncated page without a token)
 * throws, and the caller asks the SDK instead.
 */
export function parseListPage(xml: string): ListPage {
  if (!xml.includes("<ListBucketResult") || xml.includes("<![CDATA[")) throw new Error("not a plain ListBucketResult");
  const field = (element: string, name: string) => {
    const match = new RegExp(`<${name}>([^<]*)</${name}>`).exec(element);
    return match ? unescapeXml(match[1]) : undefined;
  };
  const contents: ListPage["contents"] = [];
  for (const [, element] of xml.matchAll(/<Contents>([\s\S]*?)<\/Contents>/g)) {
    const key = field(element, "Key");
    const size = field(element, "Size");
    if (key === undefined || size === undefined || !/^\d+$/.test(size)) throw new Error("a Contents entry without Key or Size");
    const etag = field(element, "ETag");
    contents.push(etag === undefined ? { key, size: Number(size) } : { key, size: Number(size), etag });
  }
  const outside = xml.replace(/<Contents>[\s\S]*?<\/Contents>/g, "");
  const keyCount = field(outside, "KeyCount");
  if (keyCount !== undefined && Number(keyCount) !== contents.length) throw new Error(`KeyCount ${keyCount}, but ${contents.length} Contents`);
  if (outside.includes("<CommonPrefixes>")) throw new Error("CommonPrefixes in a listing without a delimiter");
  const truncated = field(outside, "IsTruncated") === "true";
  const next = field(outside, "NextContinuationToken");
  if (truncated && !next) throw new Error("a truncated page without NextContinuationToken");
  return truncated ? { contents, next } : { contents };
}

function collect(response: IncomingMessage): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    response.on("data", (chunk: Buffer) => chunks.push(chunk));
    response.on("end", () => resolve(Buffer.concat(chunks)));
    response.on("error", reject);
    response.on("aborted", () => reject(new Error("connection closed mid-body")));
  });
}

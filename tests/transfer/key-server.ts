import { createHash } from "node:crypto";
import { type AwsReply, type AwsServerHandle, startAwsServer } from "../helpers/aws-server";
import { crc32cOf } from "../../scripts/transfer/digest";

/**
 * A loopback S3 endpoint (path style) that serves exactly the keys it is given, whatever they hold: ListObjectsV2,
 * HEAD and GET, each object carrying trainctl's CRC32C. Hostile keys (`..`, absolute, control characters) are served
 * as S3 would list them; s3rver cannot be used for those, as it normalises keys and writes outside its folder.
 * Any other request (PUT, POST, DELETE) is answered 200 and stays in `requests`, so a test can prove none was sent.
 */
export async function startKeyServer(bucket: string, objects: Map<string, string>): Promise<AwsServerHandle> {
  return startAwsServer((req): AwsReply => {
    const url = new URL(req.url, "http://loopback");
    const [, first, ...rest] = url.pathname.split("/");
    if (first !== bucket) return { status: 404, body: "<Error><Code>NoSuchBucket</Code></Error>" };
    if (req.method === "GET" && url.searchParams.get("list-type") === "2") {
      const prefix = url.searchParams.get("prefix") ?? "";
      const keys = [...objects.keys()].filter((k) => k.startsWith(prefix)).sort();
      const contents = keys.map(
        (k) =>
          `<Contents><Key>${xmlText(k)}</Key><Size>${Buffer.byteLength(objects.get(k)!)}</Size><ETag>"${etag(objects.get(k)!)}"</ETag><LastModified>2026-01-01T00:00:00.000Z</LastModified></Contents>`,
      );
      return {
        body: `<?xml version="1.0" encoding="UTF-8"?><ListBucketResult xmlns="http://s3.amazonaws.com/doc/2006-03-01/"><Name>${bucket}</Name><Prefix>${xmlText(prefix)}</Prefix><KeyCount>${keys.length}</KeyCount><MaxKeys>1000</MaxKeys><IsTruncated>false</IsTruncated>${contents.join("")}</ListBucketResult>`,
      };
    }
    const key = rest.map(decodeURIComponent).join("/");
    const body = objects.get(key);
    if ((req.method === "GET" || req.method === "HEAD") && body !== undefined) {
      const bytes = Buffer.from(body);
      const headers = {
        "content-type": "application/octet-stream",
        "content-length": String(bytes.length),
        etag: `"${etag(body)}"`,
        "last-modified": "Thu, 01 Jan 2026 00:00:00 GMT",
        "x-amz-meta-trainctl-crc32c": crc32cOf(bytes),
      };
      // A satisfiable `bytes=first-last` is answered as S3 answers it: 206 with that stretch and its Content-Range.
      const range = /^bytes=(\d+)-(\d*)$/.exec(String(req.headers.range ?? ""));
      if (req.method === "GET" && range && Number(range[1]) < bytes.length) {
        const first = Number(range[1]);
        const last = Math.min(range[2] ? Number(range[2]) : bytes.length - 1, bytes.length - 1);
        const part = bytes.subarray(first, last + 1);
        return {
          status: 206,
          headers: { ...headers, "content-length": String(part.length), "content-range": `bytes ${first}-${last}/${bytes.length}` },
          body: part,
        };
      }
      return { headers, body: req.method === "GET" ? body : "" };
    }
    if (req.method === "GET" || req.method === "HEAD")
      return {
        status: 404,
        headers: { "content-type": "application/xml" },
        body: req.method === "GET" ? "<Error><Code>NoSuchKey</Code><Message>no such key</Message></Error>" : "",
      };
    return { body: "" };
  });
}

const etag = (body: string) => createHash("md5").update(body).digest("hex");
const xmlText = (text: string) =>
  text
    .replace(/&/g, "&amp;")
    .replace(/</g, "&lt;")
    .replace(/>/g, "&gt;")
    // eslint-disable-next-line no-control-regex -- XML 1.0 cannot hold C0 controls raw: they become character references
    .replace(/[\u0000-\u001f]/g, (c) => `&#${c.charCodeAt(0)};`);

/** The requests that would change the store. */
export const writes = (server: AwsServerHandle) => server.requests.filter((r) => !["GET", "HEAD"].includes(r.method));

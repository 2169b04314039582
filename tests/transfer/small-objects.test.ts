import { GetObjectCommand, ListObjectsV2Command, PutObjectCommand, S3Client } from "@aws-sdk/client-s3";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { SmallObjects, parseListPage } from "../../scripts/transfer/small-objects";
import { type S3rverHandle, startS3rver } from "../helpers/s3rver";
import { createHash } from "node:crypto";

const sha = (b: Buffer) => createHash("sha256").update(b).digest("hex");
/** A hang guard only: a loaded CI machine can take seconds for a loopback request. */
const REQUEST_TIMEOUT_MS = 30_000;

describe("SmallObjects: signed GET and PUT without the SDK's middleware", () => {
  let s3: S3rverHandle;
  beforeAll(async () => {
    s3 = await startS3rver(["small-bucket"]);
  });
  afterAll(async () => s3?.stop());

  it("puts an object the SDK reads back, metadata included, under a key that needs escaping", async () => {
    const small = new SmallObjects(s3.client(), REQUEST_TIMEOUT_MS);
    const key = "a dir/ünï (1)!'*~/file+name=x&y.bin";
    const body = Buffer.from("payload bytes");
    await small.put("small-bucket", key, body, sha(body), { "trainctl-sha256": sha(body) });
    const back = await s3.client().send(new GetObjectCommand({ Bucket: "small-bucket", Key: key }));
    expect(Buffer.from(await back.Body!.transformToByteArray())).toEqual(body);
    expect(back.Metadata).toEqual({ "trainctl-sha256": sha(body) });
    // The path on the wire (which SigV4 signs as it is) is escaped exactly as the SDK escapes it.
    const [ours, sdks] = s3.requests.slice(-2).map((r) => r.split(" ")[1].split("?")[0]);
    expect(ours).toBe(sdks);
  });

  it("gets an object the SDK wrote, with its metadata", async () => {
    const body = Buffer.alloc(4096, 7);
    await s3.client().send(new PutObjectCommand({ Bucket: "small-bucket", Key: "sdk/written.bin", Body: body, Metadata: { origin: "sdk" } }));
    const got = await new SmallObjects(s3.client(), REQUEST_TIMEOUT_MS).get("small-bucket", "sdk/written.bin");
    expect(got.body).toEqual(body);
    expect(got.metadata).toEqual({ origin: "sdk" });
  });

  it("heads an object for its metadata, as the SDK's HeadObject reads it", async () => {
    await s3.client().send(
      new PutObjectCommand({
        Bucket: "small-bucket",
        Key: "sdk/headed.bin",
        Body: Buffer.alloc(10),
        Metadata: { "trainctl-crc32c": "AAAAAA==", other: "x" },
      }),
    );
    expect(await new SmallObjects(s3.client(), REQUEST_TIMEOUT_MS).head("small-bucket", "sdk/headed.bin")).toEqual({
      "trainctl-crc32c": "AAAAAA==",
      other: "x",
    });
    await expect(new SmallObjects(s3.client(), REQUEST_TIMEOUT_MS).head("small-bucket", "sdk/missing.bin")).rejects.toThrow(/HTTP 404/);
  });

  it("throws on any answer but 2xx (missing key, unknown access key), so the caller can ask the SDK", async () => {
    await expect(new SmallObjects(s3.client(), REQUEST_TIMEOUT_MS).get("small-bucket", "no/such.bin")).rejects.toThrow(/HTTP 404/);
    const unknownKey = new S3Client({
      endpoint: s3.endpoint,
      region: "us-east-1",
      forcePathStyle: true,
      credentials: { accessKeyId: "UNKNOWN", secretAccessKey: "S3RVER" },
    });
    await expect(new SmallObjects(unknownKey, 5_000).get("small-bucket", "sdk/written.bin")).rejects.toThrow(/HTTP 403/);
  });

  it("lists what the SDK lists, keys that XML and URLs must escape included", async () => {
    const keys = ["list/a & b <c> 'd' \"e\".bin", "list/ünï (1)!*~/x+y=z.bin", "list/plain.bin", "other/not-listed.bin"];
    for (const [i, key] of keys.entries()) await s3.client().send(new PutObjectCommand({ Bucket: "small-bucket", Key: key, Body: Buffer.alloc(i * 10, 1) }));
    const page = await new SmallObjects(s3.client(), REQUEST_TIMEOUT_MS).list("small-bucket", "list/");
    const sdk = await s3.client().send(new ListObjectsV2Command({ Bucket: "small-bucket", Prefix: "list/" }));
    expect(page.contents).toEqual(sdk.Contents!.map((o) => ({ key: o.Key, size: o.Size, etag: o.ETag })));
    expect(page.contents.map((o) => o.key).sort()).toEqual(keys.slice(0, 3).sort());
    expect(page.next).toBeUndefined();
  });
});

describe("parseListPage: a ListObjectsV2 answer, or an error so the SDK is asked", () => {
  const page = (inner: string) =>
    `<?xml version="1.0" encoding="UTF-8"?><ListBucketResult xmlns="http://s3.amazonaws.com/doc/2006-03-01/"><Name>b</Name>${inner}</ListBucketResult>`;
  const entry = (key: string, size: number) =>
    `<Contents><Key>${key}</Key><LastModified>2026-12-02T00:00:00.000Z</LastModified><ETag>&quot;x&quot;</ETag><Size>${size}</Size><StorageClass>STANDARD</StorageClass></Contents>`;

  it("reads keys (entities decoded), sizes, and the next page's token", () => {
    const xml = page(
      `<KeyCount>2</KeyCount><IsTruncated>true</IsTruncated>${entry("a&amp;b&lt;&#233;&#x1F600;", 5)}${entry("k/2", 4096)}<NextContinuationToken>t/1+=</NextContinuationToken>`,
    );
    expect(parseListPage(xml)).toEqual({
      contents: [
        { key: "a&b<é😀", size: 5, etag: '"x"' },
        { key: "k/2", size: 4096, etag: '"x"' },
      ],
      next: "t/1+=",
    });
  });

  it("a last page has no next token, and an empty one no contents", () => {
    expect(parseListPage(page(`<KeyCount>1</KeyCount><IsTruncated>false</IsTruncated>${entry("x", 0)}`))).toEqual({
      contents: [{ key: "x", size: 0, etag: '"x"' }],
    });
    expect(parseListPage(page("<KeyCount>0</KeyCount><IsTruncated>false</IsTruncated>"))).toEqual({ contents: [] });
  });

  it.each([
    ["an error document", "<Error><Code>AccessDenied</Code></Error>"],
    ["CDATA", page(`<Contents><Key><![CDATA[x]]></Key><Size>1</Size></Contents>`)],
    ["a Contents without Size", page("<Contents><Key>x</Key></Contents>")],
    ["a KeyCount that differs", page(`<KeyCount>2</KeyCount>${entry("x", 1)}`)],
    ["a truncated page without a token", page(`<IsTruncated>true</IsTruncated>${entry("x", 1)}`)],
    ["an unknown entity", page(entry("a&nbsp;b", 1))],
    ["common prefixes", page("<CommonPrefixes><Prefix>p/</Prefix></CommonPrefixes>")],
  ])("throws on %s", (_, xml) => {
    expect(() => parseListPage(xml)).toThrow();
  });
});

import { GetObjectCommand, PutObjectCommand, S3Client } from "@aws-sdk/client-s3";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { SmallObjects } from "../../scripts/transfer/small-objects";
import { type S3rverHandle, startS3rver } from "../helpers/s3rver";
import { createHash } from "node:crypto";

const sha = (b: Buffer) => createHash("sha256").update(b).digest("hex");

describe("SmallObjects: signed GET and PUT without the SDK's middleware", () => {
  let s3: S3rverHandle;
  beforeAll(async () => {
    s3 = await startS3rver(["small-bucket"]);
  });
  afterAll(async () => s3?.stop());

  it("puts an object the SDK reads back, metadata included, under a key that needs escaping", async () => {
    const small = new SmallObjects(s3.client(), 5_000);
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
    const got = await new SmallObjects(s3.client(), 5_000).get("small-bucket", "sdk/written.bin");
    expect(got.body).toEqual(body);
    expect(got.metadata).toEqual({ origin: "sdk" });
  });

  it("throws on any answer but 2xx (missing key, unknown access key), so the caller can ask the SDK", async () => {
    await expect(new SmallObjects(s3.client(), 5_000).get("small-bucket", "no/such.bin")).rejects.toThrow(/HTTP 404/);
    const unknownKey = new S3Client({ endpoint: s3.endpoint, region: "us-east-1", forcePathStyle: true, credentials: { accessKeyId: "UNKNOWN", secretAccessKey: "S3RVER" } });
    await expect(new SmallObjects(unknownKey, 5_000).get("small-bucket", "sdk/written.bin")).rejects.toThrow(/HTTP 403/);
  });
});

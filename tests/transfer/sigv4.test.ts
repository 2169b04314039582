import { S3Client } from "@aws-sdk/client-s3";
import { SignatureV4 } from "@smithy/signature-v4";
import { describe, expect, it } from "vitest";
import { SigV4, canonicalQuery } from "../../scripts/transfer/sigv4";

/** The SHA-256 the S3 client itself signs with. */
const Sha256 = new S3Client({ region: "us-east-1" }).config.sha256;
const EMPTY_SHA256 = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855";

/** The SDK's signer, set up as for S3 (path signed as sent), signing the same request at the same instant. */
interface Case {
  name: string;
  request: { method: string; path: string; query?: Record<string, string>; headers: Record<string, string> };
  credentials: { accessKeyId: string; secretAccessKey: string; sessionToken?: string };
  region: string;
}

async function sdkSignature(request: Case["request"], credentials: Case["credentials"], region: string, date: Date) {
  const signer = new SignatureV4({ credentials, region, service: "s3", sha256: Sha256, uriEscapePath: false, applyChecksum: false });
  const signed = await signer.sign({ protocol: "https:", hostname: "h", ...request, query: request.query ?? {} }, { signingDate: date });
  return signed.headers;
}

describe("SigV4: the lean signer agrees with the SDK's SignatureV4", () => {
  const date = new Date("2026-12-02T11:59:58.123Z");
  const cases: Case[] = [
    {
      name: "a PUT with metadata and a key that needs escaping",
      request: {
        method: "PUT",
        path: "/b/a%20dir/%C3%BCn%C3%AF%20%281%29%21%27%2A~/f%2Bx%3Dy.bin",
        headers: { host: "127.0.0.1:9000", "content-length": "13", "x-amz-content-sha256": "ab".repeat(32), "x-amz-meta-trainctl-crc32c": " a  b\tc " },
      },
      credentials: { accessKeyId: "AKID", secretAccessKey: "secret/with+chars" },
      region: "us-east-1",
    },
    {
      name: "a GET with a session token in another region",
      request: { method: "GET", path: "/bucket/key.bin", headers: { host: "bucket.s3.eu-west-3.amazonaws.com", "x-amz-content-sha256": EMPTY_SHA256 } },
      credentials: { accessKeyId: "ASIA", secretAccessKey: "s", sessionToken: "token==" },
      region: "eu-west-3",
    },
    {
      name: "a ListObjectsV2 page with a query that needs escaping",
      request: {
        method: "GET",
        path: "/bucket",
        query: { "list-type": "2", prefix: "data set/ü+x=", "continuation-token": "1/a+b==" },
        headers: { host: "h", "x-amz-content-sha256": EMPTY_SHA256 },
      },
      credentials: { accessKeyId: "AKID", secretAccessKey: "s" },
      region: "us-east-1",
    },
  ];
  for (const c of cases) {
    it(c.name, async () => {
      const ours = new SigV4().sign({ ...c.request, payloadHash: c.request.headers["x-amz-content-sha256"] }, c.credentials, c.region, date);
      const sdk = await sdkSignature(c.request, c.credentials, c.region, date);
      expect(ours.authorization).toBe(sdk.authorization);
      expect(ours["x-amz-date"]).toBe(sdk["x-amz-date"]);
      expect(ours["x-amz-security-token"]).toBe(sdk["x-amz-security-token"]);
    });
  }

  it("the next day, or another secret, signs with a new key", async () => {
    const signer = new SigV4();
    const request = cases[1].request;
    const sign = (secretAccessKey: string, at: Date) =>
      signer.sign({ ...request, payloadHash: EMPTY_SHA256 }, { accessKeyId: "A", secretAccessKey }, "eu-west-3", at);
    sign("first", date);
    const tomorrow = new Date(date.getTime() + 86_400_000);
    expect(sign("first", tomorrow).authorization).toBe(
      (await sdkSignature(request, { accessKeyId: "A", secretAccessKey: "first" }, "eu-west-3", tomorrow)).authorization,
    );
    expect(sign("rotated", tomorrow).authorization).toBe(
      (await sdkSignature(request, { accessKeyId: "A", secretAccessKey: "rotated" }, "eu-west-3", tomorrow)).authorization,
    );
  });

  it("the query string is sorted by escaped key and RFC 3986 escaped", () => {
    expect(canonicalQuery({ prefix: "a b/(c)*", "list-type": "2", "continuation-token": "x+y=" })).toBe(
      "continuation-token=x%2By%3D&list-type=2&prefix=a%20b%2F%28c%29%2A",
    );
  });
});

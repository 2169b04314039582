import { GetObjectCommand, type S3Client } from "@aws-sdk/client-s3";
import { getEndpointFromInstructions } from "@smithy/core/endpoints";
import type { AwsCredentialIdentity, Provider } from "@smithy/types";
import { SigV4, canonicalQuery, escapeUri } from "./sigv4";

/** SHA-256 of an empty body, which a signed GET or HEAD declares. */
export const EMPTY_SHA256 = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855";

/** One S3 request, ready to send: the bucket's endpoint, the request target (escaped path and query) and every header, Host and SigV4's included. */
export interface SignedRequest {
  endpoint: URL;
  target: string;
  headers: Record<string, string>;
}

/**
 * Signs S3 requests without the SDK's middleware, with the SDK's own endpoint rules (path style or virtual host,
 * custom endpoint, region) and credentials, and a lean SigV4 signer. Shared by the small-object requests and the ranged GETs.
 */
export class RequestSigning {
  private readonly endpoints = new Map<string, Promise<{ url: URL; signingRegion: string }>>();
  private readonly signer = new SigV4();

  constructor(private readonly client: S3Client) {}

  /** `headers` in lower case, x-amz-content-sha256 among them (the body's hex SHA-256). */
  async sign(method: string, bucket: string, key: string | undefined, headers: Record<string, string>, query?: Record<string, string>): Promise<SignedRequest> {
    const { url: endpoint, signingRegion } = await this.endpoint(bucket);
    const path = key === undefined ? endpoint.pathname : `${endpoint.pathname.replace(/\/$/, "")}/${key.split("/").map(escapeUri).join("/")}`;
    const credentials = await (this.client.config.credentials as Provider<AwsCredentialIdentity>)();
    const payloadHash = headers["x-amz-content-sha256"];
    const signed = this.signer.sign({ method, path, query, headers: { ...headers, host: endpoint.host }, payloadHash }, credentials, signingRegion);
    return { endpoint, target: query ? `${path}?${canonicalQuery(query)}` : path, headers: signed };
  }

  private endpoint(bucket: string): Promise<{ url: URL; signingRegion: string }> {
    let resolved = this.endpoints.get(bucket);
    if (!resolved) {
      resolved = getEndpointFromInstructions({ Bucket: bucket }, GetObjectCommand, this.client.config).then(async (endpoint) => ({
        url: new URL(endpoint.url.href),
        signingRegion:
          (endpoint.properties?.authSchemes as { signingRegion?: string }[] | undefined)?.[0]?.signingRegion ?? (await this.client.config.region()),
      }));
      this.endpoints.set(bucket, resolved);
    }
    return resolved;
  }
}

/** The x-amz-meta-* values among response headers (names in lower case), without the prefix. */
export function userMetadata(headers: Record<string, string | string[] | undefined>): Record<string, string> {
  const metadata: Record<string, string> = {};
  for (const [name, value] of Object.entries(headers)) {
    if (name.startsWith("x-amz-meta-") && typeof value === "string") metadata[name.slice(11)] = value;
  }
  return metadata;
}

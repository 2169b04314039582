import { Agent } from "node:https";
import { Agent as HttpAgent } from "node:http";
import { S3Client } from "@aws-sdk/client-s3";
import { NodeHttpHandler } from "@smithy/node-http-handler";
import { environmentRegion } from "../region";

export function makeS3Client(options: { endpoint?: string; region?: string; concurrency: number }): S3Client {
  const agentOptions = { keepAlive: true, maxSockets: Math.max(8, options.concurrency) };
  const client = new S3Client({
    region: options.region ?? environmentRegion(),
    ...(options.endpoint ? { endpoint: options.endpoint, forcePathStyle: true } : {}),
    requestChecksumCalculation: "WHEN_REQUIRED",
    responseChecksumValidation: "WHEN_REQUIRED",
    // One retry layer: Run.request's withRetry, under the run's one deadline. The SDK's own attempts would multiply with it.
    maxAttempts: 1,
    // One resolved middleware stack per command type, not one per request: about a third of the SDK's CPU per small object.
    cacheMiddleware: true,
    requestHandler: new NodeHttpHandler({ httpAgent: new HttpAgent(agentOptions), httpsAgent: new Agent(agentOptions), ...stallTimeouts() }),
  });
  // On the client, not per command: with the middleware cache, a command's own middleware would be ignored.
  client.middlewareStack.add(
    (next) => (args) => {
      const body = (args.input as { Body?: unknown }).Body;
      const digest = Buffer.isBuffer(body) ? bodyDigests.get(body) : undefined;
      if (digest) (args.request as { headers: Record<string, string> }).headers["x-amz-content-sha256"] = digest;
      return next(args);
    },
    { step: "build", name: "trainctlKnownPayloadDigest" },
  );
  return client;
}

/**
 * SHA-256 of request bodies trainctl has already hashed. The request is signed with it (x-amz-content-sha256),
 * so the SDK does not hash the body a second time, and S3 rejects the request if the bytes it received differ.
 */
const bodyDigests = new WeakMap<object, string>();
export const hashed = (body: Buffer, digest: string): Buffer => (bodyDigests.set(body, digest), body);

/**
 * A connection that goes silent for TRAINCTL_S3_TIMEOUT_MS (default 60 s) fails, and the request is retried.
 * This must be the socket idle timeout: it also covers a body that stops mid-stream after the headers,
 * whereas the handler's `requestTimeout` ends when the headers arrive and, by default, only logs a warning.
 */
export const stallMs = () => Number(process.env.TRAINCTL_S3_TIMEOUT_MS ?? 60_000);
function stallTimeouts(): { connectionTimeout: number; socketTimeout: number } {
  return { connectionTimeout: stallMs(), socketTimeout: stallMs() };
}

import { type ChildProcess, spawn } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import * as path from "node:path";
import { S3Client } from "@aws-sdk/client-s3";

export interface S3rverHandle {
  endpoint: string;
  port: number;
  /** The server's process id (benchmarks read its CPU time from /proc). */
  pid: number;
  directory: string;
  /** Every request the server received, as `METHOD /path?query`. */
  requests: string[];
  /** A client set up the way s3rver needs (path style, checksums only when required). */
  client(): S3Client;
  /** Environment for aws-cli, boto3 and the trainctl CLI pointing at this server. */
  env(): Record<string, string>;
  stop(): Promise<void>;
}

export const TEST_CREDENTIALS = { accessKeyId: "S3RVER", secretAccessKey: "S3RVER" };

/** Starts s3rver on a free loopback port in a child process with the OpenSSL legacy provider. */
export async function startS3rver(buckets: string[] = []): Promise<S3rverHandle> {
  const directory = mkdtempSync(path.join(tmpdir(), "s3rver-"));
  const child: ChildProcess = spawn(process.execPath, ["--openssl-legacy-provider", path.join(__dirname, "s3rver-main.cjs"), directory, buckets.join(",")], {
    stdio: ["ignore", "pipe", "inherit"],
  });
  const requests: string[] = [];
  const port = await new Promise<number>((resolve, reject) => {
    let buffer = "";
    child.once("exit", (code) => reject(new Error(`s3rver exited with ${code}`)));
    child.stdout!.on("data", (chunk: Buffer) => {
      buffer += chunk.toString();
      let newline: number;
      while ((newline = buffer.indexOf("\n")) >= 0) {
        const line = buffer.slice(0, newline);
        buffer = buffer.slice(newline + 1);
        if (line.startsWith("LISTENING ")) resolve(Number(line.slice(10)));
        else if (line.startsWith("REQ ")) requests.push(line.slice(4));
      }
    });
  });
  const endpoint = `http://127.0.0.1:${port}`;
  return {
    endpoint,
    port,
    pid: child.pid!,
    directory,
    requests,
    client: () =>
      new S3Client({
        endpoint,
        region: "us-east-1",
        forcePathStyle: true,
        credentials: TEST_CREDENTIALS,
        requestChecksumCalculation: "WHEN_REQUIRED",
        responseChecksumValidation: "WHEN_REQUIRED",
      }),
    env: () => ({
      AWS_ACCESS_KEY_ID: TEST_CREDENTIALS.accessKeyId,
      AWS_SECRET_ACCESS_KEY: TEST_CREDENTIALS.secretAccessKey,
      AWS_REGION: "us-east-1",
      AWS_DEFAULT_REGION: "us-east-1",
      AWS_ENDPOINT_URL: endpoint,
      AWS_ENDPOINT_URL_S3: endpoint,
      AWS_EC2_METADATA_DISABLED: "true",
      AWS_REQUEST_CHECKSUM_CALCULATION: "WHEN_REQUIRED",
      AWS_RESPONSE_CHECKSUM_VALIDATION: "WHEN_REQUIRED",
    }),
    stop: async () => {
      if (child.exitCode === null) {
        const exited = new Promise((resolve) => child.once("exit", resolve));
        child.kill("SIGTERM");
        await exited;
      }
      rmSync(directory, { recursive: true, force: true });
    },
  };
}

import { GetObjectCommand, PutObjectCommand, type S3Client } from "@aws-sdk/client-s3";
import { RUN_SPEC_KEY } from "../../core/names";
import { type StoredRunSpec, parseRunSpec } from "./run-spec";

/** The stored run spec of an experiment, or undefined when none is stored (or it is unreadable). */
export async function readRunSpec(client: S3Client, bucket: string): Promise<StoredRunSpec | undefined> {
  try {
    const object = await client.send(new GetObjectCommand({ Bucket: bucket, Key: RUN_SPEC_KEY }));
    return parseRunSpec((await object.Body?.transformToString("utf8")) ?? "");
  } catch (error) {
    if ((error as { name?: string }).name === "NoSuchKey") return undefined;
    throw error;
  }
}

export async function writeRunSpec(client: S3Client, bucket: string, spec: StoredRunSpec): Promise<string> {
  await client.send(new PutObjectCommand({ Bucket: bucket, Key: RUN_SPEC_KEY, Body: `${JSON.stringify(spec, null, 2)}\n`, ContentType: "application/json" }));
  return `s3://${bucket}/${RUN_SPEC_KEY}`;
}

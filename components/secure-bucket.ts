import * as aws from "@pulumi/aws";
import * as pulumi from "@pulumi/pulumi";
import { STAGING_PREFIX } from "../core/names";
import { tlsOnlyBucketPolicy } from "./iam";
import { childName } from "./naming";
import { resourceTags } from "../core/tags";
import type { BucketConfig } from "../core/config";

/**
 * A bucket's parsed config (`trainctl:buckets.<name>`, defaults applied by core/config.ts): `adopt` an
 * existing bucket by name (Pulumi `import`); `protect` protects and retains the bucket and its guards
 * (false also sets forceDestroy); with `expireDays`, noncurrent versions expire after that many days,
 * the newest `keepVersions` excepted (checkpoints).
 */
export interface SecureBucketArgs extends BucketConfig {
  /** `datasets`, `checkpoints`: becomes the `trainctl:role` tag. */
  role: string;
  /** Extra tags on the bucket (e.g. the expected dataset size for pricing). */
  tags?: Record<string, string>;
}

/** Lifecycle defaults: one visible place. */
export const BUCKET_LIFECYCLE = { abortIncompleteUploadDays: 7, stagingPrefix: STAGING_PREFIX, stagingExpireDays: 1 } as const;

/** Lifecycle rules as data: abort stale multipart uploads, expire staging, trim noncurrent versions. */
export function lifecycleRules(args: Pick<SecureBucketArgs, "keepVersions" | "expireDays">): aws.types.input.s3.BucketLifecycleConfigurationRule[] {
  const rules: aws.types.input.s3.BucketLifecycleConfigurationRule[] = [
    {
      id: "abort-incomplete-multipart-uploads",
      status: "Enabled",
      filter: {},
      abortIncompleteMultipartUpload: { daysAfterInitiation: BUCKET_LIFECYCLE.abortIncompleteUploadDays },
    },
    {
      id: "expire-staging",
      status: "Enabled",
      filter: { prefix: BUCKET_LIFECYCLE.stagingPrefix },
      expiration: { days: BUCKET_LIFECYCLE.stagingExpireDays },
      noncurrentVersionExpiration: { noncurrentDays: 1 },
    },
  ];
  if (args.expireDays !== undefined) {
    rules.push({
      id: "trim-noncurrent-versions",
      status: "Enabled",
      filter: {},
      noncurrentVersionExpiration: { noncurrentDays: args.expireDays, newerNoncurrentVersions: args.keepVersions },
    });
  }
  return rules;
}

/** An S3 bucket that blocks public access, encrypts, versions, requires TLS and cleans up after itself. */
export class SecureBucket extends pulumi.ComponentResource {
  readonly bucket: aws.s3.Bucket;
  readonly publicAccessBlock: aws.s3.BucketPublicAccessBlock;
  readonly encryption: aws.s3.BucketServerSideEncryptionConfiguration;
  readonly versioning: aws.s3.BucketVersioning;
  readonly policy: aws.s3.BucketPolicy;
  readonly lifecycle: aws.s3.BucketLifecycleConfiguration;
  readonly bucketName: pulumi.Output<string>;

  constructor(name: string, args: SecureBucketArgs, opts: pulumi.ComponentResourceOptions = {}) {
    super("trainctl:storage:SecureBucket", name, {}, opts);
    const isProtected = args.protect;
    // Guards travel with their data: protected and retained together with the bucket.
    const data: pulumi.CustomResourceOptions = { parent: this, protect: isProtected, retainOnDelete: isProtected };

    this.bucket = new aws.s3.Bucket(
      childName(name, "bucket"),
      {
        ...(args.adopt ? { bucket: args.adopt } : {}),
        forceDestroy: !isProtected,
        tags: resourceTags(name, args.role, isProtected, args.tags),
      },
      { ...data, ...(args.adopt ? { import: args.adopt } : {}) },
    );
    const bucket = this.bucket.id;
    this.publicAccessBlock = new aws.s3.BucketPublicAccessBlock(
      childName(name, "public-access"),
      { bucket, blockPublicAcls: true, blockPublicPolicy: true, ignorePublicAcls: true, restrictPublicBuckets: true },
      data,
    );
    this.encryption = new aws.s3.BucketServerSideEncryptionConfiguration(
      childName(name, "encryption"),
      // SSE-S3; an S3 Bucket Key would only matter with SSE-KMS.
      { bucket, rules: [{ applyServerSideEncryptionByDefault: { sseAlgorithm: "AES256" } }] },
      data,
    );
    this.versioning = new aws.s3.BucketVersioning(childName(name, "versioning"), { bucket, versioningConfiguration: { status: "Enabled" } }, data);
    this.policy = new aws.s3.BucketPolicy(
      childName(name, "tls-only"),
      { bucket, policy: this.bucket.arn.apply((arn) => JSON.stringify(tlsOnlyBucketPolicy(arn))) },
      { ...data, dependsOn: [this.publicAccessBlock] },
    );
    this.lifecycle = new aws.s3.BucketLifecycleConfiguration(
      childName(name, "lifecycle"),
      { bucket, rules: lifecycleRules(args) },
      { ...data, dependsOn: [this.versioning] },
    );
    this.bucketName = this.bucket.bucket;
    this.registerOutputs({ bucketName: this.bucketName });
  }
}

import { RUNTIME_TAG_PREFIX, TAG } from "../core/tags";

/** IAM policy documents as plain data, so tests can read exactly what the instance may do. */
export interface PolicyStatement {
  Sid?: string;
  Effect: "Allow" | "Deny";
  Action: string | string[];
  Resource?: string | string[];
  Principal?: unknown;
  Condition?: Record<string, Record<string, string | string[]>>;
}

export interface PolicyDocument {
  Version: "2012-10-17";
  Statement: PolicyStatement[];
}

/** `s3://bucket/prefix/` → {bucket, prefix}. */
export function parseS3Url(url: string): { bucket: string; prefix: string } {
  const match = /^s3:\/\/([^/]+)\/?(.*)$/.exec(url);
  if (!match) throw new Error(`not an s3:// URL: ${url}`);
  return { bucket: match[1], prefix: match[2] };
}

/** EC2 can assume the instance role. */
export function ec2AssumeRolePolicy(): PolicyDocument {
  return { Version: "2012-10-17", Statement: [{ Effect: "Allow", Principal: { Service: "ec2.amazonaws.com" }, Action: "sts:AssumeRole" }] };
}

export interface InstanceAccess {
  /** The ARN partition of the region: aws, aws-cn or aws-us-gov. */
  partition: string;
  /** The stack name: the instance may tag only instances of its own experiment. */
  experiment: string;
  /** Buckets the experiment owns: read and write. */
  readWriteBuckets: string[];
  /** An external dataset location (`s3://bucket/prefix/`): read only, that prefix only. */
  readOnlySource?: string;
  /** CloudWatch namespace the instance may publish metrics to. */
  metricsNamespace?: string;
  /** SSM parameters a run may read at start (`trainctl run --env-from-ssm`), as from ssmParametersArn. */
  runSecretsArn?: string;
  /** Spot recovery: the node attaches its own volume and scales its experiment's groups. */
  recovery?: boolean;
}

/**
 * What a node in recovery mode may do beyond a bare node: attach this experiment's volumes to this
 * experiment's instances, and scale or shrink this experiment's groups. The Describe actions allow no
 * resource-level scoping ("Actions, resources, and condition keys for Amazon EC2" and "… for Amazon
 * EC2 Auto Scaling", Service Authorization Reference), so they take `*`.
 */
export function recoveryStatements(arn: string, experiment: string): PolicyStatement[] {
  const ownExperiment = { StringEquals: { [`aws:ResourceTag/${TAG.experiment}`]: experiment } };
  return [
    {
      Sid: "RecoveryAttachOwnVolume",
      Effect: "Allow",
      Action: "ec2:AttachVolume",
      Resource: [`${arn}:ec2:*:*:volume/*`, `${arn}:ec2:*:*:instance/*`],
      Condition: ownExperiment,
    },
    {
      Sid: "RecoveryDescribe",
      Effect: "Allow",
      Action: ["ec2:DescribeVolumes", "ec2:DescribeInstances", "autoscaling:DescribeAutoScalingGroups"],
      Resource: "*",
    },
    {
      Sid: "RecoveryScaleOwnGroups",
      Effect: "Allow",
      Action: ["autoscaling:SetDesiredCapacity", "autoscaling:TerminateInstanceInAutoScalingGroup", "autoscaling:UpdateAutoScalingGroup"],
      Resource: `${arn}:autoscaling:*:*:autoScalingGroup:*:autoScalingGroupName/*`,
      Condition: ownExperiment,
    },
  ];
}

/** Every SSM parameter under `path` (which starts and ends with `/`), as an IAM resource. */
export function ssmParametersArn(scope: { partition: string; region: string; account: string }, path: string): string {
  return `arn:${scope.partition}:ssm:${scope.region}:${scope.account}:parameter${path}*`;
}

/** S3 access limited to this experiment's buckets (and the dataset source prefix), plus tagging itself. */
export function instanceAccessPolicy(access: InstanceAccess): PolicyDocument {
  const arn = `arn:${access.partition}`;
  const statements: PolicyStatement[] = [
    {
      Sid: "ExperimentBucketsList",
      Effect: "Allow",
      Action: ["s3:ListBucket", "s3:GetBucketLocation", "s3:ListBucketMultipartUploads"],
      Resource: access.readWriteBuckets.map((b) => `${arn}:s3:::${b}`),
    },
    {
      Sid: "ExperimentBucketsObjects",
      Effect: "Allow",
      Action: ["s3:GetObject", "s3:PutObject", "s3:DeleteObject", "s3:AbortMultipartUpload", "s3:ListMultipartUploadParts"],
      Resource: access.readWriteBuckets.map((b) => `${arn}:s3:::${b}/*`),
    },
  ];
  if (access.readOnlySource) {
    const { bucket, prefix } = parseS3Url(access.readOnlySource);
    statements.push(
      {
        Sid: "DatasetSourceList",
        Effect: "Allow",
        Action: "s3:ListBucket",
        Resource: `${arn}:s3:::${bucket}`,
        ...(prefix ? { Condition: { StringLike: { "s3:prefix": [`${prefix}*`] } } } : {}),
      },
      { Sid: "DatasetSourceRead", Effect: "Allow", Action: "s3:GetObject", Resource: `${arn}:s3:::${bucket}/${prefix}*` },
    );
  }
  statements.push({
    Sid: "RuntimeTagsOnSelf",
    Effect: "Allow",
    Action: "ec2:CreateTags",
    Resource: `${arn}:ec2:*:*:instance/*`,
    Condition: {
      "ForAllValues:StringLike": { "aws:TagKeys": [`${RUNTIME_TAG_PREFIX}*`] },
      StringEquals: { [`aws:ResourceTag/${TAG.experiment}`]: access.experiment },
    },
  });
  if (access.runSecretsArn) {
    // SecureStrings under the default aws/ssm key decrypt through SSM without a kms:Decrypt grant.
    statements.push({ Sid: "RunSecretsRead", Effect: "Allow", Action: "ssm:GetParameter", Resource: access.runSecretsArn });
  }
  if (access.recovery) statements.push(...recoveryStatements(arn, access.experiment));
  if (access.metricsNamespace) {
    statements.push({
      Sid: "PublishMetrics",
      Effect: "Allow",
      Action: "cloudwatch:PutMetricData",
      Resource: "*",
      Condition: { StringEquals: { "cloudwatch:namespace": access.metricsNamespace } },
    });
  }
  return { Version: "2012-10-17", Statement: statements };
}

/** Bucket policy: deny every request that does not use TLS. */
export function tlsOnlyBucketPolicy(bucketArn: string): PolicyDocument {
  return {
    Version: "2012-10-17",
    Statement: [
      {
        Sid: "DenyInsecureTransport",
        Effect: "Deny",
        Principal: "*",
        Action: "s3:*",
        Resource: [bucketArn, `${bucketArn}/*`],
        Condition: { Bool: { "aws:SecureTransport": "false" } },
      },
    ],
  };
}

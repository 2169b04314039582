/**
 * An AWS account for the preflight tests, answered in each service's real protocol: STS, IAM and
 * EC2 query protocol with XML replies; Service Quotas, Cost Explorer and SSM JSON 1.1; S3 REST XML.
 * The request's region comes from its SigV4 credential scope, as AWS routes it.
 */
import type { AwsReply, AwsRequest } from "./aws-server";

export interface PreflightAccount {
  account: string;
  /** The caller ARN GetCallerIdentity returns. */
  arn: string;
  /** Region name → opt-in status. */
  regions: Record<string, string>;
  /** Applied quota values by code; a missing code answers NoSuchResourceException (then the default). */
  quotas: Record<string, number>;
  defaultQuotas: Record<string, number>;
  /** Running instances: type, spot or not, vCPUs. */
  running: { type: string; spot?: boolean; vcpus: number }[];
  /** Zone name → zone id, for the request's region. */
  zones: Record<string, string>;
  /** Instance type → zones offering it. */
  offerings: Record<string, string[]>;
  /** Zone id → spot placement score. */
  scores: Record<string, number>;
  /** Zone name → current spot price. */
  spotPrices: Record<string, number>;
  snapshots: Record<string, { region: string; state: string; sizeGiB: number; encrypted?: boolean }>;
  volumes: Record<string, { state: string; zone: string }>;
  /** This account's buckets → region. */
  ownBuckets: Record<string, string>;
  /** Buckets that exist in other accounts. */
  foreignBuckets: string[];
  /** Objects per bucket. */
  objects: Record<string, { key: string; size: number }[]>;
  parameters: Record<string, string>;
  images: Record<string, string>;
  /** Actions SimulatePrincipalPolicy reports as implicitly denied. */
  deniedActions: string[];
  /** Cost-allocation tag → status. */
  costTags: Record<string, string>;
  /** Operations the caller may not make (AccessDenied in that service's protocol). */
  deny: string[];
}

export const SNAPSHOT = "snap-0123456789abcdef0";
export const AMI = "ami-0123456789abcdef0";
export const DEFAULT_AMI_PARAMETER = "/aws/service/deeplearning/ami/x86_64/base-oss-nvidia-driver-gpu-ubuntu-22.04/latest/ami-id";

/** An account where the dev stack would deploy. */
export function healthyAccount(): PreflightAccount {
  return {
    account: "111122223333",
    arn: "arn:aws:sts::111122223333:assumed-role/deployer/ci-session",
    regions: { "us-east-1": "opt-in-not-required", "af-south-1": "not-opted-in" },
    quotas: { "L-DB2E81BA": 64, "L-3819A6DF": 64 },
    defaultQuotas: { "L-DB2E81BA": 0, "L-3819A6DF": 0, "L-417A185B": 0, "L-7212CCBC": 0 },
    running: [],
    zones: { "us-east-1a": "use1-az6", "us-east-1b": "use1-az1", "us-east-1c": "use1-az2" },
    offerings: { "g5.xlarge": ["us-east-1a", "us-east-1b"] },
    scores: { "use1-az6": 8, "use1-az1": 6 },
    spotPrices: { "us-east-1a": 0.42, "us-east-1b": 0.45 },
    snapshots: { [SNAPSHOT]: { region: "us-east-1", state: "completed", sizeGiB: 400, encrypted: true } },
    volumes: {},
    ownBuckets: {},
    foreignBuckets: [],
    objects: { "trainctl-example-datasets": Array.from({ length: 150 }, (_, i) => ({ key: `imagenet/part-${i}.tar`, size: 2 ** 30 })) },
    parameters: { [DEFAULT_AMI_PARAMETER]: AMI },
    images: { [AMI]: "available" },
    deniedActions: [],
    costTags: { "trainctl:experiment": "Active" },
    deny: [],
  };
}

const xml = (body: string): AwsReply => ({ body: `<?xml version="1.0" encoding="UTF-8"?>\n${body}` });
const EC2_NS = 'xmlns="http://ec2.amazonaws.com/doc/2016-11-15/"';
const S3_NS = 'xmlns="http://s3.amazonaws.com/doc/2006-03-01/"';
const ec2Error = (code: string, message: string, status = 400): AwsReply => ({
  status,
  body: `<?xml version="1.0" encoding="UTF-8"?>\n<Response><Errors><Error><Code>${code}</Code><Message>${message}</Message></Error></Errors><RequestID>r-1</RequestID></Response>`,
});
/** STS and IAM (awsQuery) errors. */
const queryError = (code: string, message: string, status = 403): AwsReply => ({
  status,
  body: `<ErrorResponse><Error><Type>Sender</Type><Code>${code}</Code><Message>${message}</Message></Error><RequestId>r-1</RequestId></ErrorResponse>`,
});
const jsonError = (type: string, message: string, status = 400): AwsReply => ({ status, body: { __type: type, message } });
const s3Error = (code: string, status: number, message: string): AwsReply => ({
  status,
  headers: { "content-type": "application/xml" },
  body: `<?xml version="1.0" encoding="UTF-8"?>\n<Error><Code>${code}</Code><Message>${message}</Message></Error>`,
});

/** Values of query-protocol list members: `prefix.1`, `prefix.2`, … */
const list = (form: Record<string, string>, prefix: string) =>
  Object.keys(form)
    .filter((k) => new RegExp(`^${prefix.replace(/\./g, "\\.")}\\.\\d+$`).test(k))
    .map((k) => form[k]);
function filter(form: Record<string, string>, name: string): string[] | undefined {
  const key = Object.keys(form).find((k) => /^Filter\.\d+\.Name$/.test(k) && form[k] === name);
  return key ? list(form, key.replace(/Name$/, "Value")) : undefined;
}

/** The region in the SigV4 credential scope: `Credential=AKID/20240101/us-east-1/ec2/aws4_request`. */
const signedRegion = (req: AwsRequest) => /Credential=[^/]+\/\d+\/([^/]+)\//.exec(String(req.headers.authorization ?? ""))?.[1] ?? "us-east-1";

/** S3 REST operations by method and path-style URL. */
function s3Operation(req: AwsRequest): { operation: string; bucket: string; query: URLSearchParams } | undefined {
  if (req.form || req.target) return undefined;
  const url = new URL(req.url, "http://loopback");
  const bucket = decodeURIComponent(url.pathname.split("/")[1] ?? "");
  const query = url.searchParams;
  if (req.method === "GET" && !bucket) return { operation: "ListBuckets", bucket, query };
  if (req.method === "HEAD" && bucket) return { operation: "HeadBucket", bucket, query };
  if (req.method === "GET" && query.get("list-type") === "2") return { operation: "ListObjectsV2", bucket, query };
  return undefined;
}

export function answerPreflight(account: PreflightAccount, req: AwsRequest): AwsReply {
  const s3 = s3Operation(req);
  const operation = s3?.operation ?? req.operation;
  if (account.deny.includes(operation)) {
    if (s3) return s3Error("AccessDenied", 403, "Access Denied");
    if (req.target) return jsonError("AccessDeniedException", `not authorized to perform ${operation}`);
    if (req.form?.Version === "2016-11-15") return ec2Error("UnauthorizedOperation", `You are not authorized to perform ${operation}.`, 403);
    return queryError("AccessDenied", `User is not authorized to perform ${operation}`);
  }
  if (s3) return answerS3(account, s3);
  if (req.target) return answerJson(account, operation, JSON.parse(req.body || "{}"));
  return answerQuery(account, operation, req.form ?? {}, signedRegion(req));
}

function answerS3(account: PreflightAccount, { operation, bucket, query }: NonNullable<ReturnType<typeof s3Operation>>): AwsReply {
  switch (operation) {
    case "ListBuckets": {
      const prefix = query.get("prefix") ?? "";
      const items = Object.entries(account.ownBuckets).filter(([name]) => name.startsWith(prefix));
      return xml(
        `<ListAllMyBucketsResult ${S3_NS}><Owner><ID>owner</ID></Owner><Buckets>${items.map(([name, region]) => `<Bucket><Name>${name}</Name><CreationDate>2024-01-01T00:00:00.000Z</CreationDate><BucketRegion>${region}</BucketRegion></Bucket>`).join("")}</Buckets><Prefix>${prefix}</Prefix></ListAllMyBucketsResult>`,
      );
    }
    case "HeadBucket":
      if (account.ownBuckets[bucket] || account.objects[bucket]) return { status: 200, body: "" };
      return { status: account.foreignBuckets.includes(bucket) ? 403 : 404, body: "" };
    default: {
      const objects = account.objects[bucket];
      if (!objects) return s3Error("NoSuchBucket", 404, "The specified bucket does not exist");
      const prefix = query.get("prefix") ?? "";
      const start = Number(query.get("continuation-token") ?? 0);
      const max = Number(query.get("max-keys") ?? 1000);
      const matching = objects.filter((o) => o.key.startsWith(prefix));
      const page = matching.slice(start, start + max);
      const more = start + max < matching.length;
      const contents = page
        .map(
          (o) =>
            `<Contents><Key>${o.key}</Key><LastModified>2024-01-01T00:00:00.000Z</LastModified><Size>${o.size}</Size><StorageClass>STANDARD</StorageClass></Contents>`,
        )
        .join("");
      return xml(
        `<ListBucketResult ${S3_NS}><Name>${bucket}</Name><Prefix>${prefix}</Prefix><KeyCount>${page.length}</KeyCount><MaxKeys>${max}</MaxKeys><IsTruncated>${more}</IsTruncated>${more ? `<NextContinuationToken>${start + max}</NextContinuationToken>` : ""}${contents}</ListBucketResult>`,
      );
    }
  }
}

function answerJson(account: PreflightAccount, operation: string, input: Record<string, any>): AwsReply {
  switch (operation) {
    case "GetServiceQuota": {
      const value = account.quotas[input.QuotaCode];
      if (value === undefined) return jsonError("NoSuchResourceException", `The request failed because the specified quota ${input.QuotaCode} does not exist.`);
      return { body: { Quota: { ServiceCode: input.ServiceCode, QuotaCode: input.QuotaCode, Value: value, Unit: "None" } } };
    }
    case "GetAWSDefaultServiceQuota":
      return { body: { Quota: { ServiceCode: input.ServiceCode, QuotaCode: input.QuotaCode, Value: account.defaultQuotas[input.QuotaCode] ?? 0 } } };
    case "GetParameter": {
      const value = account.parameters[input.Name];
      if (value === undefined) return jsonError("ParameterNotFound", "");
      return { body: { Parameter: { Name: input.Name, Type: "String", Value: value, Version: 1 } } };
    }
    case "ListCostAllocationTags":
      return {
        body: {
          CostAllocationTags: (input.TagKeys as string[])
            .filter((k) => account.costTags[k])
            .map((k) => ({ TagKey: k, Type: "UserDefined", Status: account.costTags[k] })),
        },
      };
    default:
      return jsonError("UnknownOperationException", `unexpected ${operation}`);
  }
}

function answerQuery(account: PreflightAccount, operation: string, form: Record<string, string>, region: string): AwsReply {
  const ec2 = (name: string, body: string) => xml(`<${name}Response ${EC2_NS}><requestId>r-1</requestId>${body}</${name}Response>`);
  switch (operation) {
    case "GetCallerIdentity":
      return xml(
        `<GetCallerIdentityResponse xmlns="https://sts.amazonaws.com/doc/2011-06-15/"><GetCallerIdentityResult><Arn>${account.arn}</Arn><UserId>AROAEXAMPLE:ci</UserId><Account>${account.account}</Account></GetCallerIdentityResult><ResponseMetadata><RequestId>r-1</RequestId></ResponseMetadata></GetCallerIdentityResponse>`,
      );
    case "SimulatePrincipalPolicy": {
      if (!/^arn:aws:iam::\d{12}:(role|user)\//.test(form.PolicySourceArn ?? "")) return queryError("InvalidInput", `Invalid ARN ${form.PolicySourceArn}`, 400);
      const results = list(form, "ActionNames.member").map(
        (action) =>
          `<member><EvalActionName>${action}</EvalActionName><EvalResourceName>*</EvalResourceName><EvalDecision>${account.deniedActions.includes(action) ? "implicitDeny" : "allowed"}</EvalDecision></member>`,
      );
      return xml(
        `<SimulatePrincipalPolicyResponse xmlns="https://iam.amazonaws.com/doc/2010-05-08/"><SimulatePrincipalPolicyResult><IsTruncated>false</IsTruncated><EvaluationResults>${results.join("")}</EvaluationResults></SimulatePrincipalPolicyResult><ResponseMetadata><RequestId>r-1</RequestId></ResponseMetadata></SimulatePrincipalPolicyResponse>`,
      );
    }
    case "DescribeRegions": {
      const names = list(form, "RegionName");
      const unknown = names.find((n) => !account.regions[n]);
      if (unknown) return ec2Error("InvalidParameterValue", `Invalid region names: ${unknown}`);
      return ec2(
        operation,
        `<regionInfo>${names.map((n) => `<item><regionName>${n}</regionName><regionEndpoint>ec2.${n}.amazonaws.com</regionEndpoint><optInStatus>${account.regions[n]}</optInStatus></item>`).join("")}</regionInfo>`,
      );
    }
    case "DescribeInstances": {
      const items = account.running.map(
        (i, n) =>
          `<item><instanceId>i-0run${n}</instanceId><instanceType>${i.type}</instanceType><instanceState><code>16</code><name>running</name></instanceState>${i.spot ? "<instanceLifecycle>spot</instanceLifecycle>" : ""}<cpuOptions><coreCount>${i.vcpus / 2}</coreCount><threadsPerCore>2</threadsPerCore></cpuOptions></item>`,
      );
      return ec2(
        operation,
        `<reservationSet><item><reservationId>r-0abc</reservationId><instancesSet>${items.join("")}</instancesSet></item></reservationSet>`,
      );
    }
    case "DescribeInstanceTypeOfferings": {
      const items = (filter(form, "instance-type") ?? []).flatMap((type) =>
        (account.offerings[type] ?? [])
          .filter((z) => z.startsWith(region))
          .map((z) => `<item><instanceType>${type}</instanceType><locationType>availability-zone</locationType><location>${z}</location></item>`),
      );
      return ec2(operation, `<instanceTypeOfferingSet>${items.join("")}</instanceTypeOfferingSet>`);
    }
    case "DescribeAvailabilityZones":
      return ec2(
        operation,
        `<availabilityZoneInfo>${Object.entries(account.zones)
          .filter(([name]) => name.startsWith(region))
          .map(
            ([name, id]) => `<item><zoneName>${name}</zoneName><zoneId>${id}</zoneId><zoneState>available</zoneState><regionName>${region}</regionName></item>`,
          )
          .join("")}</availabilityZoneInfo>`,
      );
    case "GetSpotPlacementScores":
      return ec2(
        operation,
        `<spotPlacementScoreSet>${Object.entries(account.scores)
          .map(([id, score]) => `<item><region>${region}</region><availabilityZoneId>${id}</availabilityZoneId><score>${score}</score></item>`)
          .join("")}</spotPlacementScoreSet>`,
      );
    case "DescribeSpotPriceHistory": {
      const type = list(form, "InstanceType")[0];
      const zones = Object.entries(account.spotPrices).filter(([zone]) => !form.AvailabilityZone || zone === form.AvailabilityZone);
      return ec2(
        operation,
        `<spotPriceHistorySet>${zones.map(([zone, price]) => `<item><instanceType>${type}</instanceType><productDescription>Linux/UNIX</productDescription><spotPrice>${price}</spotPrice><timestamp>2026-01-01T00:00:00.000Z</timestamp><availabilityZone>${zone}</availabilityZone></item>`).join("")}</spotPriceHistorySet><nextToken></nextToken>`,
      );
    }
    case "DescribeSnapshots": {
      const id = list(form, "SnapshotId")[0];
      const snap = account.snapshots[id];
      if (!snap || snap.region !== region) return ec2Error("InvalidSnapshot.NotFound", `The snapshot '${id}' does not exist.`);
      return ec2(
        operation,
        `<snapshotSet><item><snapshotId>${id}</snapshotId><volumeSize>${snap.sizeGiB}</volumeSize><status>${snap.state}</status><encrypted>${Boolean(snap.encrypted)}</encrypted><ownerId>${account.account}</ownerId></item></snapshotSet>`,
      );
    }
    case "DescribeVolumes": {
      const id = list(form, "VolumeId")[0];
      const volume = account.volumes[id];
      if (!volume) return ec2Error("InvalidVolume.NotFound", `The volume '${id}' does not exist.`);
      return ec2(
        operation,
        `<volumeSet><item><volumeId>${id}</volumeId><size>500</size><availabilityZone>${volume.zone}</availabilityZone><status>${volume.state}</status></item></volumeSet>`,
      );
    }
    case "DescribeImages": {
      const id = list(form, "ImageId")[0];
      if (!account.images[id]) return ec2Error("InvalidAMIID.NotFound", `The image id '[${id}]' does not exist`);
      return ec2(operation, `<imagesSet><item><imageId>${id}</imageId><imageState>${account.images[id]}</imageState></item></imagesSet>`);
    }
    default:
      return ec2Error("InvalidAction", `unexpected ${operation}`);
  }
}

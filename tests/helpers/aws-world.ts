/**
 * A small AWS world for the status, run and logs tests, answered in each service's real protocol: EC2 query
 * protocol with XML replies, CloudWatch JSON 1.0 (the pinned SDK's GetMetricData), and the
 * Tagging API's JSON 1.1.
 */
import type { AwsReply, AwsRequest } from "./aws-server";

export interface FakeInstance {
  state: string;
  type: string;
  spot?: boolean;
  launched: string;
  tags: Record<string, string>;
}

export interface FakeVolume {
  instanceId: string;
  /** initialization-state detail status; omitted when undefined. */
  initState?: string;
  progress?: number;
  eta?: number;
}

export interface World {
  instances: Record<string, FakeInstance>;
  volumes: Record<string, FakeVolume>;
  /** Datapoint values per `InstanceId/MetricName`. */
  metrics: Record<string, number[]>;
  /** ARN + tags the Tagging API lists. */
  tagged: { arn: string; tags: Record<string, string> }[];
  /** Latest spot price per instance type in us-east-1a. */
  spot: Record<string, number>;
  /** Operations that fail with AccessDenied. */
  deny: string[];
}

const EC2_NS = 'xmlns="http://ec2.amazonaws.com/doc/2016-11-15/"';
const xml = (body: string): AwsReply => ({ body: `<?xml version="1.0" encoding="UTF-8"?>\n${body}` });
const ec2Error = (code: string, text: string): AwsReply => ({
  status: 400,
  body: `<?xml version="1.0" encoding="UTF-8"?>\n<Response><Errors><Error><Code>${code}</Code><Message>${text}</Message></Error></Errors><RequestID>r-1</RequestID></Response>`,
});
const tagSet = (tags: Record<string, string>) =>
  `<tagSet>${Object.entries(tags)
    .map(([k, v]) => `<item><key>${k}</key><value>${v}</value></item>`)
    .join("")}</tagSet>`;
/** Values of query-protocol list members: `prefix.1`, `prefix.2`, … */
const list = (form: Record<string, string>, prefix: string) =>
  Object.keys(form)
    .filter((k) => new RegExp(`^${prefix.replace(/\./g, "\\.")}\\.\\d+$`).test(k))
    .map((k) => form[k]);
/** The values of the EC2 filter named `name`. */
function filter(form: Record<string, string>, name: string): string[] | undefined {
  const key = Object.keys(form).find((k) => /^Filter\.\d+\.Name$/.test(k) && form[k] === name);
  return key ? list(form, key.replace(/Name$/, "Value")) : undefined;
}

/** Without instance ids: the `tag:K`, `tag-key` and `instance-state-name` filters, each of which must match. */
function matchesFilters(instance: FakeInstance, form: Record<string, string>): boolean {
  const names = Object.keys(form)
    .filter((k) => /^Filter\.\d+\.Name$/.test(k))
    .map((k) => form[k]);
  return names.every((name) => {
    const values = filter(form, name) ?? [];
    if (name === "tag-key") return values.some((key) => key in instance.tags);
    if (name === "instance-state-name") return values.includes(instance.state);
    if (name.startsWith("tag:")) return values.includes(instance.tags[name.slice(4)]);
    return false;
  });
}

export const ec2Arn = (id: string) => `arn:aws:ec2:us-east-1:123456789012:instance/${id}`;

export function answer(world: World, req: AwsRequest): AwsReply {
  if (world.deny.includes(req.operation)) {
    return req.form
      ? ec2Error("UnauthorizedOperation", `not allowed: ${req.operation}`)
      : { status: 400, headers: { "content-type": "application/x-amz-json-1.0" }, body: { __type: "AccessDenied", message: `not allowed: ${req.operation}` } };
  }
  const form = req.form ?? {};
  switch (req.operation) {
    case "DescribeInstances": {
      const ids = filter(form, "instance-id") ?? list(form, "InstanceId");
      const items = (ids.length ? ids : Object.keys(world.instances).filter((id) => matchesFilters(world.instances[id], form)))
        .filter((id) => world.instances[id])
        .map((id) => {
          const i = world.instances[id];
          return `<item><instanceId>${id}</instanceId><instanceType>${i.type}</instanceType><launchTime>${i.launched}</launchTime><instanceState><code>16</code><name>${i.state}</name></instanceState>${i.spot ? "<instanceLifecycle>spot</instanceLifecycle>" : ""}<placement><availabilityZone>us-east-1a</availabilityZone></placement>${tagSet(i.tags)}</item>`;
        });
      return xml(
        `<DescribeInstancesResponse ${EC2_NS}><requestId>r-1</requestId><reservationSet><item><reservationId>r-0abc</reservationId><instancesSet>${items.join("")}</instancesSet></item></reservationSet></DescribeInstancesResponse>`,
      );
    }
    case "DescribeVolumes": {
      const attached = filter(form, "attachment.instance-id") ?? [];
      const items = Object.entries(world.volumes)
        .filter(([, v]) => attached.includes(v.instanceId))
        .map(
          ([id, v]) =>
            `<item><volumeId>${id}</volumeId><size>500</size><status>in-use</status><attachmentSet><item><volumeId>${id}</volumeId><instanceId>${v.instanceId}</instanceId><device>/dev/sdf</device><status>attached</status></item></attachmentSet>${tagSet({ "trainctl:role": "data-volume" })}</item>`,
        );
      return xml(`<DescribeVolumesResponse ${EC2_NS}><requestId>r-1</requestId><volumeSet>${items.join("")}</volumeSet></DescribeVolumesResponse>`);
    }
    case "DescribeVolumeStatus": {
      const ids = list(form, "VolumeId");
      const missing = ids.find((id) => !world.volumes[id]);
      if (missing) return ec2Error("InvalidVolume.NotFound", `The volume '${missing}' does not exist.`);
      const items = ids.map((id) => {
        const v = world.volumes[id];
        const detail = v.initState ? `<item><name>initialization-state</name><status>${v.initState}</status></item>` : "";
        const progress =
          v.progress === undefined
            ? ""
            : `<initializationStatusDetails><initializationType>provisioned-rate</initializationType><progress>${v.progress}</progress>${v.eta === undefined ? "" : `<estimatedTimeToCompleteInSeconds>${v.eta}</estimatedTimeToCompleteInSeconds>`}</initializationStatusDetails>`;
        return `<item><volumeId>${id}</volumeId><availabilityZone>us-east-1a</availabilityZone><volumeStatus><status>ok</status><details><item><name>io-enabled</name><status>passed</status></item>${detail}</details></volumeStatus>${progress}</item>`;
      });
      return xml(
        `<DescribeVolumeStatusResponse ${EC2_NS}><requestId>r-1</requestId><volumeStatusSet>${items.join("")}</volumeStatusSet></DescribeVolumeStatusResponse>`,
      );
    }
    case "DescribeSpotPriceHistory": {
      const type = list(form, "InstanceType")[0];
      const price = world.spot[type];
      const items =
        price === undefined
          ? ""
          : `<item><instanceType>${type}</instanceType><productDescription>Linux/UNIX</productDescription><spotPrice>${price}</spotPrice><timestamp>${new Date().toISOString()}</timestamp><availabilityZone>us-east-1a</availabilityZone></item>`;
      return xml(
        `<DescribeSpotPriceHistoryResponse ${EC2_NS}><requestId>r-1</requestId><spotPriceHistorySet>${items}</spotPriceHistorySet><nextToken></nextToken></DescribeSpotPriceHistoryResponse>`,
      );
    }
    case "GetMetricData": {
      const input = JSON.parse(req.body) as {
        MetricDataQueries: { Id: string; MetricStat: { Metric: { MetricName: string; Dimensions: { Name: string; Value: string }[] } } }[];
      };
      const results = input.MetricDataQueries.map((q) => {
        const instanceId = q.MetricStat.Metric.Dimensions.find((d) => d.Name === "InstanceId")?.Value;
        const values = world.metrics[`${instanceId}/${q.MetricStat.Metric.MetricName}`] ?? [];
        return {
          Id: q.Id,
          Label: q.MetricStat.Metric.MetricName,
          StatusCode: "Complete",
          Timestamps: values.map((_, i) => 1_700_000_000 + i * 60),
          Values: values,
        };
      });
      return { headers: { "content-type": "application/x-amz-json-1.0" }, body: { MetricDataResults: results, Messages: [] } };
    }
    case "GetResources":
      return {
        body: {
          PaginationToken: "",
          ResourceTagMappingList: world.tagged.map((t) => ({ ResourceARN: t.arn, Tags: Object.entries(t.tags).map(([Key, Value]) => ({ Key, Value })) })),
        },
      };
    default:
      return ec2Error("InvalidAction", `unexpected ${req.operation}`);
  }
}

import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import * as path from "node:path";
import { beforeAll, describe, expect, it } from "vitest";
import { type CapturedResource, type OfflineRun, loadStackConfig, runOffline } from "../../scripts/state/offline-program";

const dev = loadStackConfig("dev");

function withConfig(overrides: Record<string, unknown>): Record<string, unknown> {
  return { ...dev, ...overrides };
}

const ofType = (run: OfflineRun, type: string): CapturedResource[] => run.captured.filter((c) => c.record.type === type);
const one = (run: OfflineRun, type: string): CapturedResource => {
  const found = ofType(run, type);
  expect(found, type).toHaveLength(1);
  return found[0];
};

const DATA_TYPES = [
  "aws:s3/bucket:Bucket",
  "aws:s3/bucketPublicAccessBlock:BucketPublicAccessBlock",
  "aws:s3/bucketServerSideEncryptionConfiguration:BucketServerSideEncryptionConfiguration",
  "aws:s3/bucketVersioning:BucketVersioning",
  "aws:s3/bucketPolicy:BucketPolicy",
  "aws:s3/bucketLifecycleConfiguration:BucketLifecycleConfiguration",
  "aws:ebs/volume:Volume",
];

describe("the dev experiment under mocks", () => {
  let run: OfflineRun;
  beforeAll(async () => {
    run = await runOffline({ stack: "dev", config: dev });
  });

  it("protects and retains exactly the data-bearing resources and their guards", () => {
    for (const { record, request } of run.captured) {
      const isData = DATA_TYPES.includes(record.type);
      expect([record.name, request.protect, request.retainOnDelete]).toEqual([record.name, isData, isData]);
    }
    expect(run.captured.filter((c) => c.request.protect)).toHaveLength(13);
  });

  it("marks protected resources with trainctl:protected so tools outside Pulumi can see it", () => {
    for (const type of ["aws:s3/bucket:Bucket", "aws:ebs/volume:Volume"]) {
      for (const { record } of ofType(run, type)) expect(record.tags["trainctl:protected"]).toBe("true");
    }
    expect(one(run, "aws:ec2/instance:Instance").record.tags["trainctl:protected"]).toBeUndefined();
  });

  it("nests every resource under the Experiment component with prefixed names", () => {
    const experiment = one(run, "trainctl:experiment:Experiment");
    const byUrn = new Map(run.captured.map((c) => [c.record.urn, c]));
    for (const c of run.captured) {
      if (c.record.type.startsWith("pulumi:")) continue;
      let node: CapturedResource | undefined = c;
      while (node && node !== experiment) node = byUrn.get(node.request.parent);
      expect(node, c.record.name).toBe(experiment);
      expect(c.record.name.startsWith("dev")).toBe(true);
    }
    const volume = one(run, "aws:ebs/volume:Volume");
    expect(byUrn.get(volume.request.parent)?.record.type).toBe("trainctl:storage:DataVolume");
  });

  it("uses one explicit provider whose default tags carry the cost keys, on every resource", () => {
    const provider = one(run, "pulumi:providers:aws");
    const defaults = provider.record.inputs.defaultTags as string | { tags: Record<string, string> };
    const tags = typeof defaults === "string" ? JSON.parse(defaults).tags : defaults.tags;
    expect(tags).toEqual({
      "trainctl:project": "trainctl",
      "trainctl:experiment": "dev",
      "trainctl:owner": "alice",
      "trainctl:cost-center": "ml-research",
      "trainctl:managed-by": "pulumi",
    });
    const ignore = provider.record.inputs.ignoreTags as string | { keyPrefixes: string[] };
    expect(JSON.stringify(ignore)).toContain("trainctl:runtime:");
    for (const c of run.captured) {
      // Local commands run on the deployer's machine, through the command provider.
      if (!c.record.custom || c.record.type.startsWith("pulumi:") || c.record.type.startsWith("command:")) continue;
      expect(c.request.provider.split("::").slice(0, -1).join("::"), c.record.name).toBe(provider.record.urn);
      expect(c.record.tags["trainctl:experiment"]).toBe("dev");
    }
    expect(run.captured.filter((c) => c.record.type.startsWith("aws:")).every((c) => c.request.provider.startsWith(provider.record.urn))).toBe(true);
  });

  it("requires IMDSv2 and encrypts the root volume, tagged with the cost keys", () => {
    const node = one(run, "aws:ec2/instance:Instance").record.inputs as any;
    expect(node.metadataOptions.httpTokens).toBe("required");
    expect(node.rootBlockDevice.encrypted).toBe(true);
    expect(node.rootBlockDevice.tags["trainctl:cost-center"]).toBe("ml-research");
    expect(node.rootBlockDevice.tags["trainctl:role"]).toBe("root-volume");
    expect(node.instanceMarketOptions).toEqual({
      marketType: "spot",
      spotOptions: { maxPrice: "0.75", spotInstanceType: "one-time", instanceInterruptionBehavior: "terminate" },
    });
    expect(node.instanceInitiatedShutdownBehavior).toBe("terminate");
    expect(node.tags["trainctl:max-hours"]).toBe("72");
  });

  it("never replaces a node by surprise: AMI and user data changes are ignored", () => {
    expect(one(run, "aws:ec2/instance:Instance").request.ignoreChanges).toEqual(expect.arrayContaining(["ami", "userData"]));
    expect(run.invokes).toContain("aws:ssm/getParameter:getParameter");
  });

  it("encrypts the data volume, keeps a final snapshot and warms it at the configured rate", () => {
    const volume = one(run, "aws:ebs/volume:Volume").record.inputs as any;
    expect(volume).toMatchObject({
      encrypted: true,
      finalSnapshot: true,
      volumeInitializationRate: 300,
      snapshotId: "snap-0123456789abcdef0",
      size: 500,
      type: "gp3",
      iops: 6000,
      throughput: 500,
    });
    expect(ofType(run, "aws:ebs/fastSnapshotRestore:FastSnapshotRestore")).toHaveLength(0);
  });

  it("places the volume in the zone of the instance's subnet", () => {
    const volume = one(run, "aws:ebs/volume:Volume").record.inputs as any;
    const node = one(run, "aws:ec2/instance:Instance").record.inputs as any;
    expect(node.subnetId).toBe("subnet-0000000000000000a");
    expect(volume.availabilityZone).toBe("us-east-1a");
  });

  it("opens no inbound port", () => {
    const sg = one(run, "aws:ec2/securityGroup:SecurityGroup").record.inputs as any;
    expect(sg.ingress ?? []).toEqual([]);
    expect(ofType(run, "aws:ec2/securityGroupRule:SecurityGroupRule")).toHaveLength(0);
  });

  it("limits the instance role's S3 access to the experiment's buckets and the dataset prefix", () => {
    const policy = JSON.parse(one(run, "aws:iam/rolePolicy:RolePolicy").record.inputs.policy as string);
    const s3Resources: string[] = policy.Statement.filter((s: any) => [s.Action].flat().some((a: string) => a.startsWith("s3:"))).flatMap((s: any) =>
      [s.Resource].flat(),
    );
    const buckets = ofType(run, "aws:s3/bucket:Bucket").map((b) => b.record.outputs.bucket as string);
    expect(buckets).toHaveLength(2);
    for (const resource of s3Resources) {
      const ok =
        buckets.some((b) => resource === `arn:aws:s3:::${b}` || resource === `arn:aws:s3:::${b}/*`) ||
        resource.startsWith("arn:aws:s3:::trainctl-example-datasets");
      expect(ok, resource).toBe(true);
    }
    expect(s3Resources).toContain("arn:aws:s3:::trainctl-example-datasets/imagenet/*");
    expect(s3Resources.some((r) => r === "*" || r === "arn:aws:s3:::*")).toBe(false);
  });

  it("hardens both buckets: public access blocked, SSE, versioning, TLS-only, lifecycle", () => {
    for (const { record } of ofType(run, "aws:s3/bucketPublicAccessBlock:BucketPublicAccessBlock")) {
      expect(record.inputs).toMatchObject({ blockPublicAcls: true, blockPublicPolicy: true, ignorePublicAcls: true, restrictPublicBuckets: true });
    }
    for (const { record } of ofType(run, "aws:s3/bucketPolicy:BucketPolicy")) {
      const statement = JSON.parse(record.inputs.policy as string).Statement[0];
      expect(statement).toMatchObject({ Effect: "Deny", Condition: { Bool: { "aws:SecureTransport": "false" } } });
    }
    const lifecycles = ofType(run, "aws:s3/bucketLifecycleConfiguration:BucketLifecycleConfiguration").map((c) => c.record.inputs.rules as any[]);
    for (const rules of lifecycles) {
      expect(rules.find((r) => r.id === "abort-incomplete-multipart-uploads").abortIncompleteMultipartUpload.daysAfterInitiation).toBe(7);
      expect(rules.find((r) => r.id === "expire-staging").expiration.days).toBe(1);
    }
    const checkpoints = lifecycles.find((rules) => rules.some((r) => r.id === "trim-noncurrent-versions"));
    expect(checkpoints?.find((r) => r.id === "trim-noncurrent-versions").noncurrentVersionExpiration).toEqual({
      noncurrentDays: 90,
      newerNoncurrentVersions: 5,
    });
    expect(ofType(run, "aws:s3/bucket:Bucket").every((b) => b.record.inputs.forceDestroy === false)).toBe(true);
  });

  it("declares a monthly budget filtered on the experiment's cost-allocation tag", () => {
    const budget = one(run, "aws:budgets/budget:Budget").record.inputs as any;
    expect(budget).toMatchObject({ budgetType: "COST", timeUnit: "MONTHLY", limitAmount: "500.00", limitUnit: "USD" });
    expect(budget.costFilters).toEqual([{ name: "TagKeyValue", values: ["user:trainctl:experiment$dev"] }]);
    expect(budget.notifications.map((n: any) => [n.notificationType, n.threshold])).toEqual([
      ["FORECASTED", 80],
      ["ACTUAL", 100],
    ]);
    expect(ofType(run, "aws:costexplorer/costAllocationTag:CostAllocationTag")).toHaveLength(0);
  });

  it("exports the outputs other tools read", () => {
    expect(run.outputs).toMatchObject({
      instanceId: expect.stringMatching(/^i-/),
      datasetsBucket: expect.any(String),
      checkpointsBucket: expect.any(String),
      mountPoint: "/mnt/data",
    });
    expect(run.outputs.dataVolumeIds).toEqual([expect.stringMatching(/^vol-/)]);
    expect(run.outputs.region).toBe("us-east-1");
    expect(run.outputs.privateIps).toHaveLength(1);
    // g5.xlarge spot capped at its 0.75 max price and a public IPv4 address, plus per month: 100 GiB gp3 root,
    // the 500 GiB data volume, 8 custom metrics, the dashboard and 150 GiB expected in S3 (priced like `trainctl cost`).
    const monthly = (100 + 500) * 0.08 + (6000 - 3000) * 0.005 + (500 - 125) * 0.04 + 8 * 0.3 + 3 + 150 * 0.023;
    expect(run.outputs.estimatedHourlyUsd).toBeCloseTo(0.75 + 0.005 + monthly / 730, 5);
    expect(run.outputs.ssmConnectCommand).toBe(`aws ssm start-session --region us-east-1 --target ${run.outputs.instanceId as string}`);
  });

  it("declares the experiment's dashboard under the Experiment, over the node's metrics, and exports its URL", () => {
    const dashboard = one(run, "aws:cloudwatch/dashboard:Dashboard");
    expect(dashboard.record.name).toBe("dev-dashboard");
    expect(dashboard.request.parent).toBe(one(run, "trainctl:experiment:Experiment").record.urn);
    expect(dashboard.request.protect).toBe(false);
    expect(dashboard.record.inputs.dashboardName).toBe("trainctl-dev");
    const body = JSON.parse(dashboard.record.inputs.dashboardBody as string);
    expect(body.widgets).toHaveLength(3);
    expect(JSON.stringify(body)).toContain(`"InstanceId","${run.outputs.instanceId as string}"`);
    expect(run.outputs.dashboardUrl).toBe("https://us-east-1.console.aws.amazon.com/cloudwatch/home?region=us-east-1#dashboards:name=trainctl-dev");
  });

  it("lets the nodes publish metrics to the trainctl namespace only", () => {
    const policy = JSON.parse(one(run, "aws:iam/rolePolicy:RolePolicy").record.inputs.policy as string);
    const publish = policy.Statement.filter((s: any) => [s.Action].flat().includes("cloudwatch:PutMetricData"));
    expect(publish).toEqual([expect.objectContaining({ Effect: "Allow", Condition: { StringEquals: { "cloudwatch:namespace": "trainctl" } } })]);
    expect(one(run, "aws:ec2/instance:Instance").record.inputs.userData).toContain("TRAINCTL_METRICS_NAMESPACE='trainctl'");
  });

  it("attaches the volume after the instance it belongs to", () => {
    const attachment = one(run, "aws:ec2/volumeAttachment:VolumeAttachment");
    expect(attachment.record.inputs.instanceId).toBe(run.outputs.instanceId);
    expect(attachment.request.protect).toBe(false);
  });
});

describe("variants", () => {
  it("count: 4 gives 4 nodes, 4 volumes, one cluster placement group and one self-referencing inline rule", async () => {
    const run = await runOffline({ stack: "dev", config: withConfig({ "trainctl:instance": { type: "p4d.24xlarge", count: 4, market: "on-demand" } }) });
    expect(ofType(run, "aws:ec2/instance:Instance")).toHaveLength(4);
    expect(ofType(run, "aws:ebs/volume:Volume")).toHaveLength(4);
    expect(one(run, "aws:ec2/placementGroup:PlacementGroup").record.inputs.strategy).toBe("cluster");
    // Every rule inline: no separate rule resource beside inline egress (item 10).
    expect(ofType(run, "aws:ec2/securityGroupRule:SecurityGroupRule")).toHaveLength(0);
    const ingress = one(run, "aws:ec2/securityGroup:SecurityGroup").record.inputs.ingress as Record<string, unknown>[];
    expect(ingress).toHaveLength(1);
    expect(ingress[0]).toMatchObject({ self: true, protocol: "-1" });
    expect(ingress[0].cidrBlocks).toBeUndefined();
    const names = ofType(run, "aws:ebs/volume:Volume").map((v) => (v.record.inputs.tags as Record<string, string>).Name);
    expect(new Set(names).size).toBe(4);
    // One dashboard for the experiment, with a widget set per node.
    const body = JSON.parse(one(run, "aws:cloudwatch/dashboard:Dashboard").record.inputs.dashboardBody as string);
    expect(body.widgets).toHaveLength(12);
  });

  it("protect: false turns off protect and retainOnDelete together and lets buckets be destroyed", async () => {
    const run = await runOffline({
      stack: "dev",
      config: withConfig({
        "trainctl:dataVolume": { sizeGiB: 50, warm: "none", protect: false },
        "trainctl:buckets": { datasets: { protect: false }, checkpoints: { protect: false } },
      }),
    });
    expect(run.captured.filter((c) => c.request.protect || c.request.retainOnDelete)).toEqual([]);
    expect(ofType(run, "aws:s3/bucket:Bucket").every((b) => b.record.inputs.forceDestroy === true)).toBe(true);
    expect(one(run, "aws:ebs/volume:Volume").record.inputs.volumeInitializationRate).toBeUndefined();
  });

  it("adopting a bucket and a volume uses Pulumi's import option and keeps them protected", async () => {
    const run = await runOffline({
      stack: "dev",
      config: withConfig({
        "trainctl:dataVolume": { adopt: "vol-0123456789abcdef0", availabilityZone: "us-east-1c", warm: "none" },
        "trainctl:buckets": { datasets: { adopt: "team-imagenet" }, checkpoints: {} },
      }),
    });
    const volume = one(run, "aws:ebs/volume:Volume");
    expect(volume.request).toMatchObject({ importId: "vol-0123456789abcdef0", protect: true, retainOnDelete: true });
    const adopted = ofType(run, "aws:s3/bucket:Bucket").find((b) => b.request.importId === "team-imagenet");
    expect(adopted?.request).toMatchObject({ protect: true, retainOnDelete: true });
    expect(adopted?.record.inputs.bucket).toBe("team-imagenet");
    expect(run.invokes).not.toContain("aws:ebs/getEbsVolumes:getEbsVolumes");
    expect((run.outputs.warnings as string[]).some((w) => w.includes("replaces its bucket policy and lifecycle"))).toBe(true);
    // The instance goes where the adopted volume is.
    expect(volume.record.inputs.availabilityZone).toBe("us-east-1c");
    const subnetLookups = run.invokes.filter((t) => t === "aws:ec2/getSubnets:getSubnets");
    expect(subnetLookups.length).toBeGreaterThan(0);
  });

  it("fails with an adoption hint when a volume of that name exists outside the stack", async () => {
    const failing = runOffline({
      stack: "dev",
      config: dev,
      invokes: (token) => (token === "aws:ebs/getEbsVolumes:getEbsVolumes" ? { ids: ["vol-0aaaaaaaaaaaaaaaa"] } : undefined),
    });
    await expect(failing).rejects.toThrow(
      /trainctl-dev-data-0 already exists outside this stack \(vol-0aaaaaaaaaaaaaaaa\); adopt it with trainctl:dataVolume.adopt: vol-0aaaaaaaaaaaaaaaa/,
    );
  });

  it("a volume the stack already manages is not a duplicate", async () => {
    const run = await runOffline({
      stack: "dev",
      config: dev,
      invokes: (token) => (token === "aws:ebs/getEbsVolumes:getEbsVolumes" ? { ids: ["vol-0bbbbbbbbbbbbbbbb"] } : undefined),
      stackOutputs: { dataVolumeIds: ["vol-0bbbbbbbbbbbbbbbb"] },
    });
    expect(ofType(run, "aws:ebs/volume:Volume")).toHaveLength(1);
  });

  it("fsr declares FastSnapshotRestore in the instance's zone and warns about its price", async () => {
    const run = await runOffline({
      stack: "dev",
      config: withConfig({
        "trainctl:network": { availabilityZone: "us-east-1b" },
        "trainctl:dataVolume": { snapshotId: "snap-0123456789abcdef0", sizeGiB: 500, warm: "fsr" },
      }),
    });
    const fsr = one(run, "aws:ebs/fastSnapshotRestore:FastSnapshotRestore").record.inputs;
    const volume = one(run, "aws:ebs/volume:Volume").record.inputs;
    expect(fsr).toEqual({ snapshotId: "snap-0123456789abcdef0", availabilityZone: "us-east-1b" });
    expect(volume.availabilityZone).toBe("us-east-1b");
    expect(volume.volumeInitializationRate).toBeUndefined();
    expect((run.outputs.warnings as string[]).some((w) => w.includes("$0.75/DSU-hour"))).toBe(true);
  });

  it("no default VPC is an error naming trainctl:network", async () => {
    const failing = runOffline({ stack: "dev", config: dev, invokes: (token) => (token === "aws:ec2/getVpcs:getVpcs" ? { ids: [] } : undefined) });
    await expect(failing).rejects.toThrow(/trainctl:network: this region has no default VPC/);
  });

  it("activateCostTags: retain keeps a migrating stack's cost-allocation tags, retained on delete (item 9)", async () => {
    const run = await runOffline({
      stack: "dev",
      config: withConfig({ "trainctl:budget": { monthlyUsd: 100, emails: ["a@example.com"], activateCostTags: "retain" } }),
    });
    const tags = ofType(run, "aws:costexplorer/costAllocationTag:CostAllocationTag");
    expect(tags.every((t) => t.request.retainOnDelete)).toBe(true);
    expect(tags.map((c) => c.record.inputs.tagKey)).toEqual(["trainctl:project", "trainctl:experiment", "trainctl:owner", "trainctl:cost-center"]);
  });

  it("a bad config registers nothing but the stack", async () => {
    const error = await runOffline({ stack: "dev", config: withConfig({ "trainctl:instance": { type: "g9.huge" } }) }).catch((e) => e);
    expect(error.message).toMatch(/trainctl:instance.type/);
    expect(error.exitCode).toBe(2);
    expect(error.registeredTypes).toEqual(["pulumi:pulumi:Stack"]);
  });

  it("a local dataset source declares the upload, and the instance stages from the uploaded location", async () => {
    const dir = mkdtempSync(path.join(tmpdir(), "trainctl-ds-"));
    writeFileSync(path.join(dir, "0.npy"), "x");
    const run = await runOffline({
      stack: "dev",
      config: withConfig({ "trainctl:dataset": { source: dir, strategy: "local-cache", format: "npy" }, "trainctl:dataVolume": undefined }),
    });
    const commands = ofType(run, "command:local:Command").map((c) => c.record);
    expect(commands.map((c) => c.name)).toEqual(["dev-data-path-upload", "dev-data-path-loader"]);
    const datasets = ofType(run, "aws:s3/bucket:Bucket").find((b) => b.record.name === "dev-datasets-bucket")!.record.outputs.bucket as string;
    expect(commands[0].inputs.create).toBe(`npx --no trainctl transfer ${dir} s3://${datasets}/dataset/ --sync`);
    expect(commands[1].inputs.create).toContain(
      `--strategy local-cache --format npy --data s3://${datasets}/dataset/ --instance-type g5.xlarge --cache-dir /opt/dlami/nvme/dataset`,
    );
    const userData = one(run, "aws:ec2/instance:Instance").record.inputs.userData as string;
    expect(userData).toContain(`TRAINCTL_DATASET_SOURCE='s3://${datasets}/dataset/'`);
    expect(run.outputs).toMatchObject({
      datasetLocation: `s3://${datasets}/dataset/`,
      loaderLocation: expect.stringMatching(/^s3:\/\/dev-checkpoints-.*\/code\/loader\.py$/),
    });
  });

  it("strategy auto asks the recommender: millions of small files on a g5.xlarge go to the local cache", async () => {
    const run = await runOffline({
      stack: "dev",
      config: withConfig({ "trainctl:dataset": { source: "s3://team-data/imagenet/", strategy: "auto", sizeGiB: 150, files: 1281167, epochs: 10 } }),
    });
    expect(run.outputs.dataStrategy).toBe("local-cache");
    const userData = one(run, "aws:ec2/instance:Instance").record.inputs.userData as string;
    expect(userData).toContain("TRAINCTL_DATASET_STRATEGY='local-cache'");
    expect(userData).toContain("TRAINCTL_DATASET_SOURCE='s3://team-data/imagenet/'");
  });

  it("a volume restored from a dataset snapshot is not staged onto", async () => {
    const run = await runOffline({ stack: "dev", config: dev });
    expect(run.outputs.dataStrategy).toBe("prewarmed-ebs");
    expect(one(run, "aws:ec2/instance:Instance").record.inputs.userData).toContain("TRAINCTL_DATASET_SOURCE=''");
  });
});

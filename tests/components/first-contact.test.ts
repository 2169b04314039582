/** Issue #16, items 1–10: what Pulumi's mocks accepted and AWS rejects. One block per item. */
import fc from "fast-check";
import { copyFileSync, mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import * as path from "node:path";
import { parse as parseYaml } from "yaml";
import { describe, expect, it } from "vitest";
import { defaultAmiProblem } from "../../core/ami";
import { EXPERIMENT_NAME, derivedNames, experimentNameProblem, maxExperimentNameLength } from "../../core/names";
import { chooseZone } from "../../core/zones";
import { parseStackConfig } from "../../core/config";
import { newExperimentFile } from "../../scripts/experiments/config-file";
import { type CapturedResource, type OfflineRun, PROJECT_ROOT, runOffline } from "../../scripts/state/offline-program";
import { fixtureConfig } from "../fixtures/stacks";

const dev = fixtureConfig("dev");
const ofType = (run: OfflineRun, type: string): CapturedResource[] => run.captured.filter((c) => c.record.type === type);
const EC2_TEXT = /^[a-zA-Z0-9 ._\-:/()#,@[\]+=&;{}!$*]*$/;
const attachments = (run: OfflineRun) => ofType(run, "aws:ec2/volumeAttachment:VolumeAttachment").map((a) => a.record.inputs);

describe("1. multi-node security group rules", () => {
  it("every security group and rule description in the 2-node stack uses only EC2's characters", async () => {
    const run = await runOffline({ stack: "2-node", config: fixtureConfig("2-node") });
    const descriptions = [
      ...ofType(run, "aws:ec2/securityGroup:SecurityGroup").flatMap((g) => [
        g.record.inputs.description,
        ...[...((g.record.inputs.ingress as object[]) ?? []), ...((g.record.inputs.egress as object[]) ?? [])].map(
          (x) => (x as { description?: string }).description,
        ),
      ]),
      ...ofType(run, "aws:ec2/securityGroupRule:SecurityGroupRule").map((x) => x.record.inputs.description),
    ];
    expect(descriptions.length).toBeGreaterThanOrEqual(3);
    for (const d of descriptions) expect(d).toMatch(EC2_TEXT);
  });
});

describe("2. detaching the data volume on destroy", () => {
  it("a one-time spot node (dev) is never stopped: termination detaches the volume", async () => {
    const run = await runOffline({ stack: "dev", config: dev });
    expect(attachments(run)).toEqual([expect.objectContaining({ skipDestroy: true })]);
    expect(attachments(run)[0].stopInstanceBeforeDetaching).toBeUndefined();
  });

  it("an on-demand node that autostop only stops is stopped before the detach", async () => {
    const run = await runOffline({ stack: "on-demand", config: fixtureConfig("on-demand") });
    expect(attachments(run)).toEqual([expect.objectContaining({ stopInstanceBeforeDetaching: true })]);
    expect(attachments(run)[0].skipDestroy).toBeUndefined();
  });

  it("an on-demand node that autostop terminates is not stopped either", async () => {
    const config = { ...dev, "trainctl:instance": { type: "g5.xlarge", market: "on-demand", autostop: { action: "terminate" } } };
    const run = await runOffline({ stack: "dev", config });
    expect(attachments(run)[0]).toMatchObject({ skipDestroy: true });
  });
});

describe("3. the incarnation id", () => {
  const withIncarnation = { ...dev, "trainctl:incarnation": "0123456789ab" };
  const volumesNamed = (own: boolean) => (token: string, inputs: Record<string, any>) => {
    if (token !== "aws:ebs/getEbsVolumes:getEbsVolumes") return undefined;
    const byIncarnation = (inputs.filters as { name: string }[]).some((f) => f.name === "tag:trainctl:incarnation");
    return { ids: !byIncarnation || own ? ["vol-0ccccccccccccccc1"] : [] };
  };

  it("tags the data volume with the experiment's incarnation", async () => {
    const run = await runOffline({ stack: "dev", config: withIncarnation });
    expect(ofType(run, "aws:ebs/volume:Volume")[0].record.inputs.tags).toMatchObject({ "trainctl:incarnation": "0123456789ab" });
  });

  it("a retry after a failed first up (no outputs yet) takes a volume of this incarnation as its own", async () => {
    const run = await runOffline({ stack: "dev", config: withIncarnation, invokes: volumesNamed(true) });
    expect(ofType(run, "aws:ebs/volume:Volume")).toHaveLength(1);
  });

  it("a retained volume of an earlier incarnation of the same name is still a duplicate", async () => {
    const error = await runOffline({ stack: "dev", config: withIncarnation, invokes: volumesNamed(false) }).catch((e) => e);
    expect(error.message).toMatch(/trainctl-dev-data-0 already exists outside this stack \(vol-0ccccccccccccccc1\)/);
  });

  it("experiment new writes a fresh incarnation, never the source's, and refuses names AWS would reject", () => {
    const dir = mkdtempSync(path.join(tmpdir(), "trainctl-new-"));
    copyFileSync(path.join(PROJECT_ROOT, "Pulumi.yaml"), path.join(dir, "Pulumi.yaml"));
    writeFileSync(
      path.join(dir, "Pulumi.dev.yaml"),
      `${readFileSync(path.join(PROJECT_ROOT, "Pulumi.dev.yaml"), "utf8")}  trainctl:incarnation: 0123456789ab\n`,
    );
    const file = newExperimentFile({ projectDir: dir, name: "run-2", from: "dev", sets: [] });
    const incarnation = parseYaml(readFileSync(file, "utf8")).config["trainctl:incarnation"];
    expect(incarnation).toMatch(/^[0-9a-f]{12}$/);
    expect(incarnation).not.toBe("0123456789ab");
    expect(() => newExperimentFile({ projectDir: dir, name: "Run_3", from: "dev", sets: [] })).toThrow(/experiment name "Run_3" must be lowercase/);
  });

  it("is validated as a config key", () => {
    expect(() => parseStackConfig({ ...dev, "trainctl:incarnation": "nope" })).toThrow(/trainctl:incarnation: expected 12 lowercase hex characters/);
  });
});

describe("4. names AWS accepts", () => {
  it("refuses capitals, _ and names too long for a derived name, and says which name overflows", () => {
    expect(experimentNameProblem("My_Exp", "trainctl")).toMatch(/lowercase letters, digits/);
    const max = maxExperimentNameLength("trainctl");
    expect(max).toBe(36); // the checkpoints bucket: `<name>-checkpoints-bucket-xxxxxxx` ≤ 63
    expect(experimentNameProblem("a".repeat(max), "trainctl")).toBeUndefined();
    expect(experimentNameProblem("a".repeat(max + 1), "trainctl")).toMatch(/checkpoints bucket .* would exceed 63/);
  });

  it("every derived name of every accepted experiment name fits its AWS limit (property)", () => {
    const project = fc.stringMatching(/^[a-z][a-z0-9-]{0,40}$/);
    fc.assert(
      fc.property(project, fc.stringMatching(/^[a-z0-9][a-z0-9-]{0,80}$/), (p, name) => {
        if (experimentNameProblem(name, p)) return;
        expect(name).toMatch(EXPERIMENT_NAME);
        for (const d of derivedNames(p, name)) expect(d.name.length, d.what).toBeLessThanOrEqual(d.max);
      }),
    );
  });

  it("the offline plan refuses an experiment name AWS would reject, with exit code 2", async () => {
    const error = await runOffline({ stack: "Team_Run", config: dev }).catch((e) => e);
    expect(error.exitCode).toBe(2);
    expect(error.message).toMatch(/^--stack: experiment name "Team_Run"/);
  });

  it("the budget name carries the project prefix", async () => {
    const run = await runOffline({ stack: "dev", project: "acme", config: dev });
    expect(ofType(run, "aws:budgets/budget:Budget")[0].record.inputs.name).toBe("acme-dev");
  });
});

describe("5. ARNs in the region's partition", () => {
  it("a GovCloud plan sends no arn:aws: ARN", async () => {
    const run = await runOffline({
      stack: "dev",
      config: { ...dev, "aws:region": "us-gov-west-1", "trainctl:dataset": { source: "s3://gov-datasets/imagenet/", strategy: "prewarmed-ebs" } },
    });
    const inputs = JSON.stringify(run.model.resources.filter((x) => x.type.startsWith("aws:")).map((x) => x.inputs));
    expect(inputs).toContain("arn:aws-us-gov:iam::aws:policy/AmazonSSMManagedInstanceCore");
    expect(inputs).not.toMatch(/arn:aws:/);
  });
});

describe("6. the availability zone", () => {
  const offering = (zones: string[]) => (token: string) =>
    token === "aws:ec2/getInstanceTypeOfferings:getInstanceTypeOfferings" ? { locations: zones } : undefined;

  it("goes to the first zone, in name order, that offers the instance type, and the plan says so", async () => {
    const run = await runOffline({ stack: "dev", config: dev, invokes: offering(["us-east-1c", "us-east-1b"]) });
    expect(ofType(run, "aws:ec2/instance:Instance")[0].record.inputs.subnetId).toBe("subnet-0000000000000000b");
    expect(ofType(run, "aws:ebs/volume:Volume")[0].record.inputs.availabilityZone).toBe("us-east-1b");
    expect(run.outputs.warnings).toContain("availability zone us-east-1b: the first of us-east-1b, us-east-1c (the zones offering g5.xlarge)");
  });

  it("a deployed experiment stays in its zone", async () => {
    const run = await runOffline({
      stack: "dev",
      config: dev,
      invokes: offering(["us-east-1a", "us-east-1b"]),
      stackOutputs: { availabilityZone: "us-east-1c" },
    });
    expect(ofType(run, "aws:ebs/volume:Volume")[0].record.inputs.availabilityZone).toBe("us-east-1c");
  });

  it("a type offered nowhere is an error naming trainctl:instance.type", () => {
    expect(() => chooseZone("p5.48xlarge", "us-west-1", [])).toThrow(
      /^trainctl:instance.type: p5.48xlarge is not offered in any availability zone of us-west-1/,
    );
  });
});

describe("7. the AMI family per instance family", () => {
  it("refuses V100, Trainium and Inferentia types on the default AMI, with the reason, unless an AMI is chosen", () => {
    expect(() => parseStackConfig({ ...dev, "trainctl:instance": { type: "p3.2xlarge", market: "on-demand" } })).toThrow(
      /trainctl:instance.type: p3.2xlarge cannot use the default AMI: its V100 \(Volta\)/,
    );
    expect(() => parseStackConfig({ ...dev, "trainctl:instance": { type: "trn1.2xlarge", market: "on-demand" } })).toThrow(/Neuron AMI/);
    expect(defaultAmiProblem("inf2.xlarge")).toMatch(/Neuron/);
    expect(() => parseStackConfig({ ...dev, "trainctl:instance": { type: "p3.2xlarge", market: "on-demand", amiParameter: "/my/volta/ami" } })).not.toThrow();
    for (const type of ["g4dn.xlarge", "g5.xlarge", "g6e.xlarge", "p4d.24xlarge", "p5.48xlarge"]) expect(defaultAmiProblem(type), type).toBeUndefined();
  });
});

describe("8. fast snapshot restore", () => {
  it("is declared once per snapshot and zone, shared by both nodes, with timeouts of ~60 min per TiB", async () => {
    const run = await runOffline({ stack: "fsr", config: fixtureConfig("fsr") });
    const fsr = ofType(run, "aws:ebs/fastSnapshotRestore:FastSnapshotRestore");
    expect(fsr).toHaveLength(1);
    // 2048 GiB: 120 min plus a margin.
    expect(fsr[0].request.customTimeouts).toMatchObject({ create: "135m", delete: "135m" });
    for (const v of ofType(run, "aws:ebs/volume:Volume")) expect(v.request.dependencies).toContain(fsr[0].record.urn);
  });
});

describe("9. cost-allocation tag activation leaves the stacks", () => {
  it("the old key gets an error naming the new way", () => {
    expect(() => parseStackConfig({ ...dev, "trainctl:budget": { monthlyUsd: 100, emails: ["a@example.com"], activateCostTags: true } })).toThrow(
      /trainctl:budget.activateCostTags: was removed: .*once per account.*activateCostTags: retain/,
    );
  });

  it("no stack declares the activation; a budget brings a standing note", async () => {
    const run = await runOffline({ stack: "dev", config: dev });
    expect(ofType(run, "aws:costexplorer/costAllocationTag:CostAllocationTag")).toHaveLength(0);
    expect((run.outputs.warnings as string[]).some((w) => /cost-allocation tag trainctl:experiment: activate .* once per account/.test(w))).toBe(true);
  });
});

describe("10. inputs the provider or AWS ignore or refuse", () => {
  it("no S3 Bucket Key with AES256, and no separate rule beside inline rules", async () => {
    const run = await runOffline({ stack: "2-node", config: fixtureConfig("2-node") });
    for (const e of ofType(run, "aws:s3/bucketServerSideEncryptionConfiguration:BucketServerSideEncryptionConfiguration")) {
      expect((e.record.inputs.rules as { bucketKeyEnabled?: boolean }[])[0].bucketKeyEnabled).toBeUndefined();
    }
    expect(ofType(run, "aws:ec2/securityGroupRule:SecurityGroupRule")).toHaveLength(0);
  });
});

import { mkdirSync, mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import * as path from "node:path";
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { CONTROL_CHARACTER } from "../../core/text";
import { checkConstraints } from "../../core/aws-constraints";
import type { ConfigError } from "../../core/errors";
import { IssueLog, controlCharacterIssues, crossFieldIssues, datasetSourceProblem, isMountPoint, volumePerformance } from "../../core/config";
import { acceptedConfig, stackConfig } from "./stack-config";

describe("IssueLog keeps independent issues only", () => {
  it("one issue per key: a second issue on the same key is dropped", () => {
    const log = new IssueLog();
    log.add({ path: "trainctl:dataVolume.iops", message: "first" });
    log.add({ path: "trainctl:dataVolume.iops", message: "second" });
    expect(log.issues).toEqual([{ path: "trainctl:dataVolume.iops", message: "first" }]);
  });

  it("an issue derived from a key that already has one is dropped; one derived from a clean key is kept", () => {
    const log = new IssueLog();
    log.add({ path: "trainctl:instance.market", message: "must be one of spot | on-demand" });
    log.add({ path: "trainctl:instance.maxPrice", message: "only with spot" }, ["trainctl:instance.market"]);
    log.add({ path: "trainctl:dataVolume.iops", message: "too many per GiB" }, ["trainctl:dataVolume.sizeGiB"]);
    expect(log.issues.map((i) => i.path)).toEqual(["trainctl:instance.market", "trainctl:dataVolume.iops"]);
  });

  it("a settled key (a typo of it was reported) takes no issue of its own", () => {
    const log = new IssueLog();
    log.settle("trainctl:owner");
    log.add({ path: "trainctl:owner", message: "is required" });
    expect(log.issues).toEqual([]);
  });
});

describe("controlCharacterIssues", () => {
  it("names the key path of each string holding a control character, arrays indexed", () => {
    const issues = controlCharacterIssues({
      owner: "alice",
      dataVolume: { mountPoint: "/mnt/data\nrm -rf /" },
      budget: { emails: ["a@example.com", "b@example.com\t"] },
    });
    expect(issues.map((i) => i.path)).toEqual(["trainctl:dataVolume.mountPoint", "trainctl:budget.emails[1]"]);
    expect(issues[0].message).toMatch(/control characters such as a newline/);
  });

  it("a control character in a map key is reported on that key, shown quoted", () => {
    const [issue] = controlCharacterIssues({ tags: { "team\nx": "v" } });
    expect(issue.path).toBe('trainctl:tags."team\\nx"');
    expect(issue.path).not.toContain("\n");
  });

  it("clean configs, numbers, booleans and nulls give none (property)", () => {
    const clean = fc.string().filter((s) => !CONTROL_CHARACTER.test(s));
    const value = fc.letrec((tie) => ({
      node: fc.oneof(
        { depthSize: "small" },
        clean,
        fc.integer(),
        fc.boolean(),
        fc.constant(null),
        fc.array(tie("node"), { maxLength: 3 }),
        fc.dictionary(clean, tie("node"), { maxKeys: 3 }),
      ),
    })).node;
    fc.assert(
      fc.property(value, (raw) => {
        expect(controlCharacterIssues(raw)).toEqual([]);
      }),
    );
  });
});

describe("crossFieldIssues", () => {
  const SNAPSHOT = "snap-0123456789abcdef0";
  // Configs as the schema leaves them, every default written out: what the rules read. `given` (what
  // was written) is the same object here, so every key counts as written.
  const full = ({ instance, ...rest }: Record<string, unknown> = {}) => ({
    region: "us-east-1",
    network: {},
    buckets: { datasets: {}, checkpoints: {} },
    ...rest,
    instance: { type: "g5.xlarge", market: "on-demand", autostop: { action: "terminate" }, ...(instance as object) },
  });
  const issues = (config: Record<string, unknown>) => {
    const parsed = full(config);
    return crossFieldIssues(parsed, parsed);
  };
  const paths = (config: Record<string, unknown>) => issues(config).map((i) => i.path);
  const gp3 = (volume: object) => ({ dataVolume: { type: "gp3", warm: "none", ...volume } });

  it("a valid config has none", () => {
    expect(issues({ instance: { market: "spot", maxPrice: 0.5 }, dataVolume: { type: "gp3", snapshotId: SNAPSHOT, warm: "rate", initRateMiBs: 300 } })).toEqual(
      [],
    );
  });

  it("each derived issue says which keys it follows from, so a mistake there suppresses it", () => {
    const [maxPrice] = issues({ instance: { maxPrice: 1 } });
    expect(maxPrice).toMatchObject({ path: "trainctl:instance.maxPrice", because: ["trainctl:instance.market"] });
    const [zone] = issues({ region: "eu-west-1", network: { availabilityZone: "us-east-1a" } });
    expect(zone).toMatchObject({ path: "trainctl:network.availabilityZone", because: ["aws:region"] });
  });

  it("one-time spot cannot stop; persistent spot can; spot options need the spot market", () => {
    expect(paths({ instance: { market: "spot", autostop: { action: "stop" } } })).toEqual(["trainctl:instance.autostop.action"]);
    expect(paths({ instance: { market: "spot", spot: { persistent: true }, autostop: { action: "stop" } } })).toEqual([]);
    expect(paths({ instance: { spot: { persistent: true } } })).toEqual(["trainctl:instance.spot"]);
  });

  it("an unknown type lists its family's known sizes, else the known families", () => {
    expect(issues({ instance: { type: "g5.3xlarge" } })[0].message).toMatch(/accepted: g5\.xlarge, g5\.2xlarge/);
    expect(issues({ instance: { type: "x9.large" } })[0].message).toMatch(/accepted: g4dn\.\*, g5\.\*/);
  });

  it("the default AMI's unsupported families are refused unless an AMI is chosen", () => {
    expect(paths({ instance: { type: "p3.2xlarge" } })).toEqual(["trainctl:instance.type"]);
    expect(paths({ instance: { type: "p3.2xlarge", amiParameter: "/my/ami" } })).toEqual([]);
  });

  it("gp3 limits: IOPS per GiB, throughput per IOPS (with the 3000 IOPS baseline when unset)", () => {
    expect(paths(gp3({ sizeGiB: 10, iops: 5_000 }))).toEqual([]);
    expect(paths(gp3({ sizeGiB: 10, iops: 5_001 }))).toEqual(["trainctl:dataVolume.iops"]);
    expect(paths(gp3({ sizeGiB: 100, throughputMiBs: 750 }))).toEqual([]);
    expect(paths(gp3({ sizeGiB: 100, throughputMiBs: 751 }))).toEqual(["trainctl:dataVolume.throughputMiBs"]);
  });

  it("io2 needs IOPS and takes no throughput", () => {
    const io2 = (volume: object) => ({ dataVolume: { type: "io2", warm: "none", sizeGiB: 100, ...volume } });
    expect(paths(io2({}))).toEqual(["trainctl:dataVolume.iops"]);
    expect(paths(io2({ iops: 1_000, throughputMiBs: 200 }))).toEqual(["trainctl:dataVolume.throughputMiBs"]);
  });

  it("an init rate the schema derived (warm: rate's default) is not blamed; one written without warm: rate is", () => {
    const derived = full(gp3({ snapshotId: SNAPSHOT, warm: "rate", initRateMiBs: 300 }));
    expect(crossFieldIssues(derived, { dataVolume: { snapshotId: SNAPSHOT } })).toEqual([]);
    const written = full(gp3({ snapshotId: SNAPSHOT, warm: "fio" }));
    expect(crossFieldIssues(written, { dataVolume: { snapshotId: SNAPSHOT, warm: "fio", initRateMiBs: 200 } }).map((i) => i.path)).toEqual([
      "trainctl:dataVolume.initRateMiBs",
    ]);
  });

  it("an initialization rate only with warm: rate, within 100..300", () => {
    expect(paths(gp3({ sizeGiB: 10, initRateMiBs: 200 }))).toEqual(["trainctl:dataVolume.initRateMiBs"]);
    expect(paths(gp3({ snapshotId: SNAPSHOT, warm: "rate", initRateMiBs: 301 }))).toEqual(["trainctl:dataVolume.initRateMiBs"]);
  });

  it("an adopted volume needs its zone, takes no snapshot and no creation-time warming", () => {
    expect(paths(gp3({ adopt: "vol-0123456789abcdef0", snapshotId: SNAPSHOT, warm: "rate" })).sort()).toEqual(
      ["trainctl:dataVolume.availabilityZone", "trainctl:dataVolume.snapshotId", "trainctl:dataVolume.warm"].sort(),
    );
    expect(paths(gp3({ adopt: "vol-0123456789abcdef0", availabilityZone: "us-east-1a", warm: "fio" }))).toEqual([]);
  });

  it("fsr needs a known zone", () => {
    const fsr = gp3({ snapshotId: SNAPSHOT, warm: "fsr" });
    expect(paths(fsr)).toEqual(["trainctl:dataVolume.warm"]);
    expect(paths({ ...fsr, network: { availabilityZone: "us-east-1a" } })).toEqual([]);
    expect(paths({ ...fsr, network: { subnetId: "subnet-0123456789abcdef0" } })).toEqual([]);
  });

  it("datasets keep every version: keepVersions/expireDays belong to checkpoints", () => {
    expect(paths({ buckets: { datasets: { keepVersions: 3 }, checkpoints: {} } })).toEqual(["trainctl:buckets.datasets"]);
    expect(paths({ buckets: { datasets: {}, checkpoints: { keepVersions: 3 } } })).toEqual([]);
  });

  it("through parseStackConfig, the rules see the schema's defaults: on-demand, us-east-1, warm following the snapshot", () => {
    const refused = (values: Record<string, unknown>) => {
      try {
        stackConfig(values);
        return [];
      } catch (error) {
        return (error as ConfigError).issues.map((i) => i.path);
      }
    };
    expect(refused({ "trainctl:instance": { spot: { persistent: true } } })).toEqual(["trainctl:instance.spot"]);
    expect(refused({ "trainctl:network": { availabilityZone: "us-east-1b" } })).toEqual([]);
    expect(refused({ "trainctl:dataVolume": { snapshotId: SNAPSHOT, initRateMiBs: 200 } })).toEqual([]);
    expect(refused({ "trainctl:dataVolume": { sizeGiB: 10, initRateMiBs: 200 } })).toEqual(["trainctl:dataVolume.initRateMiBs"]);
  });
});

describe("trainctl:tags: every map the schema accepts passes the guard's tag length rules", () => {
  const parseTags = (tags: Record<string, string>) => stackConfig({ "trainctl:tags": tags }).tags;
  const guardIssues = (tags: Record<string, string>) =>
    checkConstraints([{ type: "aws:ec2/instance:Instance", name: "dev-training-node-0", inputs: { tags }, tags }], { region: "us-east-1" }).map(
      (v) => v.rule.split(":")[0],
    );

  it("a 128-character key is refused by the config, naming the key, as EC2 refuses it (Tag.Key: at most 127)", () => {
    expect(() => parseTags({ ["k".repeat(128)]: "v" })).toThrow(/^trainctl:tags\.k{128}: invalid key/);
    expect(guardIssues({ ["k".repeat(128)]: "v" })).toContain("tag-key-length");
    expect(parseTags({ ["k".repeat(127)]: "v" })).toEqual({ ["k".repeat(127)]: "v" });
  });

  it("for keys and values up to and past the limits (property)", () => {
    const text = (max: number) =>
      fc.string({ unit: fc.constantFrom("a", "Z", "0", "_", ".", ":", "/", "=", "+", "-", "@", "é"), minLength: 1, maxLength: max });
    fc.assert(
      fc.property(fc.dictionary(text(130), fc.oneof(text(260), fc.constant("")), { maxKeys: 3 }), (tags) => {
        let parsed: Record<string, string>;
        try {
          parsed = parseTags(tags);
        } catch {
          return;
        }
        expect(guardIssues(parsed).filter((id) => id === "tag-key-length" || id === "tag-value-length" || id === "tag-charset")).toEqual([]);
      }),
      { numRuns: 150 },
    );
  });
});

describe("volumePerformance", () => {
  it("gp3: the provisioned figures, else the 3,000 IOPS and 125 MiB/s baseline", () => {
    expect(volumePerformance({ type: "gp3", iops: 6_000, throughputMiBs: 500 })).toEqual({ iops: 6_000, throughputMiBs: 500 });
    expect(volumePerformance({ type: "gp3" })).toEqual({ iops: 3_000, throughputMiBs: 125 });
  });

  it("io2: 256 KiB per I/O at the provisioned IOPS, at most 4,000 MiB/s; a throughput key is ignored", () => {
    expect(volumePerformance({ type: "io2", iops: 1_000, throughputMiBs: 999 })).toEqual({ iops: 1_000, throughputMiBs: 250 });
    expect(volumePerformance({ type: "io2", iops: 16_000 }).throughputMiBs).toBe(4_000);
    expect(volumePerformance({ type: "io2", iops: 256_000 }).throughputMiBs).toBe(4_000);
    expect(volumePerformance({ type: "io2" })).toEqual({ iops: 100, throughputMiBs: 25 });
  });

  it("every volume the schema accepts performs within its type's documented ranges (property)", () => {
    fc.assert(
      fc.property(
        fc.constantFrom("gp3" as const, "io2" as const),
        fc.integer({ min: 100, max: 256_000 }),
        fc.integer({ min: 125, max: 2_000 }),
        (type, iops, throughputMiBs) => {
          const volume = acceptedConfig({ "trainctl:dataVolume": { type, sizeGiB: 65_536, iops, ...(type === "gp3" ? { throughputMiBs } : {}) } })?.dataVolume;
          if (!volume) return;
          const performance = volumePerformance(volume);
          expect(performance.iops).toBe(iops);
          expect(performance.throughputMiBs).toBeGreaterThan(0);
          expect(performance.throughputMiBs).toBeLessThanOrEqual(type === "gp3" ? 2_000 : 4_000);
        },
      ),
    );
  });
});

describe("isMountPoint", () => {
  it("accepts absolute paths of letters, digits and . _ -, with or without a trailing slash", () => {
    for (const p of ["/mnt/data", "/mnt/data/", "/data", "/opt/dlami/nvme", "/mnt/data.v2_x-1", "/mnt/..hidden"]) expect(isMountPoint(p), p).toBe(true);
  });

  it("refuses /, relative paths, empty levels, dot levels, spaces and shell characters", () => {
    for (const p of ["/", "", "mnt/data", "//mnt", "/mnt//data", "/mnt/./data", "/mnt/..", "/mnt/data/..", "/mnt/my data", "/mnt/$(id)", "/mnt/a;b", "/mnt/ü"])
      expect(isMountPoint(p), p).toBe(false);
  });

  it("every accepted mount point is one fstab field and one shell word (property)", () => {
    fc.assert(
      fc.property(fc.string({ maxLength: 30 }), (p) => {
        if (!isMountPoint(p)) return;
        expect(p.startsWith("/")).toBe(true);
        expect(p).toMatch(/^[A-Za-z0-9._/-]+$/);
        expect(p.replace(/\/$/, "").split("/").slice(1)).not.toContain("..");
      }),
    );
  });
});

describe("datasetSourceProblem", () => {
  const project = mkdtempSync(path.join(tmpdir(), "trainctl-config-"));
  mkdirSync(path.join(project, "data", "train"), { recursive: true });
  mkdirSync(path.join(project, "node_modules", "pkg"), { recursive: true });
  writeFileSync(path.join(project, "data", "labels.csv"), "a,b\n");
  const context = { projectDir: project };

  it("s3:// URLs: a literal prefix is fine; wildcards and malformed buckets are named", () => {
    expect(datasetSourceProblem("s3://team-data/imagenet/", context)).toBeUndefined();
    expect(datasetSourceProblem("s3://team-data", context)).toBeUndefined();
    expect(datasetSourceProblem("s3://team-data/img*/", context)).toMatch(/wildcards/);
    expect(datasetSourceProblem("s3://Team_Data/x", context)).toMatch(/malformed S3 URL/);
    expect(datasetSourceProblem("s3://ab/x", context)).toMatch(/malformed S3 URL/);
  });

  it("other schemes are refused by name", () => {
    expect(datasetSourceProblem("gs://bucket/x", context)).toMatch(/unsupported scheme/);
    expect(datasetSourceProblem("https://example.com/data", context)).toMatch(/unsupported scheme/);
  });

  it("a local folder resolves against the project folder and must exist and be a folder", () => {
    expect(datasetSourceProblem("data/train", context)).toBeUndefined();
    expect(datasetSourceProblem(path.join(project, "data"), context)).toBeUndefined();
    expect(datasetSourceProblem("data/missing", context)).toMatch(/does not exist \(resolved to .*data\/missing\)/);
    expect(datasetSourceProblem("data/labels.csv", context)).toMatch(/is a file; a folder is required/);
  });

  it("the project's own node_modules or .git is never a dataset", () => {
    expect(datasetSourceProblem("node_modules/pkg", context)).toMatch(/node_modules or \.git/);
    expect(datasetSourceProblem("./data/../node_modules", context)).toMatch(/node_modules or \.git/);
    expect(datasetSourceProblem(".git", context)).toMatch(/node_modules or \.git/);
  });
});

import { describe, expect, it } from "vitest";
import type { StackModel } from "../../scripts/state/model";
import {
  type CloudResource,
  checkAccount,
  findLeaks,
  knownIdentifiers,
  leakMonthly,
  parseArn,
  parseDuration,
  sweepAction,
} from "../../scripts/teardown/leak-rules";
import { stateRecord } from "../helpers/records";

describe("sweep decisions", () => {
  it("reads ARNs of the kinds it handles, and keeps others whole", () => {
    expect(parseArn("arn:aws:ec2:us-east-1:111122223333:volume/vol-0abc12345")).toMatchObject({
      kind: "volume",
      id: "vol-0abc12345",
      type: "ec2:volume",
      account: "111122223333",
    });
    expect(parseArn("arn:aws:s3:::my-bucket")).toMatchObject({ kind: "bucket", id: "my-bucket", type: "s3:bucket" });
    expect(parseArn("arn:aws:ec2:us-east-1::snapshot/snap-0abc12345")).toMatchObject({ kind: "snapshot", id: "snap-0abc12345" });
    expect(parseArn("arn:aws:iam::111122223333:role/exp-role")).toMatchObject({ kind: "other", id: "role/exp-role", type: "iam:role" });
    expect(parseArn("arn:aws:ec2:us-east-1:1:security-group/sg-0abc12345")).toMatchObject({ kind: "other", type: "ec2:security-group" });
  });

  it("parses durations and names the flag on bad input", () => {
    expect(parseDuration("1h")).toBe(3_600_000);
    expect(parseDuration("30m")).toBe(1_800_000);
    expect(parseDuration("2d")).toBe(172_800_000);
    expect(() => parseDuration("1 hour")).toThrow(/^--min-age: "1 hour" is not a duration/);
    expect(() => parseDuration("-1h")).toThrow(/--min-age/);
  });

  it("knows ids, bucket names and ARNs from records and anywhere in their outputs", () => {
    const model: StackModel = {
      source: "state",
      stack: "s",
      project: "trainctl",
      deleted: [],
      resources: [
        stateRecord({
          urn: "u1",
          type: "aws:ec2/instance:Instance",
          name: "n",
          id: "i-0123456789abcdef0",
          outputs: {
            rootBlockDevice: { volumeId: "vol-0fedcba9876543210" },
            ebsBlockDevices: [{ snapshotId: "snap-0123456789abcdef0" }],
            privateIp: "10.0.0.1",
          },
        }),
        stateRecord({
          urn: "u2",
          type: "aws:s3/bucket:Bucket",
          name: "b",
          id: "exp-ckpt-1a2b",
          protect: true,
          retainOnDelete: true,
          outputs: { arn: "arn:aws:s3:::exp-ckpt-1a2b", bucket: "exp-ckpt-1a2b" },
        }),
      ],
    };
    expect([...knownIdentifiers([model])].sort()).toEqual([
      "arn:aws:s3:::exp-ckpt-1a2b",
      "exp-ckpt-1a2b",
      "i-0123456789abcdef0",
      "snap-0123456789abcdef0",
      "vol-0fedcba9876543210",
    ]);
  });

  it("treats an unknown age as young, and prices only what the catalog knows", () => {
    const r: CloudResource = {
      arn: "arn:aws:ec2:us-east-1:1:volume/vol-0abc12345",
      kind: "volume",
      id: "vol-0abc12345",
      type: "ec2:volume",
      tags: {},
      state: "available",
    };
    const now = new Date("2026-11-28T12:00:00Z");
    expect(findLeaks([r], new Set(), { now, minAgeMs: 0 }).skipped[0].reason).toMatch(/^age unknown/);
    const old = { ...r, createdAt: new Date("2026-11-27T12:00:00Z"), sizeGiB: 1000, volumeType: "gp3" };
    expect(findLeaks([old], new Set(), { now, minAgeMs: 3_600_000 }).leaks).toEqual([
      { resource: old, ageHours: 24, monthly: 80, action: "snapshot-and-delete" },
    ]);
    expect(leakMonthly({ ...r, kind: "instance", instanceType: "no.such", state: "running" })).toBeNull();
    expect(leakMonthly({ ...r, kind: "instance", instanceType: "g5.xlarge", state: "stopped" })).toBe(0);
    expect(sweepAction({ ...r, state: "in-use" }).action).toBeUndefined();
  });

  it("checks the account the aws-nuke way: named, equal, never blocklisted", () => {
    expect(() => checkAccount("111122223333", { blocklist: [] })).toThrow(/--execute needs --account 111122223333/);
    expect(() => checkAccount("111122223333", { account: "111122223334", blocklist: [] })).toThrow(/is not the caller's account/);
    expect(() => checkAccount("111122223333", { account: "111122223333", blocklist: ["111122223333"] })).toThrow(/blocklisted/);
    expect(() => checkAccount("111122223333", { account: "111122223333", blocklist: ["999999999999"] })).not.toThrow();
  });
});

import { describe, expect, it } from "vitest";
import { checkConstraints } from "../../core/aws-constraints";
import { STAGING_PREFIX } from "../../core/names";
import { BUCKET_LIFECYCLE, lifecycleRules } from "../../components/secure-bucket";
import { stackConfig } from "./stack-config";

describe("lifecycleRules", () => {
  it("always: abort stale multipart uploads after 7 days, expire staging after a day", () => {
    const rules = lifecycleRules({});
    expect(rules.map((r) => r.id)).toEqual(["abort-incomplete-multipart-uploads", "expire-staging"]);
    expect(rules[0]).toMatchObject({ status: "Enabled", filter: {}, abortIncompleteMultipartUpload: { daysAfterInitiation: 7 } });
    expect(rules[1]).toMatchObject({ filter: { prefix: STAGING_PREFIX }, expiration: { days: 1 }, noncurrentVersionExpiration: { noncurrentDays: 1 } });
    expect(BUCKET_LIFECYCLE.stagingPrefix).toBe("staging/");
  });

  it("noncurrent versions expire after expireDays, the newest keepVersions excepted; without expireDays nothing is trimmed", () => {
    expect(lifecycleRules({ keepVersions: 5, expireDays: 90 })[2]).toEqual({
      id: "trim-noncurrent-versions",
      status: "Enabled",
      filter: {},
      noncurrentVersionExpiration: { noncurrentDays: 90, newerNoncurrentVersions: 5 },
    });
    expect(lifecycleRules({ expireDays: 10 })[2].noncurrentVersionExpiration).toEqual({ noncurrentDays: 10, newerNoncurrentVersions: undefined });
    expect(lifecycleRules({ keepVersions: 3 }).map((r) => r.id)).not.toContain("trim-noncurrent-versions");
  });

  it("the checkpoints bucket's parsed config always carries expireDays, so its keepVersions always takes effect", () => {
    const { checkpoints } = stackConfig({ "trainctl:buckets": { checkpoints: { keepVersions: 3 } } }).buckets;
    expect(lifecycleRules(checkpoints)[2].noncurrentVersionExpiration).toEqual({ noncurrentDays: 90, newerNoncurrentVersions: 3 });
  });

  it("rule ids are unique and pass the guard's lifecycle rule", () => {
    const rules = lifecycleRules({ keepVersions: 100, expireDays: 3_650 });
    expect(new Set(rules.map((r) => r.id)).size).toBe(rules.length);
    const lifecycle = {
      type: "aws:s3/bucketLifecycleConfiguration:BucketLifecycleConfiguration",
      name: "dev-checkpoints-lifecycle",
      inputs: { rules },
      tags: {},
    };
    expect(checkConstraints([lifecycle], { region: "us-east-1" })).toEqual([]);
  });
});

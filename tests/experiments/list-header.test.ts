import { copyFileSync, mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import * as path from "node:path";
import { describe, expect, it } from "vitest";
import { listLines } from "../../scripts/commands/experiment";
import { ROOT, trainctl } from "../helpers/cli";
import { pathWithout } from "../helpers/fake-pulumi";

describe("experiment list's table", () => {
  it("starts with a header row whose columns line up with the rows'", () => {
    const [header, row] = listLines([
      {
        name: "dev",
        owner: "alice",
        instance: "g5.xlarge",
        market: "spot",
        strategy: "stream",
        hourlyUsd: 1.2,
        expires: "2099-01-01",
        expired: false,
        hasConfig: true,
      },
    ]);
    expect(header.split(/\s+/)).toEqual(["NAME", "OWNER", "INSTANCE", "MARKET", "STRATEGY", "$/HOUR", "EXPIRES", "NOTES"]);
    for (const [title, value] of [
      ["OWNER", "alice"],
      ["INSTANCE", "g5.xlarge"],
      ["$/HOUR", "$1.200/h"],
      ["EXPIRES", "2099-01-01"],
    ])
      expect(row.indexOf(value)).toBe(header.indexOf(title));
  });

  it("is what `trainctl experiment list` prints", () => {
    const dir = mkdtempSync(path.join(tmpdir(), "trainctl-list-"));
    for (const f of ["Pulumi.yaml", "Pulumi.dev.yaml"]) copyFileSync(path.join(ROOT, f), path.join(dir, f));
    const result = trainctl(["experiment", "list"], { env: { TRAINCTL_PROJECT_DIR: dir, PATH: pathWithout() } });
    expect(result.code, result.stderr).toBe(0);
    const lines = result.stderr.split("\n").filter((l) => !l.startsWith("warning:") && l.trim());
    expect(lines[0]).toMatch(/^NAME\s+OWNER\s+INSTANCE\s+MARKET\s+STRATEGY\s+\$\/HOUR\s+EXPIRES\s+NOTES$/);
    expect(lines[1]).toMatch(/^dev\s+alice\s+g5\.xlarge/);
  });
});

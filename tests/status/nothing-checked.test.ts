import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import * as path from "node:path";
import { describe, expect, it } from "vitest";
import { trainctlAsync } from "../helpers/cli";
import { pathWithout } from "../helpers/fake-pulumi";

describe("trainctl status with no credentials and no Pulumi CLI", () => {
  it("says it checked nothing (exit 1), not that no experiments exist", async () => {
    const home = mkdtempSync(path.join(tmpdir(), "status-nothing-"));
    const result = await trainctlAsync(["status"], {
      cwd: home,
      env: {
        PATH: pathWithout(),
        HOME: home,
        TRAINCTL_PULUMI: path.join(home, "no-pulumi"),
        AWS_ACCESS_KEY_ID: undefined,
        AWS_SECRET_ACCESS_KEY: undefined,
        AWS_SESSION_TOKEN: undefined,
        AWS_PROFILE: undefined,
        AWS_CONFIG_FILE: path.join(home, "no-config"),
        AWS_SHARED_CREDENTIALS_FILE: path.join(home, "no-credentials"),
        AWS_EC2_METADATA_DISABLED: "true",
        AWS_REGION: "us-east-1",
        // Nothing listens here: should credentials be found anyway, the call still fails at once.
        AWS_ENDPOINT_URL: "http://127.0.0.1:9",
      },
    });
    expect(result.code, result.stderr).toBe(1);
    expect(result.stderr).toMatch(/^error: status checked nothing: the Pulumi CLI is not installed.*; Tagging API GetResources failed in us-east-1: /m);
    expect(result.stderr).not.toMatch(/no experiments found/);
  });
});

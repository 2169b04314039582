import { mkdtempSync, readFileSync } from "node:fs";
import { tmpdir } from "node:os";
import * as path from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { exportStack, findPulumi, listStacks, requirePulumi, runPulumi, stackOutputs } from "../../scripts/state/pulumi-cli";
import { installFakePulumi, pathWithout } from "../helpers/fake-pulumi";

const STATE = path.join(__dirname, "..", "fixtures", "dev.state.json");
const saved = { PATH: process.env.PATH, TRAINCTL_PULUMI: process.env.TRAINCTL_PULUMI };
afterEach(() => {
  process.env.PATH = saved.PATH;
  if (saved.TRAINCTL_PULUMI === undefined) delete process.env.TRAINCTL_PULUMI;
  else process.env.TRAINCTL_PULUMI = saved.TRAINCTL_PULUMI;
});

describe("finding the Pulumi CLI", () => {
  it("looks on PATH, honours TRAINCTL_PULUMI, and says how to install it when missing", () => {
    const fake = installFakePulumi();
    expect(findPulumi({ PATH: pathWithout(fake.dir) })).toBe(fake.bin);
    expect(findPulumi({ PATH: pathWithout() })).toBeUndefined();
    expect(findPulumi({ PATH: pathWithout(), TRAINCTL_PULUMI: fake.bin })).toBe(fake.bin);
    expect(findPulumi({ PATH: pathWithout(fake.dir), TRAINCTL_PULUMI: "/nonexistent/pulumi" })).toBeUndefined();
    expect(() => requirePulumi({ PATH: pathWithout() })).toThrow(
      "the Pulumi CLI is not installed; install it with `curl -fsSL https://get.pulumi.com | sh` (or see https://www.pulumi.com/docs/install/) and run again",
    );
  });
});

describe("running the CLI through the fake", () => {
  it("parses stack export, stack output and stack ls, with the exact argv", () => {
    const fake = installFakePulumi({
      responses: [
        { prefix: ["stack", "export"], stdout: readFileSync(STATE, "utf8") },
        { prefix: ["stack", "output"], stdout: JSON.stringify({ instanceId: "i-0abc", checkpointsBucket: "dev-ckpt" }) },
        {
          prefix: ["stack", "ls"],
          stdout: JSON.stringify([
            { name: "dev", current: true, resourceCount: 29 },
            { name: "exp-2", current: false },
          ]),
        },
      ],
    });
    process.env.TRAINCTL_PULUMI = fake.bin;
    const cwd = mkdtempSync(path.join(tmpdir(), "project-"));
    expect(exportStack("dev", cwd).resources).toHaveLength(32);
    expect(stackOutputs("dev", cwd)).toEqual({ instanceId: "i-0abc", checkpointsBucket: "dev-ckpt" });
    expect(listStacks(cwd).map((s) => s.name)).toEqual(["dev", "exp-2"]);
    expect(fake.invocations().map((i) => [i.argv, i.cwd])).toEqual([
      [["stack", "export", "--stack", "dev"], cwd],
      [["stack", "output", "--json", "--show-secrets=false", "--stack", "dev"], cwd],
      [["stack", "ls", "--json"], cwd],
    ]);
  });

  it("turns a failing CLI into one line naming the command and its last error line", () => {
    const fake = installFakePulumi({ responses: [{ prefix: ["stack", "export"], stderr: "warning: x\nerror: no stack named 'nope' found\n", code: 255 }] });
    process.env.TRAINCTL_PULUMI = fake.bin;
    expect(() => exportStack("nope")).toThrow("--stack: pulumi stack export --stack nope failed (exit 255): error: no stack named 'nope' found");
  });

  it("answers from a function and writes files named by a flag, as the Automation API needs", () => {
    const fake = installFakePulumi({
      responses: (argv) => {
        if (argv[0] === "up") return { stdout: "done\n", files: { "@--event-log": '{"sequence":1,"summaryEvent":{}}\n' } };
        if (argv[0] === "whoami") return { stdout: `call ${argv.length}\n`, code: 3 };
        return undefined;
      },
    });
    const log = path.join(mkdtempSync(path.join(tmpdir(), "events-")), "events.jsonl");
    const env = { PATH: pathWithout(fake.dir), PULUMI_BACKEND_URL: "file:///tmp/state" };
    expect(runPulumi(["version"], { env }).stdout).toBe("v3.248.0\n");
    expect(runPulumi(["up", "--yes", "--skip-preview", "--event-log", log], { env })).toEqual({ code: 0, stdout: "done\n", stderr: "" });
    expect(readFileSync(log, "utf8")).toContain("summaryEvent");
    expect(runPulumi(["whoami"], { env })).toEqual({ code: 3, stdout: "call 1\n", stderr: "" });
    expect(fake.invocations()[1].env).toEqual({ PULUMI_BACKEND_URL: "file:///tmp/state" });
  });
});

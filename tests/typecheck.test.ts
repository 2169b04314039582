import { spawnSync } from "node:child_process";
import * as path from "node:path";
import { expect, it } from "vitest";

const root = path.resolve(__dirname, "..");

// The whole tree type-checks with the strict flags of `npm run lint:types` (no unused code, no switch fallthrough),
// including code CI cannot run (the real-AWS e2e suite) and the benches.
it("the project type-checks with tsc --noEmit and the lint:types flags", () => {
  const lintFlags = require("../package.json")
    .scripts["lint:types"].split(" ")
    .filter((word: string) => word.startsWith("--noUnused") || word.startsWith("--noFallthrough"));
  expect(lintFlags).toHaveLength(3);
  const tsc = spawnSync(
    process.execPath,
    [path.join(root, "node_modules", "typescript", "bin", "tsc"), "--noEmit", "-p", path.join(root, "tsconfig.json"), ...lintFlags],
    {
      cwd: root,
      encoding: "utf8",
    },
  );
  expect(tsc.stdout + tsc.stderr).toBe("");
  expect(tsc.status).toBe(0);
}, 180_000);

import * as path from "node:path";
// A type-only import: vitest/config is ESM, and this file type-checks as CommonJS with the project.
import type { ViteUserConfig } from "vitest/config" with { "resolution-mode": "import" };

// The real-AWS suite: `TRAINCTL_E2E=1 npm run test:e2e` (docs/e2e.md). Never part of `npm test`.
const config: ViteUserConfig = {
  root: path.resolve(__dirname, "..", ".."),
  test: {
    include: ["tests/e2e/**/*.e2e.ts"],
    // Refuses the whole run without TRAINCTL_E2E=1, before any test is collected.
    globalSetup: ["tests/e2e/global-setup.ts"],
    // One throwaway stack, one file, steps in order; the suite's own deadline is tighter than these.
    fileParallelism: false,
    testTimeout: 20 * 60_000,
    hookTimeout: 40 * 60_000,
    pool: "forks",
  },
};
export default config;

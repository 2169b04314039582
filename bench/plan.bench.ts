import { spawnSync } from "node:child_process";
import { rmSync, writeFileSync } from "node:fs";
import * as path from "node:path";
import { type BenchModule, median } from "./run";

const ROOT = path.resolve(__dirname, "..");
const TSX = path.join(ROOT, "node_modules", ".bin", "tsx");

function wall(args: string[], cwd = ROOT): number {
  const start = process.hrtime.bigint();
  const result = spawnSync(TSX, [path.join(ROOT, "scripts", "cli.ts"), ...args], { cwd, encoding: "utf8" });
  if (result.status !== 0) throw new Error(`trainctl ${args.join(" ")} failed: ${result.stderr}`);
  return Number(process.hrtime.bigint() - start) / 1e9;
}

const bench: BenchModule = {
  title: "Offline plan: dev stack, and scaling with instance.count",
  run() {
    const runs = 5;
    // Peer: starting the same CLI for a command that loads nothing (--version), so the ratio shows what planning adds.
    const baseline = median(Array.from({ length: runs }, () => wall(["--version"])));
    const dev = median(Array.from({ length: runs }, () => wall(["plan", "--stack", "dev", "--json"])));
    const rows: string[] = [];
    const points: [number, number][] = [];
    const stacks: string[] = [];
    for (const count of [1, 8, 16, 32]) {
      const name = `bench-count-${count}`;
      const file = path.join(ROOT, `Pulumi.${name}.yaml`);
      writeFileSync(
        file,
        `config:\n  trainctl:owner: bench\n  trainctl:costCenter: bench\n  trainctl:instance:\n    type: p4d.24xlarge\n    count: ${count}\n  trainctl:dataVolume:\n    sizeGiB: 500\n`,
      );
      stacks.push(file);
      const seconds = median(Array.from({ length: 3 }, () => wall(["plan", "--stack", name, "--json"])));
      rows.push(`| ${count} | ${seconds.toFixed(2)} s |`);
      points.push([count, seconds]);
    }
    for (const file of stacks) rmSync(file);
    // Least-squares line through the points: the time each node adds, and how far the points stray from it.
    const n = points.length;
    const mx = points.reduce((s, [x]) => s + x, 0) / n;
    const my = points.reduce((s, [, y]) => s + y, 0) / n;
    const slope = points.reduce((s, [x, y]) => s + (x - mx) * (y - my), 0) / points.reduce((s, [x]) => s + (x - mx) ** 2, 0);
    const worst = Math.max(...points.map(([x, y]) => Math.abs(y - (my + slope * (x - mx)))));
    return [
      "## Offline plan",
      "",
      `Measured ${new Date().toISOString().slice(0, 10)} on a 2-core machine, wall time of the whole CLI process (\`trainctl plan --json\`), median of ${runs} runs.`,
      "Peer: the same CLI process printing `--version`, i.e. Node, tsx and module start-up without planning.",
      "",
      `| what | median wall | ratio to the peer |`,
      `|---|---|---|`,
      `| \`trainctl --version\` (peer) | ${baseline.toFixed(2)} s | 1.00× |`,
      `| \`trainctl plan --stack dev\` | ${dev.toFixed(2)} s | ${(dev / baseline).toFixed(2)}× |`,
      "",
      "Scaling with `instance.count` (each node adds an instance, a data volume and an attachment; median of 3):",
      "",
      "| count | median wall |",
      "|---|---|",
      ...rows,
      "",
      `Linear fit: ${(slope * 1000).toFixed(1)} ms per node; the largest distance of a point from the line is ${(worst * 1000).toFixed(0)} ms.`,
    ].join("\n");
  },
};
export default bench;

import { spawnSync } from "node:child_process";
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import * as path from "node:path";
import { startS3rver } from "../tests/helpers/s3rver";
import { type BenchModule, median } from "./run";

const ROOT = path.resolve(__dirname, "..");

function time(command: string, args: string[], env: NodeJS.ProcessEnv): number {
  const start = process.hrtime.bigint();
  const result = spawnSync(command, args, { env, encoding: "utf8", maxBuffer: 1 << 26 });
  if (result.status !== 0) throw new Error(`${command} ${args.join(" ")} failed: ${result.stderr.slice(0, 400)}`);
  return Number(process.hrtime.bigint() - start) / 1e9;
}

const bench: BenchModule = {
  title: "trainctl transfer against rclone and aws-cli on s3rver",
  async run() {
    const s3 = await startS3rver(["bench-bucket"]);
    const work = mkdtempSync(path.join(tmpdir(), "trainctl-transfer-bench-"));
    try {
      const small = path.join(work, "small");
      mkdirSync(small);
      for (let i = 0; i < 5000; i++) writeFileSync(path.join(small, `${i}.bin`), Buffer.alloc(4096, i % 256));
      const big = path.join(work, "big");
      mkdirSync(big);
      writeFileSync(path.join(big, "one.bin"), Buffer.alloc(1024 * 1024 * 1024, 7));
      const env = { ...process.env, ...s3.env() };
      const rcloneEnv = { ...env, RCLONE_CONFIG_BENCH_TYPE: "s3", RCLONE_CONFIG_BENCH_PROVIDER: "Other", RCLONE_CONFIG_BENCH_ENDPOINT: s3.endpoint, RCLONE_CONFIG_BENCH_ACCESS_KEY_ID: "S3RVER", RCLONE_CONFIG_BENCH_SECRET_ACCESS_KEY: "S3RVER", RCLONE_CONFIG_BENCH_FORCE_PATH_STYLE: "true" };
      delete (rcloneEnv as Record<string, string | undefined>).AWS_CA_BUNDLE;
      const transfers = "16";
      const tools = {
        trainctl: (src: string, dst: string) => time(process.execPath, ["--import", `file://${ROOT}/node_modules/tsx/dist/loader.mjs`, path.join(ROOT, "scripts", "cli.ts"), "transfer", src, dst, "--concurrency", transfers], env),
        rclone: (src: string, dst: string) => time("rclone", ["copy", src.replace("s3://", "bench:"), dst.replace("s3://", "bench:"), "--transfers", transfers, "--s3-upload-concurrency", "4"], rcloneEnv),
        "aws-cli": (src: string, dst: string) => time("/usr/bin/aws", ["s3", "cp", "--recursive", "--only-show-errors", "--endpoint-url", s3.endpoint, src, dst], env),
      };
      const results: Record<string, Record<string, number[]>> = {};
      const cases: [string, string, number][] = [
        ["5,000 × 4 KiB up", small, 5000 * 4096],
        ["1 GiB file up", big, 1024 ** 3],
      ];
      for (let round = 0; round < 3; round++) {
        for (const [name, folder] of cases) {
          for (const [tool, run] of Object.entries(tools)) {
            const key = `${tool}-${round}-${path.basename(folder)}`;
            const up = run(folder, `s3://bench-bucket/${key}/`);
            const down = run(`s3://bench-bucket/${key}/`, path.join(work, "down", key));
            rmSync(path.join(work, "down", key), { recursive: true, force: true });
            ((results[name] ??= {})[tool] ??= []).push(up);
            ((results[name.replace(" up", " down")] ??= {})[tool] ??= []).push(down);
          }
        }
      }
      const rows: string[] = [];
      for (const [name, byTool] of Object.entries(results)) {
        const bytes = name.startsWith("5,000") ? 5000 * 4096 : 1024 ** 3;
        const ours = median(byTool.trainctl);
        const peers = ["rclone", "aws-cli"].map((t) => `${t} ${median(byTool[t]).toFixed(2)} s (${(median(byTool[t]) / ours).toFixed(2)}×)`);
        rows.push(`| ${name} | ${ours.toFixed(2)} s (${(bytes / 1048576 / ours).toFixed(0)} MiB/s) | ${peers.join(" · ")} |`);
      }
      return [
        "## Transfer",
        "",
        `Measured ${new Date().toISOString().slice(0, 10)} on a 2-core machine (other work may have been running), against one s3rver on loopback;`,
        `whole-command wall time, median of 3 alternating rounds; ${transfers} concurrent transfers for every tool (rclone \`--transfers ${transfers}\`,`,
        "aws-cli's default 10). The ratio is the peer's time over trainctl's: above 1 means trainctl is faster.",
        "",
        "| case | trainctl | peers (ratio) |",
        "|---|---:|---|",
        ...rows,
        "",
        "s3rver is single-threaded and stores on the same disk, so absolute rates are far below real S3.",
      ].join("\n");
    } finally {
      await s3.stop();
      rmSync(work, { recursive: true, force: true });
    }
  },
};
export default bench;

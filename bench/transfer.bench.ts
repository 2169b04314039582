import { spawnSync } from "node:child_process";
import { closeSync, mkdirSync, mkdtempSync, openSync, readFileSync, rmSync, writeFileSync, writeSync } from "node:fs";
import { tmpdir } from "node:os";
import * as path from "node:path";
import { startS3rver } from "../tests/helpers/s3rver";
import { type BenchModule, median } from "./run";

const ROOT = path.resolve(__dirname, "..");
const MIB = 1024 * 1024;
const RSS_CAP_MIB = 300;

interface Timing {
  seconds: number;
  /** CPU seconds s3rver spent serving this run. */
  serverCpu: number;
}

/** CPU seconds a process has used so far: utime + stime from /proc/PID/stat, in clock ticks of 1/100 s. */
function cpuSeconds(pid: number): number {
  const fields = readFileSync(`/proc/${pid}/stat`, "utf8").split(") ")[1].split(" ");
  return (Number(fields[11]) + Number(fields[12])) / 100;
}

function run(command: string, args: string[], env: NodeJS.ProcessEnv, serverPid: number): Timing {
  const cpu = cpuSeconds(serverPid);
  const start = process.hrtime.bigint();
  const result = spawnSync(command, args, { env, encoding: "utf8", maxBuffer: 1 << 26 });
  if (result.status !== 0) throw new Error(`${command} ${args.join(" ")} failed: ${result.stderr.slice(0, 400)}`);
  return { seconds: Number(process.hrtime.bigint() - start) / 1e9, serverCpu: cpuSeconds(serverPid) - cpu };
}

/** The CLI as the benchmark runs it: node with tsx's loader, one process. */
const trainctl = (...args: string[]) => [process.execPath, "--import", `file://${ROOT}/node_modules/tsx/dist/loader.mjs`, path.join(ROOT, "scripts", "cli.ts"), ...args];

/** Wall time and peak RSS (GNU time's %M, the child's high-water mark) of one command. */
function peak(command: string[], env: NodeJS.ProcessEnv, serverPid: number, work: string): { seconds: number; mib: number } {
  const report = path.join(work, "time.txt");
  const { seconds } = run("/usr/bin/time", ["-f", "%M", "-o", report, ...command], env, serverPid);
  return { seconds, mib: Number(readFileSync(report, "utf8").trim().split("\n").pop()) / 1024 };
}

/** A file of `size` bytes written in 64 MiB blocks (never held in memory whole). */
function writeBigFile(file: string, size: number): void {
  const block = Buffer.alloc(64 * MIB);
  const fd = openSync(file, "w");
  try {
    for (let written = 0; written < size; written += block.length) writeSync(fd, block.fill(written / block.length), 0, Math.min(block.length, size - written));
  } finally {
    closeSync(fd);
  }
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
      writeBigFile(path.join(big, "one.bin"), 1024 ** 3);
      const env = { ...process.env, ...s3.env() };
      const rcloneEnv = { ...env, RCLONE_CONFIG_BENCH_TYPE: "s3", RCLONE_CONFIG_BENCH_PROVIDER: "Other", RCLONE_CONFIG_BENCH_ENDPOINT: s3.endpoint, RCLONE_CONFIG_BENCH_ACCESS_KEY_ID: "S3RVER", RCLONE_CONFIG_BENCH_SECRET_ACCESS_KEY: "S3RVER", RCLONE_CONFIG_BENCH_FORCE_PATH_STYLE: "true" };
      delete (rcloneEnv as Record<string, string | undefined>).AWS_CA_BUNDLE;
      const transfers = "16";
      const tools: Record<string, (src: string, dst: string) => Timing> = {
        trainctl: (src, dst) => {
          const [node, ...args] = trainctl("transfer", src, dst, "--concurrency", transfers);
          return run(node, args, env, s3.pid);
        },
        rclone: (src, dst) => run("rclone", ["copy", src.replace("s3://", "bench:"), dst.replace("s3://", "bench:"), "--transfers", transfers, "--s3-upload-concurrency", "4"], rcloneEnv, s3.pid),
        "aws-cli": (src, dst) => run("/usr/bin/aws", ["s3", "cp", "--recursive", "--only-show-errors", "--endpoint-url", s3.endpoint, src, dst], env, s3.pid),
      };
      const results: Record<string, Record<string, Timing[]>> = {};
      const cases: [string, string][] = [
        ["5,000 × 4 KiB up", small],
        ["1 GiB file up", big],
      ];
      for (let round = 0; round < 3; round++) {
        for (const [name, folder] of cases) {
          for (const [tool, copy] of Object.entries(tools)) {
            const key = `${tool}-${round}-${path.basename(folder)}`;
            const up = copy(folder, `s3://bench-bucket/${key}/`);
            const down = copy(`s3://bench-bucket/${key}/`, path.join(work, "down", key));
            rmSync(path.join(work, "down", key), { recursive: true, force: true });
            ((results[name] ??= {})[tool] ??= []).push(up);
            ((results[name.replace(" up", " down")] ??= {})[tool] ??= []).push(down);
          }
        }
      }
      const atRest = trainctl("transfer", "--help");
      const startup = median([0, 1, 2].map(() => run(atRest[0], atRest.slice(1), env, s3.pid).seconds));
      const idle = peak(atRest, env, s3.pid, work);

      // Peak memory while moving one 4 GiB file each way.
      const huge = path.join(work, "huge");
      mkdirSync(huge);
      writeBigFile(path.join(huge, "four.bin"), 4 * 1024 ** 3);
      rmSync(big, { recursive: true, force: true });
      const hugeUp = peak(trainctl("transfer", huge, "s3://bench-bucket/huge/", "--concurrency", transfers), env, s3.pid, work);
      rmSync(huge, { recursive: true, force: true });
      const hugeDown = peak(trainctl("transfer", "s3://bench-bucket/huge/", path.join(work, "huge-down"), "--concurrency", transfers), env, s3.pid, work);

      const rows: string[] = [];
      const verdicts: string[] = [];
      for (const [name, byTool] of Object.entries(results)) {
        const bytes = name.startsWith("5,000") ? 5000 * 4096 : 1024 ** 3;
        const time = (tool: string) => median(byTool[tool].map((t) => t.seconds));
        const server = (tool: string) => median(byTool[tool].map((t) => t.serverCpu)).toFixed(1);
        const ours = time("trainctl");
        const ratio = (tool: string) => time(tool) / ours;
        const peers = ["rclone", "aws-cli"].map((t) => `${t} ${time(t).toFixed(2)} s (${ratio(t).toFixed(2)}×)`);
        rows.push(`| ${name} | ${ours.toFixed(2)} s (${(bytes / MIB / ours).toFixed(0)} MiB/s) | ${peers.join(" · ")} | ${server("trainctl")} / ${server("rclone")} / ${server("aws-cli")} s |`);
        const [needRclone, needAws] = name.startsWith("5,000") ? [1.5, 2] : [1, 1];
        const met = ratio("rclone") >= needRclone && ratio("aws-cli") >= needAws;
        // The target's time budget against what s3rver alone spent serving trainctl's requests (median, same rounds).
        const budget = Math.min(time("rclone") / needRclone, time("aws-cli") / needAws);
        const serverAlone = median(byTool.trainctl.map((t) => t.serverCpu));
        const bound = !met && serverAlone > budget ? ` Out of reach on this server: the target allows ${budget.toFixed(2)} s, and s3rver alone spent ${serverAlone.toFixed(2)} s of CPU serving trainctl's requests.` : "";
        verdicts.push(`- ${name}: target ≥${needRclone}× rclone and ≥${needAws}× aws-cli — **${met ? "met" : "not met"}** (${ratio("rclone").toFixed(2)}× / ${ratio("aws-cli").toFixed(2)}×).${bound}`);
      }
      const rss = (what: string, r: { seconds: number; mib: number }) => `| ${what} | ${r.seconds.toFixed(1)} s | ${r.mib.toFixed(0)} MiB | ${r.mib < RSS_CAP_MIB ? "yes" : "**no**"} |`;
      return [
        "## Transfer",
        "",
        `Measured ${new Date().toISOString().slice(0, 10)} on a 2-core machine (figures vary by up to ±30% between runs; s3rver shares the two cores), against one s3rver on loopback;`,
        `whole-command wall time, median of 3 alternating rounds; ${transfers} concurrent transfers for every tool (rclone \`--transfers ${transfers}\`,`,
        "aws-cli's default 10). The ratio is the peer's time over trainctl's: above 1 means trainctl is faster. The last column is the CPU",
        "time s3rver itself spent serving each tool's run (from /proc), out of the wall time in the same row.",
        "",
        "| case | trainctl | peers (ratio) | s3rver CPU (trainctl / rclone / aws-cli) |",
        "|---|---:|---|---|",
        ...rows,
        "",
        "Against the targets of issue #6:",
        "",
        ...verdicts,
        "",
        `Fixed cost in every trainctl row: starting the CLI takes ${startup.toFixed(2)} s (\`trainctl transfer --help\`, median of 3): Node,`,
        "tsx compiling the TypeScript and loading the S3 client (only the command being run is loaded); rclone starts in",
        `milliseconds. Less the start-up, trainctl's times are ${Object.entries(results).map(([name, byTool]) => `${(median(byTool.trainctl.map((t) => t.seconds)) - startup).toFixed(2)} s (${name})`).join(", ")}.`,
        "Small objects (up to 256 KiB) go as one signed HTTP request each, without the AWS SDK's per-request middleware",
        "(docs/transfer.md). s3rver is single-threaded, so no run can take less wall time than the CPU s3rver spends serving it",
        "(last column): a peer whose wall time is close to that figure is bound by the server here, and no client can be much",
        "faster than it on this machine. trainctl also checks the CRC32C of every byte it downloads (about 0.3 s of CPU per GiB),",
        "which neither peer does.",
        "",
        `Peak memory (GNU time's maximum RSS) while moving one 4 GiB file, ${transfers} concurrent requests; the cap is ${RSS_CAP_MIB} MiB:`,
        "",
        "| run | wall | peak RSS | under the cap |",
        "|---|---:|---:|---|",
        rss("`trainctl transfer --help` (the CLI at rest, for reference)", idle),
        rss("4 GiB file up", hugeUp),
        rss("4 GiB file down", hugeDown),
        "",
        "Upload part buffers are pooled and capped at 48 MiB in all (`PART_BUFFER_BYTES`); a download writes each ranged GET straight",
        "to its place in the file in 1 MiB batches, the part's CRC32C computed as it arrives, so it holds at most a batch per request.",
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

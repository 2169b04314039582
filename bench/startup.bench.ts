import { spawnSync } from "node:child_process";
import { existsSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from "node:fs";
import { loadavg, tmpdir } from "node:os";
import * as path from "node:path";
import { startS3rver } from "../tests/helpers/s3rver";
import { type BenchModule, median, rcloneRemoteEnv } from "./run";

const ROOT = path.resolve(__dirname, "..");
/** The installed command: the package's bin, compiled JS. */
const BIN = path.join(ROOT, "dist", "scripts", "trainctl.js");
const ROUNDS = 5;
/** Every command (one compiled file each), completion and a subcommand: the goal covers each one's --help. */
const commands = () =>
  [
    ...readdirSync(path.join(ROOT, "dist", "scripts", "commands"))
      .filter((f) => f.endsWith(".js"))
      .map((f) => f.replace(/\.js$/, "")),
    "completion",
    "experiment new",
  ].sort();

interface Timing {
  wall: number;
  /** User + system CPU seconds of the command and its children (GNU time). */
  cpu: number;
}

/** Wall and CPU seconds of one run; fails loudly when the command fails. */
function measure(command: string[], env: NodeJS.ProcessEnv, work: string): Timing {
  const report = path.join(work, "time.txt");
  const start = process.hrtime.bigint();
  const result = spawnSync("/usr/bin/time", ["-f", "%U %S", "-o", report, ...command], { env, encoding: "utf8", cwd: work });
  const wall = Number(process.hrtime.bigint() - start) / 1e9;
  if (result.status !== 0) throw new Error(`${command.join(" ")} failed: ${result.stderr.slice(0, 400)}`);
  const [user, system] = readFileSync(report, "utf8").trim().split("\n").pop()!.split(" ").map(Number);
  return { wall, cpu: user + system };
}

const medianOf = (runs: Timing[]): Timing => ({ wall: median(runs.map((r) => r.wall)), cpu: median(runs.map((r) => r.cpu)) });
const cell = (t: Timing) => `${t.wall.toFixed(2)} s (CPU ${t.cpu.toFixed(2)} s)`;

const bench: BenchModule = {
  title: "CLI start-up: trainctl against aws-cli v2 and rclone",
  async run() {
    if (!existsSync(BIN)) throw new Error(`${BIN} is missing: run \`npm run build\` first`);
    const s3 = await startS3rver(["startup-bench"]);
    const work = mkdtempSync(path.join(tmpdir(), "trainctl-startup-bench-"));
    const loadBefore = loadavg()[0];
    try {
      const file = path.join(work, "one.bin");
      writeFileSync(file, Buffer.alloc(4096, 7));
      const env = { ...process.env, ...s3.env() };
      const rcloneEnv = rcloneRemoteEnv(env, s3.endpoint);
      const trainctl = (...args: string[]) => [process.execPath, BIN, ...args];
      const aws = (...args: string[]) => ["/usr/bin/aws", ...args];
      const rclone = (...args: string[]) => ["rclone", ...args];
      const cases: { name: string; tools: [string, string[], NodeJS.ProcessEnv][] }[] = [
        {
          name: "`--version`",
          tools: [
            ["trainctl", trainctl("--version"), env],
            ["aws-cli", aws("--version"), env],
            ["rclone", rclone("version"), rcloneEnv],
          ],
        },
        {
          name: "`--help`",
          tools: [
            ["trainctl", trainctl("--help"), env],
            ["aws-cli", aws("help"), { ...env, PAGER: "cat", MANPAGER: "cat" }],
            ["rclone", rclone("--help"), rcloneEnv],
          ],
        },
        {
          name: "`transfer --help`",
          tools: [
            ["trainctl", trainctl("transfer", "--help"), env],
            ["aws-cli", aws("s3", "cp", "help"), { ...env, PAGER: "cat", MANPAGER: "cat" }],
            ["rclone", rclone("copy", "--help"), rcloneEnv],
          ],
        },
        {
          name: "one 4 KiB file up",
          tools: [
            ["trainctl", trainctl("transfer", file, "s3://startup-bench/trainctl/one.bin"), env],
            ["aws-cli", aws("s3", "cp", "--only-show-errors", "--endpoint-url", s3.endpoint, file, "s3://startup-bench/aws/one.bin"), env],
            ["rclone", rclone("copyto", file, "bench:startup-bench/rclone/one.bin"), rcloneEnv],
          ],
        },
      ];
      const results = new Map<string, Record<string, Timing>>();
      for (const { name, tools } of cases) {
        const runs: Record<string, Timing[]> = {};
        // Alternate the tools each round, so load spikes hit all of them alike.
        for (let round = 0; round < ROUNDS; round++) for (const [tool, command, toolEnv] of tools) (runs[tool] ??= []).push(measure(command, toolEnv, work));
        results.set(name, Object.fromEntries(Object.entries(runs).map(([tool, t]) => [tool, medianOf(t)])));
      }
      // Every command's own --help (trainctl alone: the peers have no such commands).
      const commandHelp = new Map<string, Timing>();
      for (const command of commands()) {
        const runs: Timing[] = [];
        for (let round = 0; round < ROUNDS; round++) runs.push(measure(trainctl(...command.split(" "), "--help"), env, work));
        commandHelp.set(command, medianOf(runs));
      }
      const slowest = [...commandHelp].reduce((a, b) => (b[1].wall > a[1].wall ? b : a));
      results.set(`\`${slowest[0]} --help\` (slowest command)`, { trainctl: slowest[1] });
      const loadAfter = loadavg()[0];
      const at = (name: string, tool: string) => results.get(name)![tool].wall;
      // On a loaded machine wall time is mostly waiting; CPU time is what the command itself costs.
      const verdict = (what: string, name: string, goal: number) => {
        const { wall, cpu } = results.get(name)!.trainctl;
        const mark = (seconds: number) => (seconds <= goal ? "met" : "not met");
        return `- ${what}: goal ≤ ${goal.toFixed(2)} s — wall ${wall.toFixed(2)} s **${mark(wall)}**; CPU ${cpu.toFixed(2)} s ${mark(cpu)}.`;
      };
      const smallFile = "one 4 KiB file up";
      return [
        "## CLI start-up",
        "",
        `Measured ${new Date().toISOString().slice(0, 10)} on a 2-core machine; 1-minute load average ${loadBefore.toFixed(1)} at the start and ${loadAfter.toFixed(1)} at the end`,
        `(other work was running: figures above about 2 mean a loaded machine). Median of ${ROUNDS} rounds, the tools alternating each round; wall`,
        "time of the whole command, and its user + system CPU (GNU time, children included). trainctl runs as installed: `node dist/scripts/trainctl.js`",
        "(the package's bin). Peers: aws-cli v2 (`/usr/bin/aws`; `help` pages through `cat`) and rclone; the transfer goes to s3rver on loopback.",
        "",
        "| command | trainctl | aws-cli v2 | rclone |",
        "|---|---:|---:|---:|",
        ...[...results].filter(([, r]) => r.rclone).map(([name, r]) => `| ${name} | ${cell(r.trainctl)} | ${cell(r["aws-cli"])} | ${cell(r.rclone)} |`),
        "",
        "Every command's `--help` (trainctl alone), same rounds:",
        "",
        "| command | wall (CPU) |",
        "|---|---:|",
        ...[...commandHelp].map(([command, t]) => `| \`${command} --help\` | ${cell(t)} |`),
        "",
        verdict("`--version`", "`--version`", 0.3),
        verdict("`--help`", "`--help`", 0.5),
        verdict("`transfer --help`", "`transfer --help`", 0.5),
        verdict(`every command's \`--help\` (slowest: \`${slowest[0]}\`)`, `\`${slowest[0]} --help\` (slowest command)`, 0.5),
        verdict("one 4 KiB file (rclone's wall + 0.35 s)", smallFile, at(smallFile, "rclone") + 0.35),
      ].join("\n");
    } finally {
      rmSync(work, { recursive: true, force: true });
      await s3.stop();
    }
  },
};
export default bench;

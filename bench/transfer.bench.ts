import { spawnSync } from "node:child_process";
import { closeSync, mkdirSync, mkdtempSync, openSync, readFileSync, rmSync, writeFileSync, writeSync } from "node:fs";
import { loadavg, tmpdir } from "node:os";
import * as path from "node:path";
import { startS3rver } from "../tests/helpers/s3rver";
import { type BenchModule, median, rcloneRemoteEnv } from "./run";

const ROOT = path.resolve(__dirname, "..");
const MIB = 1024 * 1024;
const GIB = 1024 * MIB;
const RSS_CAP_MIB = 300;
const TOOLS = ["trainctl", "rclone", "aws-cli"] as const;
type Tool = (typeof TOOLS)[number];

/** Sizes, from the environment so a quick run is possible; the defaults are the cases. */
const sizes = () => ({
  files: Number(process.env.TRAINCTL_BENCH_FILES ?? 5000),
  bigMiB: Number(process.env.TRAINCTL_BENCH_BIG_MIB ?? 1024),
  hugeMiB: Number(process.env.TRAINCTL_BENCH_HUGE_MIB ?? 4096),
  rounds: Number(process.env.TRAINCTL_BENCH_ROUNDS ?? 5),
  syncFiles: Number(process.env.TRAINCTL_BENCH_SYNC_FILES ?? 10000),
});

/** `count` files of 4 KiB in a new folder, each with its own bytes. */
function writeSmallFiles(folder: string, count: number): void {
  mkdirSync(folder);
  for (let i = 0; i < count; i++) writeFileSync(path.join(folder, `${i}.bin`), Buffer.alloc(4096, i % 256));
}

/** One command as GNU time saw it: wall, client CPU (user + sys of the whole process tree) and its user part, peak RSS; and s3rver's CPU meanwhile. */
interface Measure {
  wall: number;
  cpu: number;
  user: number;
  rssMiB: number;
  serverCpu: number;
}

/** CPU seconds a process has used so far: utime + stime from /proc/PID/stat, in clock ticks of 1/100 s. */
function cpuSeconds(pid: number): number {
  const fields = readFileSync(`/proc/${pid}/stat`, "utf8").split(") ")[1].split(" ");
  return (Number(fields[11]) + Number(fields[12])) / 100;
}

function measure(command: string[], env: NodeJS.ProcessEnv, serverPid: number, report: string): Measure {
  // Dirty pages the previous run (or s3rver) left are written back first, so no run pays for another's writeback.
  spawnSync("sync");
  const server = cpuSeconds(serverPid);
  const result = spawnSync("/usr/bin/time", ["-f", "%e %U %S %M", "-o", report, ...command], { env, encoding: "utf8", maxBuffer: 1 << 26 });
  if (result.status !== 0) throw new Error(`${command.join(" ")} failed: ${result.stderr.slice(0, 400)}`);
  const [wall, user, sys, kib] = readFileSync(report, "utf8").trim().split("\n").pop()!.split(" ").map(Number);
  return { wall, cpu: user + sys, user, rssMiB: kib / 1024, serverCpu: cpuSeconds(serverPid) - server };
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

/** `list` started at its `by`-th item: over rounds, each item takes each place in turn. */
const rotated = <T>(list: readonly T[], by: number): T[] => list.map((_, i) => list[(i + by) % list.length]);

/** One measurement on stderr, so a run's spread can be read beside its medians. */
const logMeasure = (what: string, m: Measure) =>
  console.error(`${what}: wall ${m.wall.toFixed(2)} s, user ${m.user.toFixed(2)} s, sys ${(m.cpu - m.user).toFixed(2)} s, s3rver ${m.serverCpu.toFixed(2)} s`);

const sizeLabel = (mib: number) => (mib % 1024 === 0 ? `${mib / 1024} GiB` : `${mib} MiB`);

/** Median of each field over the rounds. */
const medianOf = (ms: Measure[]): Measure => ({
  wall: median(ms.map((m) => m.wall)),
  cpu: median(ms.map((m) => m.cpu)),
  user: median(ms.map((m) => m.user)),
  rssMiB: Math.max(...ms.map((m) => m.rssMiB)),
  serverCpu: median(ms.map((m) => m.serverCpu)),
});

const bench: BenchModule = {
  title: "trainctl transfer against rclone and aws-cli on s3rver",
  async run() {
    const { files, bigMiB, hugeMiB, rounds, syncFiles } = sizes();
    const s3 = await startS3rver(["bench-bucket"]);
    const work = mkdtempSync(path.join(tmpdir(), "trainctl-transfer-bench-"));
    const report = path.join(work, "time.txt");
    try {
      const filesystem = spawnSync("findmnt", ["-n", "-o", "FSTYPE", "-T", work], { encoding: "utf8" }).stdout.trim();
      const small = path.join(work, "small");
      writeSmallFiles(small, files);
      const big = path.join(work, "big");
      mkdirSync(big);
      writeBigFile(path.join(big, "one.bin"), bigMiB * MIB);
      const env = { ...process.env, ...s3.env() };
      const rcloneEnv = rcloneRemoteEnv(env, s3.endpoint);
      const transfers = "16";
      const rcloneCopy = (src: string, dst: string, ...extra: string[]) => [
        "rclone",
        "copy",
        src.replace("s3://", "bench:"),
        dst.replace("s3://", "bench:"),
        "--transfers",
        transfers,
        ...extra,
      ];
      // trainctl as installed: the compiled bin (`npm run build`), not tsx.
      const trainctl = (...args: string[]) => [process.execPath, path.join(ROOT, "dist", "scripts", "trainctl.js"), ...args];
      const commands: Record<
        Tool,
        { copy: (src: string, dst: string) => string[]; sync?: (src: string, dst: string) => string[]; startup: string[]; env: NodeJS.ProcessEnv }
      > = {
        trainctl: {
          copy: (src, dst) => trainctl("transfer", src, dst, "--concurrency", transfers),
          sync: (src, dst) => trainctl("transfer", "--sync", src, dst, "--concurrency", transfers),
          startup: trainctl("transfer", "--help"),
          env,
        },
        rclone: {
          copy: (src, dst) => rcloneCopy(src, dst, "--s3-upload-concurrency", "4"),
          // rclone copy skips what is in place already (size and modification time, one HEAD per object): its sync.
          sync: (src, dst) => rcloneCopy(src, dst, "--checkers", transfers),
          startup: ["rclone", "version"],
          env: rcloneEnv,
        },
        "aws-cli": {
          copy: (src, dst) => ["/usr/bin/aws", "s3", "cp", "--recursive", "--only-show-errors", "--endpoint-url", s3.endpoint, src, dst],
          startup: ["/usr/bin/aws", "--version"],
          env,
        },
      };
      const run = (tool: Tool, command: string[]) => measure(command, commands[tool].env, s3.pid, report);

      const startup = Object.fromEntries(TOOLS.map((tool) => [tool, medianOf([0, 1, 2].map(() => run(tool, commands[tool].startup)))])) as Record<
        Tool,
        Measure
      >;
      const smallName = `${files.toLocaleString("en")} × 4 KiB`;
      const syncName = `${syncFiles.toLocaleString("en")} unchanged 4 KiB files`;
      const bigName = `${sizeLabel(bigMiB)} file`;
      // Small-file downloads are kept until the rounds are over. On ext4 without a journal (this machine's root), creating
      // a file skips every inode deleted in the last 60 s (300 s while its inode table block is dirty): removing one tool's
      // 5,000 files made the next tool's creates cost seconds of system time (perf: recently_deleted, find_inode_bit).
      // A 1 GiB download is one inode, removed at once to spare the disk.
      const cases = [
        { name: smallName, folder: small, unit: files / 1000, per: "1,000 objects", keep: true },
        { name: bigName, folder: big, unit: (bigMiB * MIB) / GIB, per: "GiB", keep: false },
      ];
      const results: Record<string, Record<Tool, Measure[]>> = {};
      for (let round = 0; round < rounds; round++) {
        // Rotate the order of the tools between rounds, so none runs first (after the other case, not after a peer's
        // run of this one) in more rounds than another: reversing it every other round put the first tool first in 3 of 5.
        const order = rotated(TOOLS, round);
        for (const c of cases) {
          for (const tool of order) {
            const key = `${tool}-${round}-${path.basename(c.folder)}`;
            const down = path.join(work, "down", key);
            for (const [direction, argv] of [
              ["up", commands[tool].copy(c.folder, `s3://bench-bucket/${key}/`)],
              ["down", commands[tool].copy(`s3://bench-bucket/${key}/`, down)],
            ] as const) {
              const m = run(tool, argv);
              logMeasure(`round ${round} ${c.name} ${direction} ${tool}`, m);
              ((results[`${c.name} ${direction}`] ??= {} as Record<Tool, Measure[]>)[tool] ??= []).push(m);
            }
            if (!c.keep) rmSync(down, { recursive: true, force: true });
          }
        }
      }
      rmSync(big, { recursive: true, force: true });
      rmSync(path.join(work, "down"), { recursive: true, force: true });

      // --sync of an unchanged tree: each tool first copies the tree to a prefix of its own, then copies it again.
      // rclone copy skips what is in place (size and modification time, one HEAD per object); with --checksum it
      // compares the listing's MD5 ETags instead, as trainctl does first; aws s3 sync compares size and time from the listing.
      const syncTree = path.join(work, "sync");
      writeSmallFiles(syncTree, syncFiles);
      const syncPeers = {
        trainctl: { tool: "trainctl", argv: (dst: string) => commands.trainctl.sync!(syncTree, dst) },
        "rclone copy": { tool: "rclone", argv: (dst: string) => rcloneCopy(syncTree, dst, "--checkers", transfers) },
        "rclone copy --checksum": { tool: "rclone", argv: (dst: string) => rcloneCopy(syncTree, dst, "--checkers", transfers, "--checksum") },
        "aws s3 sync": {
          tool: "aws-cli",
          argv: (dst: string) => ["/usr/bin/aws", "s3", "sync", "--only-show-errors", "--endpoint-url", s3.endpoint, syncTree, dst],
        },
      } satisfies Record<string, { tool: Tool; argv: (dst: string) => string[] }>;
      type SyncPeer = keyof typeof syncPeers;
      const syncPrefix = (tool: Tool) => `s3://bench-bucket/sync-${tool}/`;
      for (const tool of TOOLS) run(tool, commands[tool].copy(syncTree, syncPrefix(tool)));
      const syncRuns = Object.fromEntries(Object.keys(syncPeers).map((peer) => [peer, [] as Measure[]])) as Record<SyncPeer, Measure[]>;
      for (let round = 0; round < rounds; round++) {
        for (const peer of rotated(Object.keys(syncPeers) as SyncPeer[], round)) {
          const { tool, argv } = syncPeers[peer];
          const m = run(tool, argv(syncPrefix(tool)));
          logMeasure(`round ${round} --sync ${peer}`, m);
          syncRuns[peer].push(m);
        }
      }
      rmSync(syncTree, { recursive: true, force: true });
      const sync = Object.fromEntries(Object.entries(syncRuns).map(([peer, runs]) => [peer, medianOf(runs)])) as Record<SyncPeer, Measure>;
      const syncCell = (peer: SyncPeer) => `${sync[peer].wall.toFixed(2)} / ${sync[peer].cpu.toFixed(2)}`;

      // Peak memory while moving one large file each way.
      const huge = path.join(work, "huge");
      mkdirSync(huge);
      writeBigFile(path.join(huge, "four.bin"), hugeMiB * MIB);
      const hugeUp = run("trainctl", commands.trainctl.copy(huge, "s3://bench-bucket/huge/"));
      rmSync(huge, { recursive: true, force: true });
      const hugeDown = run("trainctl", commands.trainctl.copy("s3://bench-bucket/huge/", path.join(work, "huge-down")));

      // Figures per unit of work, start-up taken out.
      const net = (name: string, tool: Tool) => {
        const m = medianOf(results[name][tool]);
        const unit = cases.find((c) => name.startsWith(c.name))!.unit;
        return {
          wall: Math.max(0, m.wall - startup[tool].wall) / unit,
          cpu: Math.max(0, m.cpu - startup[tool].cpu) / unit,
          user: Math.max(0, m.user - startup[tool].user) / unit,
          serverCpu: m.serverCpu,
          rssMiB: m.rssMiB,
        };
      };
      const rows = Object.keys(results).map((name) => {
        const per = cases.find((c) => name.startsWith(c.name))!.per;
        const cells = TOOLS.map((tool) => {
          const n = net(name, tool);
          return `${n.wall.toFixed(2)} / ${n.cpu.toFixed(2)} (${n.user.toFixed(2)})`;
        });
        return `| ${name} (s per ${per}) | ${cells.join(" | ")} | ${TOOLS.map((tool) => net(name, tool).serverCpu.toFixed(1)).join(" / ")} |`;
      });
      const verdict = (what: string, ratio: number, cap: number) =>
        `- ${what}: ${ratio.toFixed(2)} (target ≤ ${cap.toFixed(2)}) — **${ratio <= cap ? "met" : "not met"}**`;
      const vsRclone = (name: string, field: "wall" | "cpu") => net(name, "trainctl")[field] / net(name, "rclone")[field];
      const vsBest = (name: string) => net(name, "trainctl").wall / Math.min(net(name, "rclone").wall, net(name, "aws-cli").wall);
      const verdicts = [
        verdict(`${smallName} up, client CPU per object, trainctl ÷ rclone`, vsRclone(`${smallName} up`, "cpu"), 0.67),
        verdict(`${smallName} down, client CPU per object, trainctl ÷ rclone`, vsRclone(`${smallName} down`, "cpu"), 1),
        verdict(`${smallName} up, wall, trainctl ÷ rclone`, vsRclone(`${smallName} up`, "wall"), 1),
        verdict(`${smallName} down, wall, trainctl ÷ rclone`, vsRclone(`${smallName} down`, "wall"), 1),
        verdict(`${bigName} up, wall, trainctl ÷ best peer`, vsBest(`${bigName} up`), 1),
        verdict(`${bigName} down, wall, trainctl ÷ best peer`, vsBest(`${bigName} down`), 1),
        verdict(`--sync of ${syncName}, wall, trainctl ÷ rclone copy`, sync.trainctl.wall / sync["rclone copy"].wall, 1),
      ];
      const userRatios = Object.keys(results)
        .map((name) => `${name} ${(net(name, "trainctl").user / net(name, "rclone").user).toFixed(2)}`)
        .join("; ");
      const rss = (what: string, m: Measure) =>
        `| ${what} | ${m.wall.toFixed(1)} s | ${m.rssMiB.toFixed(0)} MiB | ${m.rssMiB < RSS_CAP_MIB ? "yes" : "**no**"} |`;
      const startRow = TOOLS.map((tool) => `${startup[tool].wall.toFixed(2)} / ${startup[tool].cpu.toFixed(2)}`).join(" | ");
      const load = loadavg()
        .map((l) => l.toFixed(1))
        .join(", ");
      return [
        "## Transfer",
        "",
        `Measured ${new Date().toISOString().slice(0, 16).replace("T", " ")} UTC on a 2-core machine (load average at the end: ${load}), one s3rver on loopback,`,
        `files written to and read from ${filesystem} (\`findmnt -T\`). ${transfers} concurrent transfers for every tool (rclone \`--transfers ${transfers}\`,`,
        `aws-cli its default 10); trainctl is the compiled bin (\`node dist/scripts/trainctl.js\`). Each cell is wall / client CPU seconds`,
        `(user + sys of the whole process tree, GNU time) and, in brackets, the user part alone, median of ${rounds} round(s), the tools' order rotated each round,`,
        `per 1,000 objects or per GiB, **with each tool's start-up taken out** (below). The last`,
        "column is the CPU s3rver itself spent serving each tool's run (from /proc), not per unit: s3rver is single-threaded, so",
        "no run's wall time can be below it.",
        "",
        "| case | trainctl | rclone | aws-cli | s3rver CPU s (trainctl / rclone / aws-cli) |",
        "|---|---:|---:|---:|---|",
        ...rows,
        `| \`--sync\` of ${syncName} up, whole run (s) | ${syncCell("trainctl")} | ${syncCell("rclone copy")} (\`copy\`); ${syncCell("rclone copy --checksum")} (\`copy --checksum\`) | ${syncCell("aws s3 sync")} (\`s3 sync\`) | ${(Object.keys(sync) as SyncPeer[]).map((peer) => sync[peer].serverCpu.toFixed(1)).join(" / ")} (trainctl / \`copy\` / \`copy --checksum\` / \`s3 sync\`) |`,
        `| start-up (\`transfer --help\` / \`version\` / \`--version\`), s | ${startRow} | |`,
        "",
        "Targets (issue #19), as trainctl ÷ peer, lower is better:",
        "",
        ...verdicts,
        "",
        `User CPU alone, trainctl ÷ rclone (not a target; the tools' own work, without the kernel's): ${userRatios}.`,
        "",
        `Peak memory (GNU time's maximum RSS) of trainctl moving one ${sizeLabel(hugeMiB)} file, ${transfers} concurrent requests; the cap is ${RSS_CAP_MIB} MiB:`,
        "",
        "| run | wall | peak RSS | under the cap |",
        "|---|---:|---:|---|",
        rss("`trainctl transfer --help` (the CLI at rest)", startup.trainctl),
        rss(`${sizeLabel(hugeMiB)} file up`, hugeUp),
        rss(`${sizeLabel(hugeMiB)} file down`, hugeDown),
        "",
        "Sizes come from the environment: `TRAINCTL_BENCH_FILES` (default 5000), `TRAINCTL_BENCH_BIG_MIB` (1024),",
        "`TRAINCTL_BENCH_HUGE_MIB` (4096), `TRAINCTL_BENCH_ROUNDS` (5), `TRAINCTL_BENCH_SYNC_FILES` (10000). s3rver shares the two cores and the disk, so absolute",
        "rates are far below real S3; client CPU per object is the figure that carries over.",
      ].join("\n");
    } finally {
      await s3.stop();
      rmSync(work, { recursive: true, force: true });
    }
  },
};
export default bench;

import { type S3Access, awsS3, quote } from "./shell";

export type RunPaths = Record<"unit" | "pidFile" | "log" | "runs" | "secrets", string>;

/** Where a run lives on a node. The pid file is the contract the spot watcher and autostop read. */
export const RUN_PATHS: Readonly<RunPaths> = {
  unit: "trainctl-run",
  pidFile: "/run/trainctl/train.pid",
  log: "/var/log/trainctl/run.log",
  runs: "/opt/trainctl/runs",
  /** On tmpfs, root only: one file per run with the secrets read from SSM, removed once the unit has read it. */
  secrets: "/run/trainctl/secrets",
};

/** Exit status of the run script when a run is already alive and --replace was not given. */
export const RUN_ALIVE_EXIT = 75;

export interface RunSpec {
  runId: string;
  command: string[];
  /** The run's code, staged in S3 (`s3://bucket/staging/runs/<id>/code/`). */
  codeUrl: string;
  /** The generated DataLoader to drop beside the code, when the stack publishes one. */
  loaderUrl?: string;
  env: Record<string, string>;
  /** Variables the node reads from SSM SecureString parameters at start (KEY → parameter name). */
  secrets: Record<string, string>;
  node: { rank: number; count: number; masterAddr: string; masterPort: number };
  checkpoint: { dir: string; bucket?: string };
  replace: boolean;
  s3: S3Access;
  paths?: Partial<RunPaths>;
}

const TORCHRUN_VARIABLES = ["MASTER_ADDR", "MASTER_PORT", "NODE_RANK", "WORLD_SIZE"];

/** Variables the run sets itself (the checkpoint contract, torchrun's rendezvous): a user may not set them. */
export const isRunVariable = (name: string): boolean => name.startsWith("TRAINCTL_") || TORCHRUN_VARIABLES.includes(name);

/** The environment of the run's unit: the user's, the checkpoint contract and torchrun's rendezvous. */
export function runEnvironment(spec: RunSpec): Record<string, string> {
  return {
    ...spec.env,
    TRAINCTL_RUN_ID: spec.runId,
    TRAINCTL_CHECKPOINT_DIR: spec.checkpoint.dir,
    ...(spec.checkpoint.bucket
      ? { TRAINCTL_CHECKPOINT_BUCKET: spec.checkpoint.bucket, TRAINCTL_CHECKPOINT_URL: `s3://${spec.checkpoint.bucket}/checkpoints/` }
      : {}),
    MASTER_ADDR: spec.node.masterAddr,
    MASTER_PORT: String(spec.node.masterPort),
    NODE_RANK: String(spec.node.rank),
    WORLD_SIZE: String(spec.node.count),
  };
}

const ALIVE = `[ -s "$pid_file" ] && kill -0 "$(cat "$pid_file")" 2>/dev/null`;
const REFUSE = [`  echo "trainctl: a run is alive on this node (pid $(cat "$pid_file")); add --replace to stop it" >&2`, `  exit ${RUN_ALIVE_EXIT}`];

/** Exits RUN_ALIVE_EXIT when a run is alive on the node: the preflight before a multi-node start. */
export function aliveCheckShell(paths: Partial<RunPaths> = {}): string {
  return [`pid_file=${quote({ ...RUN_PATHS, ...paths }.pidFile)}`, `if ${ALIVE}; then`, ...REFUSE, "fi", "echo 'trainctl: no run alive'", ""].join("\n");
}

/**
 * Reads each secret from SSM into a root-only file of `export KEY=<quoted value>` lines: the values
 * pass through no command line, no unit property and no SSM command parameter. Unless the unit
 * starts, the file is removed on exit.
 */
function secretLines(secrets: Record<string, string>, region: string): string[] {
  return [
    `trap 'rm -f "$secrets_file"' EXIT`,
    `(umask 077 && mkdir -p "$(dirname "$secrets_file")" && : >"$secrets_file")`,
    ...Object.entries(secrets).flatMap(([key, name]) => [
      `value=$(aws ssm get-parameter --region ${quote(region)} --with-decryption --name ${quote(name)} --query Parameter.Value --output text) || { echo ${quote(`trainctl: cannot read SSM parameter ${name} for ${key}`)} >&2; exit 3; }`,
      `printf 'export %s=%q\\n' ${quote(key)} "$value" >>"$secrets_file"`,
    ]),
    "unset value",
  ];
}

/**
 * The script that starts a run on one node: read the secrets (a failure touches nothing), refuse
 * (or stop, with --replace) a live run, fetch the code, then hand CMD to systemd as a transient
 * unit whose process writes the pid file, reads the secrets file and removes it, then execs CMD.
 */
export function runShell(spec: RunSpec): string {
  const paths = { ...RUN_PATHS, ...spec.paths };
  const codeDir = `${paths.runs}/${spec.runId}`;
  const setenv = Object.entries(runEnvironment(spec)).map(([k, v]) => `  --setenv=${quote(`${k}=${v}`)} \\`);
  const onAlive = spec.replace
    ? [
        `  echo "trainctl: stopping the run alive on this node (pid $(cat "$pid_file"))"`,
        `  systemctl stop "$unit" 2>/dev/null || kill -TERM "$(cat "$pid_file")"`,
        `  for _ in $(seq 60); do ${ALIVE} || break; sleep 0.5; done`,
      ]
    : REFUSE;
  return [
    "set -euo pipefail",
    `unit=${quote(paths.unit)}`,
    `pid_file=${quote(paths.pidFile)}`,
    `log_file=${quote(paths.log)}`,
    `code_dir=${quote(codeDir)}`,
    `secrets_file=${quote(`${paths.secrets}/${spec.runId}.env`)}`,
    ...secretLines(spec.secrets, spec.s3.region),
    `if ${ALIVE}; then`,
    ...onAlive,
    "fi",
    `systemctl reset-failed "$unit" 2>/dev/null || true`,
    `mkdir -p "$(dirname "$pid_file")" "$(dirname "$log_file")" "$code_dir" ${quote(spec.checkpoint.dir)}`,
    `${awsS3("sync", spec.s3)} ${quote(spec.codeUrl)} "$code_dir"`,
    ...(spec.loaderUrl ? [`${awsS3("cp", spec.s3)} ${quote(spec.loaderUrl)} "$code_dir/trainctl_loader.py"`] : []),
    `echo "=== trainctl run ${spec.runId} on node ${spec.node.rank} ===" >>"$log_file"`,
    "# shellcheck disable=SC2016 # $$, $0, $1 and $@ belong to the unit's own bash",
    `systemd-run --unit="$unit" --collect --working-directory="$code_dir" \\`,
    `  --property=StandardOutput="append:$log_file" --property=StandardError="append:$log_file" \\`,
    `  --property=ExecStopPost="/bin/rm -f $pid_file" \\`,
    ...setenv,
    `  /bin/bash -c 'echo $$ >"$0"; . "$1"; rm -f "$1"; shift; exec "$@"' "$pid_file" "$secrets_file" ${spec.command.map(quote).join(" ")}`,
    "trap - EXIT",
    `echo "trainctl: started $unit (run ${spec.runId}) on node ${spec.node.rank} in $code_dir"`,
    "",
  ].join("\n");
}

export interface LogChunk {
  text: Buffer;
  /** Byte offset to ask for next time. */
  nextOffset: number;
  /** Whether the run's process is alive. */
  alive: boolean;
}

/** At most this many log bytes per SSM round trip: base64 of it stays under SSM's 24,000-character output limit. */
export const LOG_CHUNK_BYTES = 16_000;

/**
 * Prints one chunk of the run log, from a byte offset or from the start of the last `lines` lines,
 * as base64 on one line, then `<next offset> <alive 0|1>`.
 */
export function logChunkShell(from: { offset: number } | { lines: number }, paths: Partial<RunPaths> = {}): string {
  const { log, pidFile } = { ...RUN_PATHS, ...paths };
  const start = "offset" in from ? String(from.offset) : `$(( size - $(tail -n ${from.lines} "$log_file" | wc -c) ))`;
  return [
    "set -euo pipefail",
    `log_file=${quote(log)}`,
    `pid_file=${quote(pidFile)}`,
    `[ -f "$log_file" ] || { echo "trainctl: no run log on this node yet ($log_file)" >&2; exit 3; }`,
    // -L: in recovery mode the log is a link to the data volume.
    `size=$(stat -L -c %s "$log_file")`,
    `start=${start}`,
    `chunk=$(tail -c +$((start + 1)) "$log_file" | head -c ${LOG_CHUNK_BYTES} | base64 -w0)`,
    `alive=0; if ${ALIVE}; then alive=1; fi`,
    `echo "$chunk"`,
    `echo "$((start + $(printf '%s' "$chunk" | base64 -d | wc -c))) $alive"`,
    "",
  ].join("\n");
}

/** Reads what logChunkShell printed. */
export function parseLogChunk(stdout: string): LogChunk {
  const [encoded = "", status = ""] = stdout.split("\n");
  const [offset, alive] = status.trim().split(" ");
  const nextOffset = Number(offset);
  if (!Number.isInteger(nextOffset)) throw new Error(`unexpected log chunk: ${JSON.stringify(stdout.slice(0, 80))}`);
  return { text: Buffer.from(encoded.trim(), "base64"), nextOffset, alive: alive === "1" };
}

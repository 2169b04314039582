import { spawn, spawnSync } from "node:child_process";
import { chmodSync, existsSync, mkdirSync, mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import * as path from "node:path";

export const SCRIPTS = path.resolve(__dirname, "..", "..", "components", "bootstrap");
export const AWS = "/usr/bin/aws";

/** Fails with the apt package to install when a tool the bootstrap tests run is missing. */
export function need(tool: string, pkg: string): void {
  if (spawnSync("sh", ["-c", `command -v ${tool}`]).status !== 0)
    throw new Error(`${tool} is missing: install it with 'apt-get install ${pkg}' (npm run test:setup does)`);
}

/** A sandbox for one script run: its own state, log, env file and fake bin folder first on PATH. */
export function sandbox(fakes: Record<string, string> = {}) {
  const root = mkdtempSync(path.join(tmpdir(), "trainctl-boot-"));
  const bin = path.join(root, "bin");
  mkdirSync(bin);
  for (const [name, body] of Object.entries(fakes)) {
    writeFileSync(path.join(bin, name), body);
    chmodSync(path.join(bin, name), 0o755);
  }
  writeFileSync(path.join(root, "env"), "");
  const env: Record<string, string> = {
    PATH: `${bin}:/usr/sbin:/usr/bin:/sbin:/bin`,
    HOME: root,
    TRAINCTL_ENV_FILE: path.join(root, "env"),
    TRAINCTL_LOG: path.join(root, "bootstrap.log"),
    TRAINCTL_STATE_DIR: path.join(root, "state"),
    TRAINCTL_RUN_DIR: path.join(root, "run"),
    TRAINCTL_IMDS: "http://127.0.0.1:9",
    TRAINCTL_AWS: AWS,
  };
  const run = (script: string, extra: Record<string, string> = {}, args: string[] = []) =>
    spawnSync("bash", [path.join(SCRIPTS, script), ...args], { env: { ...env, ...extra }, encoding: "utf8", timeout: 60_000 });
  // Asynchronous, for scripts that talk to loopback servers in this process.
  const runAsync = (script: string, extra: Record<string, string> = {}) =>
    new Promise<{ status: number | null; stderr: string }>((resolve) => {
      const child = spawn("bash", [path.join(SCRIPTS, script)], { env: { ...env, ...extra }, timeout: 60_000 });
      let stderr = "";
      child.stderr.on("data", (chunk) => (stderr += chunk));
      child.once("close", (status) => resolve({ status, stderr }));
    });
  const log = () => (existsSync(env.TRAINCTL_LOG) ? readFileSync(env.TRAINCTL_LOG, "utf8") : "");
  return { root, bin, env, run, runAsync, log };
}

import { chmodSync, writeFileSync } from "node:fs";
import * as path from "node:path";

/** systemd-run and systemctl stand-ins: the unit's command runs detached, its output appended to the log. */
export function fakeSystemd(bin: string): void {
  writeFileSync(
    path.join(bin, "systemd-run"),
    `#!/bin/bash
envs=(); dir=.; out=/dev/null
while [[ $# -gt 0 ]]; do
  case "$1" in
    --setenv=*) envs+=("\${1#--setenv=}") ;;
    --working-directory=*) dir="\${1#*=}" ;;
    --property=StandardOutput=append:*) out="\${1#--property=StandardOutput=append:}" ;;
    --*) ;;
    *) break ;;
  esac
  shift
done
(cd "$dir" && exec env "\${envs[@]}" setsid "$@") >>"$out" 2>&1 </dev/null &
`,
  );
  writeFileSync(path.join(bin, "systemctl"), "#!/bin/sh\nexit 1\n");
  for (const f of ["systemd-run", "systemctl"]) chmodSync(path.join(bin, f), 0o755);
}

/**
 * A `systemctl` stand-in for whole-boot tests: `enable --now X.service` starts the unit's ExecStart
 * detached in its own process group (its pid appended to `pids`); timers, reloads and stops succeed
 * and do nothing.
 */
export function fakeServiceManager(file: string, units: string, pids: string): void {
  writeFileSync(
    file,
    `#!/bin/bash
[[ $1 == enable ]] || exit 0
for unit in "$@"; do
  [[ $unit == *.service ]] || continue
  start=$(sed -n 's/^ExecStart=//p' "${units}/$unit")
  setsid "$start" >>"${units}/$unit.out" 2>&1 </dev/null &
  echo $! >>"${pids}"
done
`,
  );
  chmodSync(file, 0o755);
}

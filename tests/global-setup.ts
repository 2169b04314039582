import { execFileSync } from "node:child_process";
import * as path from "node:path";

/** Once per vitest run: compile dist/, which the tests that run the installed-style CLI execute. */
export default function setup(): void {
  execFileSync("npm", ["run", "-s", "build"], { cwd: path.join(__dirname, ".."), stdio: "inherit" });
}

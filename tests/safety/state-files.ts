import { mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import * as path from "node:path";

/** The dev stack export the safety tables start from, and hostile variants of it written to a scratch folder. */
export const FIXTURE = path.join(__dirname, "..", "fixtures", "dev.state.json");
const STATE = JSON.parse(readFileSync(FIXTURE, "utf8"));

/** A scratch folder and a writer for it: strings as they are, anything else as JSON. */
export function scratch(prefix: string): { dir: string; file: (name: string, content: unknown) => string } {
  const dir = mkdtempSync(path.join(tmpdir(), prefix));
  const file = (name: string, content: unknown) => {
    const p = path.join(dir, name);
    writeFileSync(p, typeof content === "string" ? content : JSON.stringify(content));
    return p;
  };
  return { dir, file };
}

/** The fixture with one edit to its resources. */
export function edited(edit: (resources: Record<string, any>[]) => void): Record<string, any> {
  const copy = structuredClone(STATE);
  edit(copy.deployment.resources);
  return copy;
}

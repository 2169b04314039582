import { readFileSync } from "node:fs";
import * as path from "node:path";
import { estimateCost } from "../scripts/pricing/estimate";
import { parseStackExport } from "../scripts/state/readers";
import { type BenchModule, median, seconds } from "./run";

/** A state of `n` resources made of copies of the dev experiment's, with distinct URNs. */
function bigState(n: number): string {
  const dev = JSON.parse(readFileSync(path.join(__dirname, "..", "tests", "fixtures", "dev.state.json"), "utf8")) as {
    deployment: { resources: { urn: string; parent?: string }[] };
  };
  const resources: unknown[] = [];
  const template = dev.deployment.resources;
  for (let copy = 0; resources.length < n; copy++) {
    for (const r of template) {
      if (resources.length >= n) break;
      const rename = (u?: string) => u?.replace(/::([^:]+)$/, `::$1-${copy}`);
      resources.push({ ...r, urn: rename(r.urn), parent: rename(r.parent) });
    }
  }
  return JSON.stringify({ ...dev, deployment: { ...dev.deployment, resources } });
}

const bench: BenchModule = {
  title: "Pricing a stack export: 1,000 to 20,000 resources",
  run() {
    const rows: string[] = [];
    for (const n of [1_000, 10_000, 20_000]) {
      const text = bigState(n);
      // Peer: JSON.parse of the same export, the floor any reader pays.
      const parse = median([0, 1, 2, 3, 4].map(() => seconds(() => JSON.parse(text) as unknown)));
      const price = median([0, 1, 2, 3, 4].map(() => seconds(() => estimateCost(parseStackExport(JSON.parse(text))))));
      rows.push(
        `| ${n.toLocaleString("en-US")} | ${(text.length / 1e6).toFixed(1)} MB | ${(parse * 1000).toFixed(0)} ms | ${(price * 1000).toFixed(0)} ms | ${(price / parse).toFixed(2)}× | ${((price / n) * 1e6).toFixed(1)} µs |`,
      );
    }
    return [
      "## Pricing a state",
      "",
      `Measured ${new Date().toISOString().slice(0, 10)} on a 2-core machine (other work may have been running); median of 5, in process.`,
      "The state is the dev experiment's export repeated with distinct URNs. Peer: `JSON.parse` of the same text, which every",
      "reader pays; ours is parse + build the resource model + price every resource.",
      "",
      "| resources | export size | JSON.parse (peer) | read + price | ratio to the peer | per resource |",
      "|---:|---:|---:|---:|---:|---:|",
      ...rows,
    ].join("\n");
  },
};
export default bench;

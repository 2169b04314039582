import { existsSync, readdirSync, readFileSync, writeFileSync } from "node:fs";
import * as path from "node:path";

/**
 * `npm run bench [-- NAME …]` runs bench/*.bench.ts (all, or the named ones). Each returns a
 * markdown section; it replaces that bench's section of docs/benchmarks.md and leaves the others.
 */
export interface BenchModule {
  title: string;
  run(): string | Promise<string>;
}

/** Wall seconds of a synchronous run. */
export function seconds(run: () => void): number {
  const start = process.hrtime.bigint();
  run();
  return Number(process.hrtime.bigint() - start) / 1e9;
}

export const median = (xs: number[]): number => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

/** The environment that gives rclone a remote named `bench:` on the loopback s3rver at `endpoint`. */
export function rcloneRemoteEnv(env: NodeJS.ProcessEnv, endpoint: string): NodeJS.ProcessEnv {
  const { AWS_CA_BUNDLE: _plainHttp, ...rest } = env;
  return {
    ...rest,
    RCLONE_CONFIG_BENCH_TYPE: "s3",
    RCLONE_CONFIG_BENCH_PROVIDER: "Other",
    RCLONE_CONFIG_BENCH_ENDPOINT: endpoint,
    RCLONE_CONFIG_BENCH_ACCESS_KEY_ID: "S3RVER",
    RCLONE_CONFIG_BENCH_SECRET_ACCESS_KEY: "S3RVER",
    RCLONE_CONFIG_BENCH_FORCE_PATH_STYLE: "true",
  };
}

const DOC = path.join(__dirname, "..", "docs", "benchmarks.md");
const HEADER = `# Benchmarks

Every figure here was measured by \`npm run bench\` on the machine named in its section, comparing
against a peer in the same run. Re-run one section with \`npm run bench -- NAME\`.
`;

function replaceSection(doc: string, name: string, body: string): string {
  const start = `<!-- bench:${name} -->`;
  const end = `<!-- /bench:${name} -->`;
  const block = `${start}\n${body.trim()}\n${end}`;
  const from = doc.indexOf(start);
  const to = doc.indexOf(end);
  return from >= 0 && to > from ? doc.slice(0, from) + block + doc.slice(to + end.length) : `${doc.trimEnd()}\n\n${block}\n`;
}

async function main(): Promise<void> {
  const wanted = process.argv.slice(2);
  const names = readdirSync(__dirname)
    .filter((f) => f.endsWith(".bench.ts"))
    .map((f) => f.replace(/\.bench\.ts$/, ""))
    .filter((n) => wanted.length === 0 || wanted.includes(n))
    .sort();
  if (names.length === 0) throw new Error(`no benchmark named ${wanted.join(", ")}`);
  for (const name of names) {
    const bench = (require(path.join(__dirname, `${name}.bench.ts`)) as { default: BenchModule }).default;
    process.stderr.write(`bench ${name}: ${bench.title}\n`);
    const section = await bench.run();
    const doc = existsSync(DOC) ? readFileSync(DOC, "utf8") : HEADER;
    writeFileSync(DOC, replaceSection(doc, name, section));
    process.stderr.write(`bench ${name}: written to docs/benchmarks.md\n`);
  }
}

// Only when run as `npm run bench`: a module that imports a helper from here must not start every benchmark.
if (require.main === module)
  main().catch((error) => {
    process.stderr.write(`error: ${error instanceof Error ? error.message : String(error)}\n`);
    process.exitCode = 1;
  });

import { createHash } from "node:crypto";
import { existsSync, lstatSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, readlinkSync, symlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import * as path from "node:path";
import fc from "fast-check";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { AwsServerHandle } from "../helpers/aws-server";
import { expectUsageError, trainctlAsync } from "../helpers/cli";
import { download, makeS3Client } from "../../scripts/transfer/engine";
import { startKeyServer, writes } from "../transfer/key-server";

/** Every entry under `root`, as relative path → file content, link target or "dir". */
function snapshot(root: string): Map<string, string> {
  const out = new Map<string, string>();
  const walk = (dir: string, prefix: string) => {
    for (const name of readdirSync(dir)) {
      const full = path.join(dir, name);
      const rel = prefix ? `${prefix}/${name}` : name;
      const stat = lstatSync(full);
      if (stat.isSymbolicLink()) out.set(rel, `link → ${readlinkSync(full)}`);
      else if (stat.isDirectory()) {
        out.set(rel, "dir");
        walk(full, rel);
      } else out.set(rel, readFileSync(full, "utf8"));
    }
  };
  if (existsSync(root)) walk(root, "");
  return out;
}

const HOSTILE = new Map([
  ["up/ok.txt", "fine"],
  ["up/nested/ok.txt", "fine too"],
  ["up/../../victim.txt", "overwritten"],
  ["up/a/../../b.txt", "escaped"],
  ["up//etc/passwd", "absolute"],
  ["up/./dot.txt", "dot"],
  ["up/line\nbreak.txt", "newline"],
]);
const REFUSED = ["up/../../victim.txt", "up/a/../../b.txt", "up//etc/passwd", "up/./dot.txt", "up/line\nbreak.txt"];

describe("transfer: hostile input exits with one clear line and no side effect", () => {
  let server: AwsServerHandle;
  let env: Record<string, string>;
  const work = mkdtempSync(path.join(tmpdir(), "trainctl-safety-transfer-"));
  const folder = path.join(work, "folder");
  const journalDir = path.join(work, ".trainctl", "transfers");
  const journalFor = (source: string, destination: string) =>
    path.join(journalDir, `${createHash("sha256").update(`${source}\0${destination}`).digest("hex").slice(0, 16)}.json`);

  beforeAll(async () => {
    server = await startKeyServer("bucket-1", HOSTILE);
    env = {
      AWS_ACCESS_KEY_ID: "AKIDTEST",
      AWS_SECRET_ACCESS_KEY: "secret",
      AWS_REGION: "us-east-1",
      AWS_ENDPOINT_URL: server.endpoint,
      AWS_ENDPOINT_URL_S3: server.endpoint,
    };
    mkdirSync(path.join(folder, "sub"), { recursive: true });
    writeFileSync(path.join(folder, "a.txt"), "a");
    writeFileSync(path.join(folder, "model.pt"), "weights");
    symlinkSync(folder, path.join(work, "link-to-folder"));
    symlinkSync(path.join(folder, "model.pt"), path.join(work, "link-to-file"));
  });
  afterAll(async () => server?.stop());

  const journals: [string, string][] = [
    ["an empty journal", ""],
    ["a truncated journal", '{"source":"x","uploads":{'],
    ["a journal that is not one", "[1,2,3]"],
    ["a journal with a malformed upload", '{"source":"x","destination":"y","bucket":"bucket-1","uploads":{"a.txt":5}}'],
  ];

  it.each([
    ["s3:/ (one slash)", ["folder", "s3:/bucket-1/x/"], /^error: DST: malformed S3 URL "s3:\/bucket-1\/x\/" \(expected s3:\/\/bucket\/prefix\)$/m],
    ["S3:// (capitals)", ["folder", "S3://bucket-1/x/"], /DST: malformed S3 URL "S3:\/\/bucket-1\/x\/"/],
    ["s3:// as SRC with one slash", ["s3:/bucket-1/up/", "out"], /SRC: malformed S3 URL/],
    [
      "--delete on a single file",
      ["folder/model.pt", "s3://bucket-1/models/model.pt", "--delete", "--yes"],
      /--delete applies to folder copies only, not to a single file/,
    ],
    ["--delete on a download", ["s3://bucket-1/up/", "out", "--delete", "--yes"], /--delete applies to uploads only: a download never removes local files/],
    [
      "a SRC that is a symlink to a folder",
      ["link-to-folder", "s3://bucket-1/x/"],
      /SRC: link-to-folder is a symbolic link, and links are never followed: give the path it points to \(.*folder\)/,
    ],
    ["a SRC that is a symlink to a folder, with a trailing slash", ["link-to-folder/", "s3://bucket-1/x/"], /SRC: link-to-folder\/ is a symbolic link/],
    ["a SRC that is a symlink to a file", ["link-to-file", "s3://bucket-1/x/"], /SRC: link-to-file is a symbolic link/],
    ["a SRC with a control character", ["fold\u001ber", "s3://bucket-1/x/"], /^error: transfer: <src>: control character U\+001B in "fold\\u001ber"/],
    ["a SRC with a newline", ["fold\ner", "s3://bucket-1/x/"], /^error: transfer: <src>: control character U\+000A in "fold\\ner"/],
    ["--concurrency 0", ["folder", "s3://bucket-1/x/", "--concurrency", "0"], /--concurrency must be at least 1/],
  ])("%s: exit 2, one line, no request, no file", async (_what, args, message) => {
    const before = snapshot(work);
    const requests = server.requests.length;
    const result = await trainctlAsync(["transfer", ...args], { env, cwd: work });
    expectUsageError(result, message);
    expect(server.requests.length).toBe(requests);
    expect(snapshot(work)).toEqual(before);
  });

  it.each(journals)("%s: the upload stops before any write, naming the journal; --abort removes it and the upload then runs", async (_what, text) => {
    const journal = journalFor(folder, "s3://bucket-1/j/");
    mkdirSync(journalDir, { recursive: true });
    writeFileSync(journal, text);
    const requests = server.requests.length;
    const result = await trainctlAsync(["transfer", "folder", "s3://bucket-1/j/"], { env, cwd: work });
    expectUsageError(
      result,
      new RegExp(`resume journal ${journal.replace(/[.*+?^${}()|[\]\\/]/g, "\\$&")} is unreadable \\(.+\\); run \`trainctl transfer --abort\` to discard it`),
    );
    expect(writes(server).length).toBe(0);
    expect(server.requests.length).toBe(requests);

    const abort = await trainctlAsync(["transfer", "--abort"], { env, cwd: work });
    expect(abort.code, abort.stderr).toBe(0);
    expect(abort.stderr).toContain(`warning: resume journal ${journal} is unreadable`);
    expect(existsSync(journal)).toBe(false);
    const again = await trainctlAsync(["transfer", "folder", "s3://bucket-1/j/", "--json"], { env, cwd: work });
    expect(again.code, again.stderr).toBe(0);
    expect(
      writes(server)
        .map((r) => `${r.method} ${r.url}`)
        .sort(),
    ).toEqual(["PUT /bucket-1/j/a.txt", "PUT /bucket-1/j/model.pt"]);
    server.requests.length = 0;
  });

  it("hostile keys: each is refused by name (exit 1, one line), the others are copied, and nothing lands outside DST", async () => {
    const dst = path.join(work, "deep", "er", "dst");
    const outside = snapshot(work);
    const result = await trainctlAsync(["transfer", "s3://bucket-1/up/", dst], { env, cwd: work });
    expect(result.code, result.stderr).toBe(1);
    const lines = result.stderr.trim().split("\n");
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatch(/^error: refused 5 key\(s\) that cannot be written inside .*dst: /);
    for (const key of REFUSED) expect(lines[0]).toContain(JSON.stringify(key));
    expect(lines[0]).toContain(`"up/../../victim.txt" (its path has a '..' segment)`);
    expect(lines[0]).toContain(`"up//etc/passwd" (its path is absolute)`);
    expect(snapshot(dst)).toEqual(
      new Map([
        ["ok.txt", "fine"],
        ["nested", "dir"],
        ["nested/ok.txt", "fine too"],
      ]),
    );
    const after = snapshot(work);
    for (const key of [...after.keys()].filter((k) => !k.startsWith("deep"))) expect(after.get(key), key).toBe(outside.get(key));
    expect([...after.keys()].filter((k) => !k.startsWith("deep") && !outside.has(k))).toEqual([]);
    // Refused keys are never even fetched.
    expect(
      server.requests
        .filter((r) => r.method === "GET" && !r.url.includes("list-type"))
        .map((r) => r.url)
        .sort(),
    ).toEqual(["/bucket-1/up/nested/ok.txt", "/bucket-1/up/ok.txt"]);
    server.requests.length = 0;
  });

  it("hostile keys with --dry-run: each refusal is listed, nothing is written, exit 1", async () => {
    const dst = path.join(work, "dry-dst");
    const result = await trainctlAsync(["transfer", "s3://bucket-1/up/", dst, "--dry-run"], { env, cwd: work });
    expect(result.code).toBe(1);
    expect(result.stderr).toContain(`refuse "up/../../victim.txt" (its path has a '..' segment)`);
    expect(result.stderr).toContain(`refuse "up/line\\nbreak.txt" (its path has a control character)`);
    expect(result.stderr).toContain("would-copy ok.txt");
    expect(result.stderr.trim().split("\n").at(-1)).toMatch(/^error: refused 5 key\(s\) .*the other objects would be copied$/);
    expect(existsSync(dst)).toBe(false);
    expect(server.requests.filter((r) => r.method === "GET" && !r.url.includes("list-type"))).toEqual([]);
  });

  it("EEXIST (a file where a folder must go) names the file it was writing; the other objects are copied", async () => {
    const dst = path.join(work, "blocked");
    mkdirSync(dst, { recursive: true });
    writeFileSync(path.join(dst, "nested"), "a file, not a folder");
    const result = await trainctlAsync(["transfer", "s3://bucket-1/up/", dst, "--include", "ok.txt", "--include", "nested/**"], { env, cwd: work });
    expect(result.code).toBe(1);
    expect(result.stderr.trim().split("\n")).toHaveLength(1);
    expect(result.stderr).toMatch(new RegExp(`^error: cannot write ${path.join(dst, "nested", "ok.txt")}: E(EXIST|NOTDIR): `));
    expect(readFileSync(path.join(dst, "ok.txt"), "utf8")).toBe("fine");
  });

  it("a folder in DST that is a symlink leading outside is not written through; the error names it", async () => {
    const dst = path.join(work, "planted");
    const victim = path.join(work, "victim-folder");
    mkdirSync(dst, { recursive: true });
    mkdirSync(victim, { recursive: true });
    symlinkSync(victim, path.join(dst, "nested"));
    const result = await trainctlAsync(["transfer", "s3://bucket-1/up/", dst, "--include", "ok.txt", "--include", "nested/**"], { env, cwd: work });
    expect(result.code).toBe(1);
    expect(result.stderr.trim().split("\n")).toHaveLength(1);
    expect(result.stderr).toContain(`error: ${path.join(dst, "nested")} leads outside ${dst} (to ${victim}): nothing was written through it`);
    expect(readdirSync(victim)).toEqual([]);
    expect(readFileSync(path.join(dst, "ok.txt"), "utf8")).toBe("fine");
  });
});

describe("property: whatever keys a bucket lists, a download writes only inside DST and names every key it refuses", () => {
  const dirs = ["a", "b", "x y", "..", ".", "", "...", "..a"];
  const leaves = ["f1", "f 2.txt", "..", ".", "", "\n", "\t.txt", ".hidden"];
  const relative = fc
    .tuple(fc.boolean(), fc.array(fc.constantFrom(...dirs), { maxLength: 3 }), fc.constantFrom(...leaves))
    .map(([absolute, d, leaf]) => `${absolute ? "/" : ""}${[...d, leaf].join("/")}`);
  /** The independent oracle: a key is written iff its relative path is already normal, relative and printable. */
  const writable = (rel: string) =>
    rel !== "" &&
    !rel.startsWith("/") &&
    !rel.endsWith("/") &&
    path.posix.normalize(rel) === rel &&
    !rel.split("/").some((s) => s === "." || s === "..") &&
    // eslint-disable-next-line no-control-regex -- the reference rule refuses C0 controls
    !/[\u0000-\u001f]/.test(rel);

  it("holds for generated key lists, for real runs and dry runs", { timeout: 240_000 }, async () => {
    const root = mkdtempSync(path.join(tmpdir(), "trainctl-keys-property-"));
    Object.assign(process.env, { AWS_ACCESS_KEY_ID: "AKIDTEST", AWS_SECRET_ACCESS_KEY: "secret" });
    let run = 0;
    await fc.assert(
      fc.asyncProperty(fc.uniqueArray(relative, { minLength: 1, maxLength: 8 }), fc.boolean(), async (relatives, dryRun) => {
        const objects = new Map(relatives.map((rel, i) => [`p/${rel}`, `body ${i}`]));
        const server = await startKeyServer("bucket-1", objects);
        const client = makeS3Client({ endpoint: server.endpoint, region: "us-east-1", concurrency: 4 });
        // DST sits five levels down, below the deepest `..` a generated key can climb: everything it could reach is in `box`.
        const box = path.join(root, String(run++));
        const dst = path.join(box, "1", "2", "3", "4", "dst");
        mkdirSync(path.dirname(dst), { recursive: true });
        writeFileSync(path.join(box, "sentinel"), "untouched");
        const options = {
          concurrency: 4,
          include: [],
          exclude: [],
          dryRun,
          sync: false,
          deleteExtra: false,
          verify: false,
          multipartThreshold: 8 * 1024 * 1024,
          journalRoot: box,
        };
        try {
          const outcome = await download(client, "bucket-1", "p/", dst, options).then(
            (summary) => ({ summary, error: undefined }),
            (error: Error) => ({ summary: undefined, error }),
          );
          // Keys ending in `/` (here `p/` itself) are folder markers: never files, and not refusals.
          const listed = relatives.filter((rel) => rel !== "" && !rel.endsWith("/"));
          const refused = listed.filter((rel) => !writable(rel));
          const expected = new Map<string, string>();
          if (!dryRun) for (const rel of listed.filter(writable)) expected.set(rel, objects.get(`p/${rel}`)!);
          // Outside DST: nothing but the sentinel and the folders above DST.
          const everything = snapshot(box);
          const outside = [...everything].filter(([k]) => !k.startsWith("1/2/3/4/dst/") && k !== "1/2/3/4/dst");
          expect(new Map(outside)).toEqual(
            new Map([
              ["sentinel", "untouched"],
              ["1", "dir"],
              ["1/2", "dir"],
              ["1/2/3", "dir"],
              ["1/2/3/4", "dir"],
            ]),
          );
          // Inside DST: exactly the writable keys, each with its own body.
          const files = new Map([...snapshot(dst)].filter(([, v]) => v !== "dir"));
          expect(files).toEqual(expected);
          if (refused.length) {
            expect(outcome.error?.message).toMatch(/^refused \d+ key\(s\) that cannot be written inside /);
            for (const rel of refused) expect(outcome.error?.message).toContain(JSON.stringify(`p/${rel}`));
          } else {
            expect(outcome.error).toBeUndefined();
            expect(outcome.summary?.files).toBe(listed.length);
          }
          expect(writes(server)).toEqual([]);
        } finally {
          client.destroy();
          await server.stop();
        }
      }),
      { numRuns: 60 },
    );
  });
});

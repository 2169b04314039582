import { mkdirSync, readFileSync } from "node:fs";
import * as path from "node:path";
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { UsageError } from "../../core/errors";
import { assertSaneReport } from "../../scripts/pricing/diff";
import { estimateCost } from "../../scripts/pricing/estimate";
import { parsePreview, parseStackExport } from "../../scripts/state/readers";
import { planTeardown } from "../../scripts/teardown/teardown-plan";
import { expectUsageError, trainctl } from "../helpers/cli";
import { FIXTURE, scratch, edited } from "./state-files";
import { installFakePulumi, pathWithout } from "../helpers/fake-pulumi";

/**
 * `trainctl cost` on hostile input: every bad file or flag is exit 2 with one line naming the flag,
 * resource and field, and the Pulumi CLI is never called. Then properties over generated states
 * and previews: a figure is never negative, NaN or infinite, and an unreadable file never exits 0.
 */
const { dir, file } = scratch("trainctl-safety-cost-");
const INSTANCE = "aws:ec2/instance:Instance";
const instanceOf = (rs: Record<string, any>[]) => rs.find((r) => r.type === INSTANCE)!;
const URN = "urn:pulumi:dev::trainctl::aws:ebs/volume:Volume::v";

mkdirSync(path.join(dir, "a-folder"));
const cases: [string, string[], RegExp][] = [
  // Regression: an empty --state= fell through to --stack and said the Pulumi CLI is not installed.
  ["an empty --state=", ["--state="], /^error: --state: needs a value/],
  ["--state given twice", ["--state", FIXTURE, "--state", FIXTURE], /^error: --state: give it once/],
  [
    "a missing file whose name holds a newline",
    ["--state", path.join(dir, "no\nsuch.json")],
    /^error: cost: --state: control character U\+000A in ".*no\\nsuch\.json"/,
  ],
  ["a folder", ["--state", path.join(dir, "a-folder")], /^error: --state: cannot read .* \(EISDIR\)/],
  ["an empty file", ["--state", file("empty.json", "")], /^error: --state: "[^"]+" is not valid JSON/],
  // Regression: deployment null priced as $0.00 with exit 0.
  ["deployment: null", ["--state", file("null.json", { version: 3, deployment: null })], /^error: --state: deployment must be an object \(got null\)/],
  // Regression: a bad URN and dependencies: 5 were raw JS errors with exit 1.
  [
    "a bad URN",
    ["--state", file("urn.json", { version: 3, deployment: { resources: [{ urn: "not-a-urn" }] } })],
    /^error: --state: resource #0 "not-a-urn": urn must be a Pulumi URN/,
  ],
  [
    "dependencies: 5",
    ["--state", file("deps.json", { version: 3, deployment: { resources: [{ urn: URN, dependencies: 5 }] } })],
    /^error: --state: resource #0 ".*": dependencies must be a list of URNs \(got 5\)/,
  ],
  [
    'protect: "yes"',
    ["--state", file("protect.json", { version: 3, deployment: { resources: [{ urn: URN, protect: "yes" }] } })],
    /^error: --state: resource #0 .*: protect must be true or false/,
  ],
  // Regression: maxPrice "-5" gave -$3,565.55/month.
  [
    'a spot maxPrice of "-5"',
    [
      "--state",
      file(
        "maxprice.json",
        edited((rs) => (instanceOf(rs).inputs.instanceMarketOptions = { marketType: "spot", spotOptions: { maxPrice: "-5" } })),
      ),
    ],
    /^error: --state: urn:pulumi:dev::trainctl::.*dev-training-node-0: inputs\.instanceMarketOptions\.spotOptions\.maxPrice must be a finite number >= 0 \(got "-5"\)/,
  ],
  [
    "a volume size of 1e400",
    ["--state", file("huge.json", { version: 3, deployment: { resources: [{ urn: URN, type: "aws:ebs/volume:Volume", outputs: { size: "1e400" } }] } })],
    /^error: --state: urn:.*::v: outputs\.size must be a finite number >= 0 \(got "1e400"\)/,
  ],
  [
    "a volume size too large to sum",
    ["--state", file("sum.json", { version: 3, deployment: { resources: [{ urn: URN, type: "aws:ebs/volume:Volume", outputs: { size: 1e308 } }] } })],
    /^error: --state: urn:.*::v: its (hourly|monthly) cost is Infinity, not a finite amount >= 0/,
  ],
  [
    "a negative max-hours tag",
    [
      "--state",
      file(
        "hours-tag.json",
        edited((rs) => (instanceOf(rs).outputs.tagsAll["trainctl:max-hours"] = "-72")),
      ),
    ],
    /tag trainctl:max-hours must be a finite number >= 0 \(got "-72"\)/,
  ],
  // Regression: {"steps":[{}]} priced as $0.00 with exit 0.
  ['{"steps":[{}]}', ["--preview", file("steps.json", { steps: [{}] })], /^error: --preview: step #0: op must be one of same, create, /],
  [
    "a create step without its new state",
    ["--preview", file("nostate.json", { steps: [{ op: "create", urn: URN }] })],
    /^error: --preview: step #0 ".*": newState must be an object \(the resource's state\) \(got undefined\)/,
  ],
  // Regression: --hours 1e400 gave $∞; --max-monthly 1e400 let any cost pass the gate.
  ["--hours 1e400", ["--state", FIXTURE, "--hours", "1e400"], /^error: --hours must be a number >= 0 .*\(got "1e400"\)/],
  ["--hours=", ["--state", FIXTURE, "--hours="], /^error: --hours: needs a value/],
  ["--hours 0x10", ["--state", FIXTURE, "--hours", "0x10"], /^error: --hours must be a number >= 0/],
  ["--max-monthly 1e400", ["--state", FIXTURE, "--max-monthly", "1e400"], /^error: --max-monthly must be a number >= 0/],
  ["--max-monthly NaN", ["--state", FIXTURE, "--max-monthly", "NaN"], /^error: --max-monthly must be a number >= 0/],
  ["--stack with a control character", ["--stack", "dev\u0007"], /^error: cost: --stack: control character U\+0007 in "dev\\u0007"/],
];

describe("trainctl cost: hostile input is exit 2, one line, and no Pulumi call", () => {
  it.each(cases)("%s", (_what, args, message) => {
    const fake = installFakePulumi();
    const result = trainctl(["cost", ...args], { env: { PATH: pathWithout(fake.dir) } });
    expectUsageError(result, message);
    expect(result.stdout).toBe("");
    expect(fake.calls()).toEqual([]);
  });

  it("hostile keys (__proto__, constructor as a type) are data, not code: exit 0 and sane figures", () => {
    const hostile = edited((rs) => {
      rs.push({
        urn: "urn:pulumi:dev::trainctl::constructor::x",
        type: "constructor",
        custom: true,
        inputs: { PROTO: { size: -1 } },
        outputs: { tags: { PROTO: "x", "trainctl:max-hours": "5" } },
      });
      rs.push({ urn: "urn:pulumi:dev::trainctl::toString::y", type: "toString", custom: true });
    });
    // A JS literal would set the prototype; the file must hold the key itself.
    const text = JSON.stringify(hostile).replaceAll('"PROTO"', '"__proto__"');
    const result = trainctl(["cost", "--state", file("hostile.json", text), "--json"], { env: { PATH: pathWithout() } });
    expect(result.code, result.stderr).toBe(0);
    const report = JSON.parse(result.stdout);
    for (const figure of [report.hourly, report.monthly, report.total, report.hours]) expect(Number.isFinite(figure) && figure >= 0).toBe(true);
  });

  it("cost and teardown never exit 0 on a file truncated anywhere (at the process boundary)", { timeout: 300_000 }, () => {
    const text = readFileSync(FIXTURE, "utf8");
    fc.assert(
      fc.property(fc.constantFrom("cost", "teardown"), fc.integer({ min: 0, max: text.length - 2 }), (command, cut) => {
        const result = trainctl([command, "--state", file("cut.json", text.slice(0, cut)), "--json"], { env: { PATH: pathWithout() } });
        expect(result.code).toBe(2);
        expect(result.stdout).toBe("");
      }),
      { numRuns: 3 },
    );
  });
});

/** A number as a state may hold it: sane, negative, huge, or a string spelling of any of these. */
const hostileNumber = fc.oneof(
  fc.double({ noNaN: true, noDefaultInfinity: true, min: 0, max: 1e6 }),
  fc.double(),
  fc.constantFrom(-5, -0.01, 1e308, Number.MAX_VALUE),
  fc.constantFrom("-5", "1e400", "-1e400", "NaN", "Infinity", "", " ", "abc", "0x10", "12"),
  fc.constant(null),
);
const arbitraryResource = fc.record(
  {
    kind: fc.constantFrom(
      "aws:ec2/instance:Instance",
      "aws:ebs/volume:Volume",
      "aws:s3/bucket:Bucket",
      "aws:ebs/fastSnapshotRestore:FastSnapshotRestore",
      "aws:iam/role:Role",
    ),
    size: hostileNumber,
    iops: hostileNumber,
    throughput: hostileNumber,
    rate: hostileNumber,
    maxPrice: hostileNumber,
    rootSize: hostileNumber,
    maxHours: hostileNumber,
    expectedGib: hostileNumber,
    protect: fc.boolean(),
    finalSnapshot: fc.boolean(),
    market: fc.constantFrom("spot", "on-demand"),
    type: fc.constantFrom("gp3", "io2", "gp2", "st1"),
  },
  { requiredKeys: ["kind"] },
);
const stateOf = (resources: Record<string, any>[]) => ({
  version: 3,
  deployment: {
    resources: resources.map((r, i) => ({
      urn: `urn:pulumi:dev::trainctl::${r.kind}::r${i}`,
      type: r.kind,
      custom: true,
      protect: r.protect,
      inputs: {
        instanceType: "g5.xlarge",
        size: r.size,
        iops: r.iops,
        throughput: r.throughput,
        type: r.type,
        volumeInitializationRate: r.rate,
        finalSnapshot: r.finalSnapshot,
        rootBlockDevice: { volumeSize: r.rootSize },
        instanceMarketOptions: { marketType: r.market, spotOptions: { maxPrice: r.maxPrice } },
        tags: {
          ...(typeof r.maxHours === "string" ? { "trainctl:max-hours": r.maxHours } : {}),
          ...(typeof r.expectedGib === "string" ? { "trainctl:expected-gib": r.expectedGib } : {}),
        },
      },
    })),
  },
});
const saneFigure = (n: unknown) => n === null || n === undefined || (typeof n === "number" && Number.isFinite(n) && n >= 0);

describe("properties over generated states and previews", () => {
  it("cost and teardown either refuse with a UsageError or report only finite figures >= 0", () => {
    fc.assert(
      fc.property(fc.array(arbitraryResource, { maxLength: 6 }), fc.option(hostileNumber, { nil: undefined }), (resources, hours) => {
        const json = stateOf(resources);
        let report;
        try {
          const model = parseStackExport(JSON.parse(JSON.stringify(json)));
          const plan = planTeardown(model);
          expect(saneFigure(plan.monthlyCostAfter)).toBe(true);
          for (const f of plan.finalSnapshots) expect(saneFigure(f.monthly)).toBe(true);
          report = assertSaneReport(
            estimateCost(model, { hours: typeof hours === "number" && Number.isFinite(hours) && hours >= 0 ? hours : undefined }),
            "--state",
          );
        } catch (error) {
          expect(error).toBeInstanceOf(UsageError);
          return;
        }
        for (const figure of [report.hours, report.hourly, report.monthly, report.total, report.oneTime]) expect(saneFigure(figure)).toBe(true);
        for (const item of report.items)
          for (const figure of [item.hourly, item.monthly, item.oneTime, item.afterDeleteMonthly]) expect(saneFigure(figure)).toBe(true);
      }),
      { numRuns: 300 },
    );
  });

  it("a preview's cost and savings are finite and >= 0, or the preview is refused", () => {
    fc.assert(
      fc.property(
        fc.array(fc.tuple(arbitraryResource, fc.constantFrom("create", "same", "update", "delete", "replace", "bogus", undefined)), {
          minLength: 1,
          maxLength: 5,
        }),
        (steps) => {
          const states = stateOf(steps.map(([r]) => r)).deployment.resources;
          const preview = { steps: steps.map(([, op], i) => ({ op, urn: states[i].urn, [op === "delete" ? "oldState" : "newState"]: states[i] })) };
          let report;
          try {
            report = assertSaneReport(estimateCost(parsePreview(JSON.parse(JSON.stringify(preview)))), "--preview");
          } catch (error) {
            expect(error).toBeInstanceOf(UsageError);
            return;
          }
          for (const figure of [report.hourly, report.monthly, report.total, report.savings?.hourly, report.savings?.monthly])
            expect(saneFigure(figure)).toBe(true);
        },
      ),
      { numRuns: 200 },
    );
  });

  it("any JSON that is not a v3 export with a resources list is refused, never read as an empty stack", () => {
    fc.assert(
      fc.property(fc.jsonValue(), (value) => {
        const isExport = typeof value === "object" && value !== null && !Array.isArray(value) && (value as { version?: unknown }).version === 3;
        fc.pre(!isExport);
        expect(() => parseStackExport(value)).toThrow(UsageError);
        expect(() => parsePreview(value)).toThrow(UsageError);
      }),
      { numRuns: 300 },
    );
  });
});

describe("what Pulumi really writes is not mistaken for bad input", () => {
  it("a preview's unknown values and a state's secret numbers are read, not refused", () => {
    const unknown = "04da6b54-80e4-46f7-96ec-b56ff0331ba9";
    const preview = parsePreview({
      steps: [{ op: "create", urn: URN, newState: { type: "aws:ebs/volume:Volume", custom: true, inputs: { size: unknown, iops: unknown } } }],
    });
    expect(preview.resources).toHaveLength(1);
    const secret = { "4dabf18193072939515e22adb298388d": "1b47061264138c4ac30d75fd1eb44270", ciphertext: "v1:abc" };
    const state = parseStackExport({
      version: 3,
      deployment: { resources: [{ urn: URN, type: "aws:ebs/volume:Volume", custom: true, outputs: { size: 100, iops: secret } }] },
    });
    expect(assertSaneReport(estimateCost(state), "--state").monthly).toBeGreaterThan(0);
  });
});

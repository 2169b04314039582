import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { type Listed, planSync } from "../../scripts/transfer/sync-decision";

const listed = (name: string, size: number): Listed<string> => ({ name, size, item: `${name}:${size}` });

describe("planSync: copy, compare or remove, decided from the two listings", () => {
  const sources = [listed("a", 1), listed("b", 2), listed("c", 3)];
  const destinations = [listed("a", 1), listed("b", 5), listed("z", 9)];

  it("without --sync copies everything and compares nothing", () => {
    expect(planSync(sources, destinations, { sync: false, deleteExtra: false })).toEqual({ copy: ["a:1", "b:2", "c:3"], compare: [], remove: [] });
  });

  it("with --sync compares only same-name same-size pairs; a size change or a missing file is copied outright", () => {
    expect(planSync(sources, destinations, { sync: true, deleteExtra: false })).toEqual({
      copy: ["b:2", "c:3"],
      compare: [{ source: "a:1", destination: "a:1" }],
      remove: [],
    });
  });

  it("with --delete removes what no source names, whether or not it syncs", () => {
    expect(planSync(sources, destinations, { sync: false, deleteExtra: true }).remove).toEqual(["z:9"]);
    expect(planSync(sources, destinations, { sync: true, deleteExtra: true }).remove).toEqual(["z:9"]);
  });

  it("property: each source is copied or compared exactly once; removals are exactly the unnamed destinations", () => {
    const entries = fc.uniqueArray(fc.record({ name: fc.constantFrom("a", "b", "c", "d", "e", "f"), size: fc.nat(3) }), { selector: (e) => e.name });
    fc.assert(
      fc.property(entries, entries, fc.boolean(), fc.boolean(), (src, dst, sync, deleteExtra) => {
        const plan = planSync(
          src.map((e) => ({ ...e, item: e })),
          dst.map((e) => ({ ...e, item: e })),
          { sync, deleteExtra },
        );
        expect([...plan.copy, ...plan.compare.map((p) => p.source)].sort((x, y) => x.name.localeCompare(y.name))).toEqual(
          [...src].sort((x, y) => x.name.localeCompare(y.name)),
        );
        for (const { source, destination } of plan.compare) expect([sync, destination.name, destination.size]).toEqual([true, source.name, source.size]);
        for (const copied of plan.copy) if (sync) expect(dst.some((d) => d.name === copied.name && d.size === copied.size)).toBe(false);
        expect(plan.remove).toEqual(deleteExtra ? dst.filter((d) => !src.some((s) => s.name === d.name)) : []);
      }),
    );
  });
});

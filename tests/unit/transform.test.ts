import { describe, expect, it } from "vitest";
import { applyTransform } from "../../components/transform";

interface Args {
  size: number;
  tags: Record<string, string>;
  type?: string;
}
const args = (): Args => ({ size: 10, tags: { Name: "v" } });

describe("applyTransform", () => {
  it("no transform: the args unchanged", () => {
    const a = args();
    expect(applyTransform(a)).toBe(a);
  });

  it("a partial object is merged over the args, its keys winning", () => {
    expect(applyTransform(args(), { size: 20, type: "io2" })).toEqual({ size: 20, tags: { Name: "v" }, type: "io2" });
  });

  it("a function may edit its copy in place (returning nothing) without touching the caller's args", () => {
    const a = args();
    const out = applyTransform(a, (copy) => {
      copy.size = 99;
    });
    expect(out.size).toBe(99);
    expect(a.size).toBe(10);
  });

  it("a function may return replacement args", () => {
    expect(applyTransform(args(), (copy) => ({ ...copy, type: "gp3" }))).toEqual({ size: 10, tags: { Name: "v" }, type: "gp3" });
  });
});

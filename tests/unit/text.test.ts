import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { C0_CONTROL, CONTROL_CHARACTER, asString } from "../../core/text";

describe("CONTROL_CHARACTER", () => {
  it("matches exactly C0 (U+0000..U+001F), DEL and C1 (U+007F..U+009F) (property over every BMP character)", () => {
    for (let code = 0; code <= 0xffff; code++) {
      const isControl = code <= 0x1f || (code >= 0x7f && code <= 0x9f);
      if (CONTROL_CHARACTER.test(String.fromCharCode(code)) !== isControl) expect.fail(`U+${code.toString(16).padStart(4, "0")}`);
    }
  });

  it("finds a control character anywhere in a string", () => {
    fc.assert(
      fc.property(fc.string(), fc.constantFrom("\n", "\t", "\r", "\u0000", "\u001b", "\u007f", "\u0085"), fc.string(), (before, control, after) => {
        expect(CONTROL_CHARACTER.test(`${before}${control}${after}`)).toBe(true);
      }),
    );
  });

  it("lets spaces, non-ASCII letters and emoji through", () => {
    expect(CONTROL_CHARACTER.test("Ünïcode team 東京 🚀 ")).toBe(false);
  });
});

describe("C0_CONTROL", () => {
  it("matches exactly U+0000..U+001F and DEL; C1 controls pass", () => {
    for (let code = 0; code <= 0xff; code++) expect(C0_CONTROL.test(String.fromCharCode(code)), String(code)).toBe(code <= 0x1f || code === 0x7f);
  });
});

describe("asString", () => {
  it("a string, the empty one included, is itself; anything else is undefined, never coerced", () => {
    expect(asString("g5.xlarge")).toBe("g5.xlarge");
    expect(asString("")).toBe("");
    for (const value of [undefined, null, 0, 1, true, ["a"], { toString: () => "a" }, new String("a")]) expect(asString(value)).toBeUndefined();
  });
});

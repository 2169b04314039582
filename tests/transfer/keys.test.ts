import { describe, expect, it } from "vitest";
import { refusalReason } from "../../scripts/transfer/keys";

describe("refusalReason: which keys a download may write under DST", () => {
  it.each([
    ["", "its path is empty"],
    ["/etc/passwd", "its path is absolute"],
    ["..", "its path has a '..' segment"],
    ["../../evil.txt", "its path has a '..' segment"],
    ["a/../../b", "its path has a '..' segment"],
    ["a/..", "its path has a '..' segment"],
    [".", "its path has a '.' segment"],
    ["a/./b", "its path has a '.' segment"],
    ["a//b", "its path has an empty segment"],
    ["line\nbreak.txt", "its path has a control character"],
    ["esc\u001b[31m.txt", "its path has a control character"],
    ["nul\u0000.txt", "its path has a control character"],
  ])("refuses %j", (relative, reason) => {
    expect(refusalReason(relative)).toBe(reason);
  });

  it.each(["a.txt", "nested/deeper/sample 1.bin", "..hidden", "a..b/c", "...", "ünïcödé näme.txt", ".env", "a/.git/config"])("accepts %j", (relative) => {
    expect(refusalReason(relative)).toBeUndefined();
  });
});

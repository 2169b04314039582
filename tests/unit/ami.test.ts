import { describe, expect, it } from "vitest";
import { DEFAULT_AMI_PARAMETER, amiSource } from "../../core/ami";

describe("amiSource", () => {
  it("an explicit AMI id wins over a parameter", () => {
    expect(amiSource({ ami: "ami-0123456789abcdef0", amiParameter: "/my/ami" })).toEqual({ kind: "image", id: "ami-0123456789abcdef0" });
  });

  it("a parameter is used when no id is set, else the Deep Learning Base AMI's public parameter", () => {
    expect(amiSource({ amiParameter: "/my/ami" })).toEqual({ kind: "parameter", name: "/my/ami" });
    expect(amiSource({})).toEqual({ kind: "parameter", name: DEFAULT_AMI_PARAMETER });
    expect(DEFAULT_AMI_PARAMETER).toMatch(/^\/aws\/service\/deeplearning\/ami\/x86_64\/.+\/ami-id$/);
  });

  it("an empty AMI id counts as unset, not as an image called ''", () => {
    expect(amiSource({ ami: "" })).toEqual({ kind: "parameter", name: DEFAULT_AMI_PARAMETER });
  });
});

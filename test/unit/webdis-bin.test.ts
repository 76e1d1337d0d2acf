import { describe, expect, it } from "vitest";
import { compareVersions, hasDoorFixes, pickWebdis, WebdisChoiceError } from "../../src/server/webdis-bin.ts";

const packaged = { bin: "/p/bin/webdis", version: "0.1.22+ds-1" };
const oldSystem = { bin: "/usr/bin/webdis", version: "0.1.9+dfsg-1.1" };

describe("which Webdis runs", () => {
  it("defaults to the packaged 0.1.22 over the system's 0.1.9", () => {
    expect(pickWebdis(undefined, { packaged, system: oldSystem })).toEqual({ ...packaged, source: "packaged" });
    expect(pickWebdis("auto", { packaged, system: oldSystem }).source).toBe("packaged");
  });

  it("prefers a system Webdis that is as new (a trixie machine's own)", () => {
    const newer = { bin: "/usr/bin/webdis", version: "0.1.23-1" };
    expect(pickWebdis("auto", { packaged, system: newer }).source).toBe("system");
    expect(pickWebdis("auto", { packaged, system: { ...newer, version: "0.1.22+ds-1" } }).source).toBe("system");
  });

  it("takes whichever is there, and says how to install when neither is", () => {
    expect(pickWebdis("auto", { system: oldSystem }).source).toBe("system");
    expect(pickWebdis("auto", { packaged }).source).toBe("packaged");
    expect(() => pickWebdis("auto", {})).toThrow(/scripts\/install-webdis/);
  });

  it("honours system, packaged and a path, and refuses what it cannot do", () => {
    expect(pickWebdis("system", { packaged, system: oldSystem }).bin).toBe("/usr/bin/webdis");
    expect(pickWebdis("packaged", { packaged, system: oldSystem }).bin).toBe("/p/bin/webdis");
    expect(pickWebdis("/opt/webdis", {})).toEqual({ bin: "/opt/webdis", version: "unknown", source: "path" });
    expect(() => pickWebdis("packaged", { system: oldSystem })).toThrow(WebdisChoiceError);
    expect(() => pickWebdis("system", { packaged })).toThrow(WebdisChoiceError);
    expect(() => pickWebdis("newest", { packaged })).toThrow(/auto, packaged, system/);
  });

  it("compares Debian versions on their numbers (0.1.22 > 0.1.9, not as text)", () => {
    expect(compareVersions("0.1.22+ds-1", "0.1.9+dfsg-1.1")).toBeGreaterThan(0);
    expect(compareVersions("0.1.9", "0.1.22")).toBeLessThan(0);
    expect(compareVersions("0.1.22", "0.1.22+ds-1")).toBe(0);
    expect(hasDoorFixes("0.1.22+ds-1")).toBe(true);
    expect(hasDoorFixes("0.1.9+dfsg-1.1")).toBe(false);
    expect(hasDoorFixes("unknown")).toBe(false);
  });
});

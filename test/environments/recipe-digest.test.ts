import { describe, expect, it } from "vitest";
import { CATALOG, cacheDirName, catalogEntry, recipeDigest } from "../../src/environments/catalog.js";

describe("cache directory names carry the recipe digest", () => {
  it("names each entry by its name plus a digest of suite and packages", () => {
    for (const entry of CATALOG) {
      expect(cacheDirName(entry.name)).toBe(`${entry.name.replace(":", "_")}.${recipeDigest(entry)}`);
      expect(recipeDigest(entry)).toMatch(/^[0-9a-f]{10}$/);
    }
  });

  it("a changed package set is a new directory (old and new installs coexist); order does not matter", () => {
    const entry = catalogEntry("debian:12");
    const older = { suite: entry.suite, packages: ["git", "ca-certificates"] };
    expect(recipeDigest(older)).not.toBe(recipeDigest(entry));
    expect(recipeDigest({ suite: entry.suite, packages: [...entry.packages].reverse() })).toBe(recipeDigest(entry));
    expect(recipeDigest({ suite: "trixie", packages: entry.packages })).not.toBe(recipeDigest(entry));
  });

  it("python3 is in debian:12 and debian:12-build, with the original's build profile", () => {
    expect(catalogEntry("debian:12").packages).toContain("python3");
    expect(catalogEntry("debian:12-build").packages).toEqual(
      expect.arrayContaining(["python3", "build-essential", "pkg-config", "python3-dev", "curl", "git"]),
    );
    expect(catalogEntry("debian:12-base").packages).toEqual([]);
  });
});

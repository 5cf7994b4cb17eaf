import { spawnSync } from "node:child_process";
import { existsSync, lstatSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { pullEnvironment } from "../../src/environments/index.js";
import type { PyroError } from "../../src/util/errors.js";
import { SUITE_BACKENDS } from "../helpers/backends.js";
import { tempStateDir } from "../helpers/env.js";
import { baseRootfs, bombLayer, configOf, layerOf, manifestOf, manyFilesLayer, pushImage, type Blob, type TarMember } from "../helpers/oci-image.js";
import { startRegistry, type TestRegistry } from "../helpers/registry.js";

const sandbox = SUITE_BACKENDS.find((b) => b.name === "sandbox")!;
const base = layerOf(baseRootfs());

describe.skipIf(!sandbox.available)(`hostile image layers (needs ${sandbox.needs}: pulls keep owners and device nodes as root)`, () => {
  let registry: TestRegistry;
  const state = tempStateDir("pyro-hostile-cache-");
  // The host directory crafted layers aim at: it must look the same after every pull.
  const victimDir = mkdtempSync(join(tmpdir(), "pyro-hostile-victim-"));
  const victim = join(victimDir, "victim");
  let counter = 0;

  beforeAll(async () => {
    registry = await startRegistry();
    writeFileSync(victim, "original\n");
  }, 60_000);
  afterAll(async () => {
    await registry?.stop();
    state.cleanup();
    rmSync(victimDir, { recursive: true, force: true });
  });

  /** Push an image of the busybox base plus `layer`, pull it into a fresh cache, and return the outcome. */
  async function pullWith(layer: Blob, limits?: { maxBytes: number; maxFiles: number }) {
    const layers = [base, layer];
    const config = configOf({ layers });
    const tag = `t${++counter}`;
    await pushImage(registry.host, "hostile/app", tag, [config, ...layers], manifestOf(config, layers));
    const cacheDir = join(state.dir, tag);
    const started = Date.now();
    try {
      const result = await pullEnvironment(`${registry.host}/hostile/app:${tag}`, { cacheDir, env: { PATH: process.env.PATH, HOME: state.dir }, ...(limits ? { imageLimits: limits } : {}) });
      return { result, error: undefined, cacheDir, ms: Date.now() - started };
    } catch (error) {
      return { result: undefined, error: error as PyroError, cacheDir, ms: Date.now() - started };
    }
  }

  function expectHostUntouched(): void {
    expect(readdirSync(victimDir)).toEqual(["victim"]);
    expect(readFileSync(victim, "utf8")).toBe("original\n");
    expect(lstatSync(victim).nlink).toBe(1);
  }

  function expectNothingInstalled(cacheDir: string): void {
    const images = existsSync(join(cacheDir, "images")) ? readdirSync(join(cacheDir, "images")).filter((name) => /^[0-9a-f]{64}$/.test(name)) : [];
    expect(images).toEqual([]);
    if (existsSync(join(cacheDir, "tmp"))) expect(readdirSync(join(cacheDir, "tmp"))).toEqual([]);
  }

  it("refuses members that climb out with ..", async () => {
    for (const path of [`../../../../../../..${victimDir}/dotdot`, "a/../../escape", `data/../../..${victim}`]) {
      const { error, cacheDir } = await pullWith(layerOf([{ path, data: "pwned\n" }]));
      expect(error?.code, path).toBe("invalid_argument");
      expect(error?.message).toMatch(/climbs out with \.\./);
      expectNothingInstalled(cacheDir);
    }
    const whiteout = await pullWith(layerOf([{ path: `../../../..${victimDir}/.wh.victim` }]));
    expect(whiteout.error?.code).toBe("invalid_argument");
    expectHostUntouched();
  }, 120_000);

  it("contains absolute paths, symlink-then-write and whiteouts through symlinks inside the rootfs", async () => {
    const members: TarMember[] = [
      { path: `${victimDir}/absolute.txt`, data: "absolute\n" },
      { path: "escape", type: "symlink", linkpath: victimDir },
      { path: "escape/owned.txt", data: "through an absolute symlink\n" },
      { path: "escape/victim", data: "overwritten?\n" },
      { path: "up", type: "symlink", linkpath: `../../../../../../../../..${victimDir}` },
      { path: "up/owned2.txt", data: "through a relative symlink\n" },
      { path: "up/.wh.victim" },
      { path: "dev/evil-null", type: "char", devmajor: 1, devminor: 3, mode: 0o666 },
    ];
    const { result, error } = await pullWith(layerOf(members));
    expect(error).toBeUndefined();
    const rootfs = result!.paths.rootfs_dir;
    // Everything landed inside the image's own rootfs, at the path the guest resolves.
    expect(readFileSync(join(rootfs, victimDir, "absolute.txt"), "utf8")).toBe("absolute\n");
    expect(readFileSync(join(rootfs, victimDir, "owned.txt"), "utf8")).toBe("through an absolute symlink\n");
    expect(readFileSync(join(rootfs, victimDir, "owned2.txt"), "utf8")).toBe("through a relative symlink\n");
    // The whiteout removed the in-image copy of "victim", never the host's.
    expect(existsSync(join(rootfs, victimDir, "victim"))).toBe(false);
    expect(lstatSync(join(rootfs, "escape")).isSymbolicLink()).toBe(true);
    expect(lstatSync(join(rootfs, "dev", "evil-null")).isCharacterDevice()).toBe(true);
    expectHostUntouched();
  }, 120_000);

  it.skipIf(spawnSync("sh", ["-c", "command -v setfattr && command -v getfattr"]).status !== 0)("keeps xattrs from pax headers on the rootfs, on the member's own path (needs attr)", async () => {
    const members: TarMember[] = [
      { path: "opt/", type: "dir" },
      { path: "opt/tagged", data: "x\n", pax: { "SCHILY.xattr.user.pyro": "kept", "SCHILY.xattr.security.capability": "\u0001\u0000\u0000\u0002" } },
      { path: "escape", type: "symlink", linkpath: victimDir },
      { path: "escape/victim", data: "in the image\n", pax: { "SCHILY.xattr.user.pyro": "inside" } },
      // A file with an xattr whose directory is then replaced by a symlink to the host directory.
      { path: "later/", type: "dir" },
      { path: "later/victim", data: "tagged\n", pax: { "SCHILY.xattr.user.pyro": "through a swapped directory" } },
      { path: "later", type: "symlink", linkpath: victimDir },
    ];
    const { result, error } = await pullWith(layerOf(members));
    expect(error).toBeUndefined();
    const rootfs = result!.paths.rootfs_dir;
    const read = (path: string) => spawnSync("getfattr", ["-h", "--only-values", "-n", "user.pyro", path], { encoding: "utf8" }).stdout;
    expect(read(join(rootfs, "opt", "tagged"))).toBe("kept");
    expect(read(join(rootfs, victimDir, "victim"))).toBe("inside");
    expect(read(victim)).toBe("");
    expectHostUntouched();
  }, 120_000);

  it("refuses hard links to anything outside the image", async () => {
    for (const linkpath of [victim, `../../../..${victim}`, "does/not/exist", "bin"]) {
      const { error, cacheDir } = await pullWith(layerOf([{ path: "hl", type: "link", linkpath }]));
      expect(error?.code, linkpath).toBe("invalid_argument");
      expect(error?.message).toMatch(/hard link|climbs out/);
      expectNothingInstalled(cacheDir);
    }
    expectHostUntouched();
  }, 120_000);

  it("stops a layer of 10⁶ tiny files at the file cap", async () => {
    const layer = await manyFilesLayer(1_000_000);
    const { error, cacheDir, ms } = await pullWith(layer, { maxBytes: 1 << 30, maxFiles: 20_000 });
    expect(error?.code).toBe("limit_exceeded");
    expect(error?.message).toMatch(/more than 20000 files/);
    expect(ms).toBeLessThan(60_000);
    expectNothingInstalled(cacheDir);
  }, 300_000);

  it("refuses a declared gzip bomb before writing it, and never expands what follows the end of the archive", async () => {
    const huge = await bombLayer("huge-file", 1 << 30);
    const refused = await pullWith(huge, { maxBytes: 64 << 20, maxFiles: 100_000 });
    expect(refused.error?.code).toBe("limit_exceeded");
    expect(refused.error?.message).toMatch(/more than 64 MiB/);
    expect(refused.ms).toBeLessThan(30_000);
    expectNothingInstalled(refused.cacheDir);

    const trailing = await bombLayer("after-end", 1 << 30);
    const contained = await pullWith(trailing, { maxBytes: 64 << 20, maxFiles: 100_000 });
    expect(contained.error).toBeUndefined();
    expect(readFileSync(join(contained.result!.paths.rootfs_dir, "small.txt"), "utf8")).toBe("small\n");
    expectHostUntouched();
  }, 300_000);
});

import { execFileSync } from "node:child_process";
import { existsSync, mkdirSync, readdirSync, statSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  ensureEnvironment,
  getInstalledEnvironment,
  inspectEnvironment,
  listEnvironments,
  pullEnvironment,
  pruneEnvironments,
} from "../../src/environments/index.js";
import { pushEnvironment } from "../../src/environments/oci/push.js";
import { parseReference } from "../../src/environments/oci/reference.js";
import { PyroError } from "../../src/util/errors.js";
import { cacheDirName } from "../../src/environments/catalog.js";
import { startRegistry, type TestRegistry } from "../helpers/registry.js";
import { SHARED_CACHE, TEST_ENV, sharedBaseEnvironment, tempDir } from "./fixture.js";

const NAME = "debian:12-base";

describe("catalog and lookups", () => {
  it("lists the catalog with its version and descriptions", async () => {
    const cache = tempDir("pyro-list-");
    try {
      const list = await listEnvironments(cache.dir);
      expect(list.catalog_version).toBe("3.1.0");
      expect(list.environments.map((e) => [e.name, e.installed, e.description])).toEqual([
        ["debian:12", false, "Debian 12 environment with Git preinstalled for common agent workflows."],
        ["debian:12-base", false, "Minimal Debian 12 environment for shell and core Unix tooling."],
        ["debian:12-build", false, "Debian 12 environment with Git and common build tools preinstalled."],
      ]);
    } finally {
      cache.cleanup();
    }
  });

  it("rejects unknown names with the valid ones in the hint", async () => {
    // A name in a catalog repository is a mistyped catalog name; other names are OCI images (docs/images.md).
    expect(await inspectEnvironment("ubuntu:24.04", "/nonexistent")).toMatchObject({ installed: false, reference: "docker.io/library/ubuntu:24.04", image: null });
    for (const call of [() => inspectEnvironment("debian:99", "/nonexistent"), () => pullEnvironment("debian:99", { cacheDir: "/nonexistent" })]) {
      const error = await call().catch((e: unknown) => e);
      expect(error).toBeInstanceOf(PyroError);
      expect((error as PyroError).code).toBe("not_found");
      expect((error as PyroError).hint).toContain("debian:12, debian:12-base, debian:12-build");
    }
  });

  it("getInstalledEnvironment says how to pull what is missing", async () => {
    const error = await getInstalledEnvironment("debian:12", "/nonexistent").catch((e: unknown) => e);
    expect((error as PyroError).code).toBe("not_found");
    expect((error as PyroError).hint).toBe("pyro env pull debian:12");
  });

  it("a locally built environment is installed with image, agent and manifest", async () => {
    const base = await sharedBaseEnvironment();
    expect(base.installed).toBe(true);
    expect(base.source).toBe("local");
    expect(base.digests.rootfs_tree).toMatch(/^sha256:/);
    expect(base.agent_paths).toEqual(["/usr/local/sbin/pyro-agent", "/sbin/pyro-init"]);
    const installed = await getInstalledEnvironment(NAME, SHARED_CACHE);
    expect(existsSync(installed.rootImage)).toBe(true);
    // The image holds the agent as init; debugfs prints the inode of a found file.
    const stat = execFileSync("debugfs", ["-R", "stat /usr/sbin/pyro-init", installed.rootImage], { stdio: ["ignore", "pipe", "pipe"] }).toString();
    expect(stat).toMatch(/Type: regular\s+Mode:\s+0755/);
    const again = await pullEnvironment(NAME, { cacheDir: SHARED_CACHE, env: TEST_ENV });
    expect(again.pulled).toBe(false);
  }, 600_000);
});

describe("agent refresh", () => {
  it("ensureEnvironment re-injects a changed agent and rebuilds the image", async () => {
    await sharedBaseEnvironment();
    const cache = tempDir("pyro-refresh-");
    try {
      execFileSync("cp", ["-a", join(SHARED_CACHE, cacheDirName(NAME)), cache.dir]);
      const before = await inspectEnvironment(NAME, cache.dir);
      const lines: string[] = [];
      // /bin/true is a different ELF binary from whichever agent built the shared copy.
      const env = { ...process.env, PYRO_AGENT_BIN: "/bin/true", PYRO_OCI_REGISTRY: "none" };
      const installed = await ensureEnvironment(NAME, { cacheDir: cache.dir, env, kernel: false, onProgress: (l) => lines.push(l) });
      const after = await inspectEnvironment(NAME, cache.dir);
      expect(lines.some((l) => l.includes("reason=agent_changed"))).toBe(true);
      expect(after.digests.agent).not.toBe(before.digests.agent);
      expect(after.digests.root_image).not.toBe(before.digests.root_image);
      expect(after.digests.rootfs_tree).toBe(before.digests.rootfs_tree);
      const stat = execFileSync("debugfs", ["-R", "stat /usr/local/sbin/pyro-agent", installed.rootImage], { stdio: ["ignore", "pipe", "pipe"] }).toString();
      expect(stat).toContain(`Size: ${statSync("/bin/true").size}`);
    } finally {
      cache.cleanup();
    }
  }, 120_000);
});

describe("prune", () => {
  it("removes dead pulls' temp dirs, broken and retired entries and stale locks, and nothing else", async () => {
    const cache = tempDir("pyro-prune-");
    try {
      const c = cache.dir;
      mkdirSync(join(c, "tmp", "debian_12.999999.12345.abcdef", "rootfs"), { recursive: true });
      writeFileSync(join(c, "tmp", "debian_12.999999.12345.abcdef", "rootfs", "big"), Buffer.alloc(1 << 20, 1));
      mkdirSync(join(c, "tmp", `debian_12.${process.pid}.0.live`), { recursive: true });
      mkdirSync(join(c, cacheDirName("debian:12"), "rootfs"), { recursive: true }); // interrupted: no manifest
      // An older catalog's debian:12 (another package set, or the layout before recipe digests).
      mkdirSync(join(c, "debian_12", "rootfs"), { recursive: true });
      writeFileSync(join(c, "debian_12", "manifest.json"), "{}");
      mkdirSync(join(c, "debian_11"), { recursive: true });
      writeFileSync(join(c, "debian_11", "manifest.json"), "{}");
      mkdirSync(join(c, "kernels", "6.1.0"), { recursive: true });
      mkdirSync(join(c, "locks"), { recursive: true });
      writeFileSync(join(c, "locks", "debian_12-build.lock"), JSON.stringify({ pid: 999999, start_time: 1, host: (await import("node:os")).hostname(), acquired_at: "x" }));
      expect((await inspectEnvironment("debian:12", c)).status).toBe("broken");

      const result = await pruneEnvironments(c);
      const removed = result.removed.map((r) => r.path.slice(c.length + 1)).sort();
      expect(removed).toEqual(["debian_11", "debian_12", cacheDirName("debian:12"), "locks/debian_12-build.lock", "tmp/debian_12.999999.12345.abcdef"].sort());
      expect(result.removed.find((r) => r.path.endsWith("/debian_12"))?.reason).toBe("not in the current catalog");
      expect(result.freed_bytes).toBeGreaterThanOrEqual(1 << 20);
      expect(readdirSync(join(c, "tmp"))).toEqual([`debian_12.${process.pid}.0.live`]);
      expect(existsSync(join(c, "kernels", "6.1.0"))).toBe(true);
      expect((await pruneEnvironments(c)).removed).toEqual([]);
    } finally {
      cache.cleanup();
    }
  });
});

describe("hostile cache directories", () => {
  let registry: TestRegistry;
  const mount = tempDir("pyro-tmpfs-");

  beforeAll(async () => {
    await sharedBaseEnvironment();
    registry = await startRegistry();
    await pushEnvironment(NAME, { cacheDir: SHARED_CACHE, target: parseReference(`${registry.host}/pyro/debian:12-base`) });
  }, 600_000);

  afterAll(async () => {
    try {
      execFileSync("umount", [mount.dir], { stdio: "ignore" });
    } catch {
      // not mounted
    }
    mount.cleanup();
    await registry?.stop();
  });

  it("a full disk fails the pull with a clear error and leaves nothing half-installed", async () => {
    execFileSync("mount", ["-t", "tmpfs", "-o", "size=20m", "tmpfs", mount.dir]);
    try {
      const error = await pullEnvironment(NAME, { cacheDir: mount.dir, env: TEST_ENV, registryOverride: registry.host }).catch((e: unknown) => e);
      expect(error).toBeInstanceOf(PyroError);
      expect((error as PyroError).code).toBe("io_error");
      expect((error as PyroError).message).toMatch(/no space left/);
      expect((error as PyroError).hint).toMatch(/prune|PYRO_ENVIRONMENT_CACHE_DIR/);
      expect(readdirSync(mount.dir).filter((n) => !["tmp", "locks"].includes(n))).toEqual([]);
      expect(readdirSync(join(mount.dir, "tmp"))).toEqual([]);
      expect(readdirSync(join(mount.dir, "locks"))).toEqual([]);
      expect((await inspectEnvironment(NAME, mount.dir)).installed).toBe(false);
    } finally {
      execFileSync("umount", [mount.dir]);
    }
  });

  it("a read-only cache fails the pull with a hint to make it writable; listing still works", async () => {
    execFileSync("mount", ["-t", "tmpfs", "-o", "size=20m", "tmpfs", mount.dir]);
    try {
      execFileSync("mount", ["-o", "remount,ro", mount.dir]);
      const error = await pullEnvironment(NAME, { cacheDir: mount.dir, env: TEST_ENV, registryOverride: registry.host }).catch((e: unknown) => e);
      expect(error).toBeInstanceOf(PyroError);
      expect((error as PyroError).code).toBe("io_error");
      expect((error as PyroError).hint).toMatch(/writable/);
      expect((await listEnvironments(mount.dir)).environments.every((e) => !e.installed)).toBe(true);
      expect((await pruneEnvironments(mount.dir)).freed_bytes).toBe(0);
    } finally {
      execFileSync("umount", [mount.dir]);
    }
  });
});

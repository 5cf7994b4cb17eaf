import { readdirSync, existsSync, openSync, writeSync, closeSync, statSync } from "node:fs";
import { createServer, type Server } from "node:http";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { pullEnvironment, getInstalledEnvironment, inspectEnvironment } from "../../src/environments/index.js";
import { pushEnvironment, type PushResult } from "../../src/environments/oci/push.js";
import { parseReference } from "../../src/environments/oci/reference.js";
import { PyroError } from "../../src/util/errors.js";
import { freePort, startRegistry, type TestRegistry } from "../helpers/registry.js";
import { SHARED_CACHE, TEST_ENV, sharedBaseEnvironment, tempDir } from "./fixture.js";

const NAME = "debian:12-base";

/** Pull from `registry` into a fresh cache; returns the cache dir, the result or error, and the progress lines. */
async function pullInto(registry: string, options: { explicit: boolean; env?: NodeJS.ProcessEnv }) {
  const cache = tempDir("pyro-oci-cache-");
  const lines: string[] = [];
  const env = { ...TEST_ENV, ...options.env, ...(options.explicit ? {} : { PYRO_OCI_REGISTRY: registry }) };
  try {
    const result = await pullEnvironment(NAME, {
      cacheDir: cache.dir,
      env,
      onProgress: (line) => lines.push(line),
      ...(options.explicit ? { registryOverride: registry } : {}),
    });
    return { cache, result, error: undefined, lines };
  } catch (error) {
    return { cache, result: undefined, error: error as PyroError, lines };
  }
}

/** Nothing of a failed pull may remain: no environment dir, no temp dirs. */
function expectNothingInstalled(cacheDir: string): void {
  const top = readdirSync(cacheDir).filter((name) => !["tmp", "locks"].includes(name));
  expect(top).toEqual([]);
  if (existsSync(`${cacheDir}/tmp`)) expect(readdirSync(`${cacheDir}/tmp`)).toEqual([]);
}

describe("OCI push and pull against a real registry", () => {
  let registry: TestRegistry;
  let pushed: PushResult;
  let localTree: string;

  beforeAll(async () => {
    const base = await sharedBaseEnvironment();
    localTree = base.digests.rootfs_tree as string;
    registry = await startRegistry();
    pushed = await pushEnvironment(NAME, {
      cacheDir: SHARED_CACHE,
      target: parseReference(`${registry.host}/pyro/debian:12-base`),
      chunkSize: 8 << 20,
    });
  }, 600_000);

  afterAll(async () => {
    await registry?.stop();
  });

  it("pulls into an empty cache with the same rootfs digest as the local build", async () => {
    const { cache, result, error, lines } = await pullInto(registry.host, { explicit: true });
    try {
      expect(error).toBeUndefined();
      expect(result?.source).toBe("oci");
      expect(result?.pulled).toBe(true);
      expect(result?.digests.rootfs_tree).toBe(localTree);
      expect(result?.digests.oci_layer).toBe(pushed.layer_digest);
      expect(result?.digests.oci_manifest).toBe(pushed.manifest_digest);
      expect(result?.reference).toBe(`${registry.host}/pyro/debian:12-base`);
      for (const phase of ["resolve", "download", "build", "image", "install", "ready"]) {
        expect(lines.some((line) => line.startsWith(`[pull] phase=${phase} environment=${NAME}`))).toBe(true);
      }
      expect(lines.some((line) => /phase=download .*percent=\d+/.test(line))).toBe(true);
      const installed = await getInstalledEnvironment(NAME, cache.dir);
      expect(statSync(installed.rootImage).size).toBeGreaterThan(128 << 20);
      expect(statSync(`${installed.rootfsDir}/dev/null`).isCharacterDevice()).toBe(true);
      expect(statSync(`${installed.rootfsDir}/workspace`).mode & 0o777).toBe(0o755);
      expect(statSync(`${installed.rootfsDir}/usr/local/sbin/pyro-agent`).ino).toBe(statSync(`${installed.rootfsDir}/sbin/pyro-init`).ino);
      // A second push of the same environment reuses the stored blob.
      const again = await pushEnvironment(NAME, { cacheDir: SHARED_CACHE, target: parseReference(`${registry.host}/pyro/debian:12-base`) });
      expect(again.layer_uploaded).toBe(false);
    } finally {
      cache.cleanup();
    }
  });

  it("two concurrent pulls of one environment do the work once", async () => {
    const cache = tempDir("pyro-oci-concurrent-");
    try {
      const lines: string[] = [];
      const pull = () =>
        pullEnvironment(NAME, { cacheDir: cache.dir, env: TEST_ENV, registryOverride: registry.host, onProgress: (l) => lines.push(l) });
      const results = await Promise.all([pull(), pull()]);
      expect(results.map((r) => r.pulled).sort()).toEqual([false, true]);
      expect(results[0]?.digests).toEqual(results[1]?.digests);
      expect(lines.filter((l) => l.startsWith("[pull] phase=image")).length).toBe(1);
      expect(lines.some((l) => /phase=ready .*cached=true/.test(l))).toBe(true);
    } finally {
      cache.cleanup();
    }
  });

  it("refuses a corrupted blob and installs nothing, even when fallback would be allowed", async () => {
    const blob = registry.blobPath(pushed.layer_digest);
    const size = statSync(blob).size;
    const fd = openSync(blob, "r+");
    try {
      // Flip bytes in the middle of the stored layer; size stays the same.
      writeSync(fd, Buffer.from("pyro-tampered!!!"), 0, 16, Math.floor(size / 2));
    } finally {
      closeSync(fd);
    }
    for (const explicit of [true, false]) {
        const { cache, error } = await pullInto(registry.host, { explicit });
        try {
          expect(error).toBeInstanceOf(PyroError);
          expect(error?.code).toBe("corrupt_state");
          expect(error?.message).toMatch(/sha256 verification/);
          expect(error?.hint).toBeTruthy();
          expectNothingInstalled(cache.dir);
          expect((await inspectEnvironment(NAME, cache.dir)).installed).toBe(false);
        } finally {
          cache.cleanup();
        }
    }
  });
});

describe("unusable registries", () => {
  let junk: Server;
  let junkHost: string;
  let deadHost: string;

  beforeAll(async () => {
    // A misbehaving registry: every answer is 200 with a body that is not a manifest.
    junk = createServer((_req, res) => {
      res.writeHead(200, { "content-type": "application/json" });
      res.end("<html>definitely not a registry</html>");
    });
    await new Promise<void>((r) => junk.listen(0, "127.0.0.1", r));
    const address = junk.address();
    junkHost = `127.0.0.1:${typeof address === "object" && address ? address.port : 0}`;
    deadHost = `127.0.0.1:${await freePort()}`;
  });

  afterAll(async () => {
    await new Promise((r) => junk.close(r));
  });

  // A mirror nobody listens on makes the local fallback fail fast instead of building for 30 s.
  const noMirror = { PYRO_DEBIAN_MIRROR: "http://127.0.0.1:9/debian" };

  for (const kind of ["down", "garbage"] as const) {
    it(`an explicitly requested registry that is ${kind} is an error`, async () => {
      const host = kind === "down" ? deadHost : junkHost;
      const { cache, error, lines } = await pullInto(host, { explicit: true, env: noMirror });
      try {
        expect(error?.code).toBe("unavailable");
        expect(error?.message).toMatch(kind === "down" ? /unreachable/ : /not JSON|not an OCI/);
        expect(error?.hint).toMatch(/PYRO_OCI_REGISTRY/);
        expect(lines.some((l) => l.includes("source=local"))).toBe(false);
        expectNothingInstalled(cache.dir);
      } finally {
        cache.cleanup();
      }
    });

    it(`a configured registry that is ${kind} falls back to a local build`, async () => {
      const host = kind === "down" ? deadHost : junkHost;
      const { cache, error, lines } = await pullInto(host, { explicit: false, env: noMirror });
      try {
        expect(lines.some((l) => l.startsWith(`[pull] phase=resolve environment=${NAME} source=local fallback=`))).toBe(true);
        expect(lines.some((l) => l.startsWith(`[pull] phase=build environment=${NAME} source=local`))).toBe(true);
        // The fallback build itself fails here only because the test points it at a dead mirror.
        expect(error?.code).toBe("io_error");
        expectNothingInstalled(cache.dir);
      } finally {
        cache.cleanup();
      }
    });
  }
});

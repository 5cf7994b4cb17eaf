import { existsSync, readdirSync } from "node:fs";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { Pyro } from "../../src/index.js";
import { SUITE_BACKENDS } from "../helpers/backends.js";
import { TEST_CACHE_DIR, tempStateDir } from "../helpers/env.js";
import { baseRootfs, changesLayer, configOf, layerOf, manifestOf, pushImage } from "../helpers/oci-image.js";
import { startRegistry, type TestRegistry } from "../helpers/registry.js";

const sandbox = SUITE_BACKENDS.find((b) => b.name === "sandbox")!;

/**
 * Two layers pushed by a plain v2 client: busybox + files, then a layer that
 * deletes (whiteout), clears a directory (opaque whiteout) and replaces.
 */
async function pushLayered(registry: TestRegistry, repository: string, tag: string) {
  const layers = [layerOf(baseRootfs()), layerOf(changesLayer())];
  const config = configOf({ env: ["PATH=/bin:/usr/bin", "GREETING=hello from the image", "EMPTY="], workingDir: "/srv/app", layers });
  const manifest = manifestOf(config, layers);
  await pushImage(registry.host, repository, tag, [config, ...layers], manifest);
  return { manifest, config, layers };
}

/** The shell probe of the layered filesystem and config a run must see. */
const PROBE = [
  "echo cwd=$(pwd)",
  "echo greeting=$GREETING",
  "test -e /data/old.txt && echo old=present || echo old=gone",
  "echo keep=$(cat /data/keep.txt)",
  "echo dir=$(ls /data/dir | tr '\\n' ,)",
  "echo linked=$(cat /data/link-to-keep)",
  "echo added=$(stat -c %a:%u:%g /srv/app/added.txt)",
].join("; ");

describe.each(SUITE_BACKENDS)("pyro run of an OCI image on $name", ({ name: backend, available, needs }) => {
  const state = tempStateDir();
  let registry: TestRegistry;
  let pyro: Pyro;
  let ref: string;
  let digest: string;

  beforeAll(async () => {
    if (!available) return;
    registry = await startRegistry();
    const pushed = await pushLayered(registry, "team/layered", "v1");
    digest = pushed.manifest.digest;
    ref = `${registry.host}/team/layered:v1`;
    pyro = new Pyro({ stateDir: state.dir, cacheDir: TEST_CACHE_DIR });
  }, 300_000);
  afterAll(async () => {
    await registry?.stop();
    state.cleanup();
  });

  it.skipIf(!available)(`sees the final layered filesystem, Env and WorkingDir (needs ${needs})`, async () => {
    const result = await pyro.runInVm({ environment: ref, backend, allow_host_compat: true, command: PROBE, timeout_seconds: 120 });
    expect(result.stderr).toBe("");
    expect(result.exit_code).toBe(0);
    expect(result.stdout.split("\n")).toEqual([
      "cwd=/srv/app",
      "greeting=hello from the image",
      "old=gone",
      "keep=version 2",
      "dir=c,",
      "linked=version 2",
      // The sandbox's user namespace maps root only: other owners read as the overflow id there.
      backend === "sandbox" ? "added=600:65534:65534" : "added=600:1000:1000",
      "",
    ]);
    expect(result.environment).toBe(`${registry.host}/team/layered@${digest}`);
  }, 600_000);

  it.skipIf(!available)("runs a one-shot command as the image's User on a VM; the sandbox refuses it (unsupported)", async () => {
    const layers = [layerOf(baseRootfs())];
    const config = configOf({ env: ["PATH=/bin"], user: "app", layers });
    await pushImage(registry.host, "team/user", "v1", [config, ...layers], manifestOf(config, layers));
    const run = pyro.runInVm({ environment: `${registry.host}/team/user:v1`, backend, allow_host_compat: true, command: "id -u; id -g; echo $HOME", timeout_seconds: 120 });
    if (backend === "sandbox") {
      // Its user namespace maps root only; running as root instead would be another behaviour (docs/images.md).
      await expect(run).rejects.toMatchObject({ code: "unsupported", hint: expect.stringContaining("--backend qemu") });
    } else {
      const result = await run;
      expect(result.exit_code).toBe(0);
      expect(result.stdout).toBe("1000\n1000\n/home/app\n");
    }
    const unknown = configOf({ env: ["PATH=/bin"], user: "nobody-here", layers });
    await pushImage(registry.host, "team/user", "bad", [unknown], manifestOf(unknown, layers));
    await expect(pyro.runInVm({ environment: `${registry.host}/team/user:bad`, backend, allow_host_compat: true, command: "true" })).rejects.toMatchObject({
      code: "failed_precondition",
      message: expect.stringContaining('sets User "nobody-here", which its /etc/passwd does not have'),
    });
  }, 600_000);

  it.skipIf(!available)("a request's env wins over the image's Env; a digest reference needs no registry once pulled", async () => {
    const result = await pyro.runInVm({ environment: `${registry.host}/team/layered@${digest}`, backend, allow_host_compat: true, command: "echo $GREETING", timeout_seconds: 120 });
    expect(result.stdout).toBe("hello from the image\n");
    const details = await pyro.inspectEnvironment({ environment: ref });
    expect(details).toMatchObject({ installed: true, status: "installed", source: "image", reference: ref });
    expect(details.image).toMatchObject({ digest, working_dir: "/srv/app", env: ["PATH=/bin:/usr/bin", "GREETING=hello from the image", "EMPTY="] });
    expect(details.image?.layers).toHaveLength(2);
    expect(existsSync(details.paths.root_image)).toBe(true);
  }, 600_000);
});

describe.skipIf(!sandbox.available)(`images and the cache (needs ${sandbox.needs})`, () => {
  it("shares one install between two tags of one digest", async () => {
    const registry = await startRegistry();
    const state = tempStateDir();
    try {
      const pushed = await pushLayered(registry, "team/shared", "a");
      await pushImage(registry.host, "team/shared", "b", [], pushed.manifest);
      const pyro = new Pyro({ stateDir: state.dir, cacheDir: TEST_CACHE_DIR });
      const a = await pyro.pullEnvironment({ environment: `${registry.host}/team/shared:a` });
      const b = await pyro.pullEnvironment({ environment: `${registry.host}/team/shared:b` });
      expect(a.paths.dir).toBe(b.paths.dir);
      expect(b.pulled).toBe(false);
      expect(readdirSync(`${TEST_CACHE_DIR}/images`)).toContain(pushed.manifest.digest.slice(7));
    } finally {
      await registry.stop();
      state.cleanup();
    }
  }, 300_000);
});

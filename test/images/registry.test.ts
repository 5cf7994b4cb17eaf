import { spawnSync } from "node:child_process";
import { existsSync, mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { createServer, type Server } from "node:http";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { inspectEnvironment, pullEnvironment } from "../../src/environments/index.js";
import { PyroError } from "../../src/util/errors.js";
import { SUITE_BACKENDS } from "../helpers/backends.js";
import { tempStateDir } from "../helpers/env.js";
import { baseRootfs, configOf, digestOf, indexOf, layerOf, manifestOf, pushImage, tarOf, type Blob } from "../helpers/oci-image.js";
import { freePort, htpasswdLine, startRegistry, type TestRegistry } from "../helpers/registry.js";

const sandbox = SUITE_BACKENDS.find((b) => b.name === "sandbox")!;
const PASSWORD = "s3cret-Pa55word";
const htpasswd = htpasswdLine("ci", PASSWORD);

/** An image whose second layer holds `/marker` with `text`. */
function markedImage(text: string, architecture = "amd64") {
  const layers = [layerOf(baseRootfs()), layerOf([{ path: "marker", data: `${text}\n` }])];
  const config = configOf({ layers, architecture, env: ["PATH=/bin", `MARK=${text}`] });
  return { layers, config, manifest: manifestOf(config, layers), blobs: [config, ...layers] as Blob[] };
}

/** Pull into `cacheDir`; the result, or the PyroError, plus every progress line. */
async function pull(reference: string, cacheDir: string, env: NodeJS.ProcessEnv = {}) {
  const lines: string[] = [];
  try {
    const result = await pullEnvironment(reference, { cacheDir, env: { PATH: process.env.PATH, HOME: join(cacheDir, "no-home"), ...env }, onProgress: (line) => lines.push(line) });
    return { result, error: undefined, lines };
  } catch (error) {
    return { result: undefined, error: error as PyroError, lines };
  }
}

/** Nothing of a failed pull remains: no image directory, no temp dir. */
function expectNothingInstalled(cacheDir: string): void {
  const images = existsSync(join(cacheDir, "images")) ? readdirSync(join(cacheDir, "images")).filter((name) => /^[0-9a-f]{64}$/.test(name)) : [];
  expect(images).toEqual([]);
  if (existsSync(join(cacheDir, "tmp"))) expect(readdirSync(join(cacheDir, "tmp"))).toEqual([]);
}

describe.skipIf(!sandbox.available)(`image references against a loopback registry (needs ${sandbox.needs})`, () => {
  let registry: TestRegistry;
  const caches: Array<{ dir: string; cleanup: () => void }> = [];
  const cache = () => {
    const made = tempStateDir("pyro-image-cache-");
    caches.push(made);
    return made.dir;
  };

  beforeAll(async () => {
    registry = await startRegistry();
  }, 60_000);
  afterAll(async () => {
    await registry?.stop();
    for (const made of caches) made.cleanup();
  });

  it("picks linux/amd64 from a multi-arch index", async () => {
    const amd = markedImage("amd64");
    const arm = markedImage("arm64", "arm64");
    await pushImage(registry.host, "multi/app", "sha-amd", amd.blobs, amd.manifest);
    await pushImage(registry.host, "multi/app", "sha-arm", arm.blobs, arm.manifest);
    const index = indexOf([{ manifest: arm.manifest, architecture: "arm64" }, { manifest: amd.manifest, architecture: "amd64" }]);
    await pushImage(registry.host, "multi/app", "latest", [], index);
    const dir = cache();
    const { result, error } = await pull(`${registry.host}/multi/app`, dir);
    expect(error).toBeUndefined();
    expect(result?.image).toMatchObject({ digest: amd.manifest.digest, platform: "linux/amd64", env: ["PATH=/bin", "MARK=amd64"] });
    expect(result?.digests.oci_index).toBe(index.digest);
    expect(readFileSync(join(result!.paths.rootfs_dir, "marker"), "utf8")).toBe("amd64\n");
  }, 120_000);

  it("pins a digest reference: a moved tag does not change what it names", async () => {
    const one = markedImage("one");
    const two = markedImage("two");
    await pushImage(registry.host, "pin/app", "v1", one.blobs, one.manifest);
    const dir = cache();
    const byDigest = `${registry.host}/pin/app@${one.manifest.digest}`;
    await pushImage(registry.host, "pin/app", "v1", two.blobs, two.manifest);
    const pinned = await pull(byDigest, dir);
    expect(pinned.error).toBeUndefined();
    expect(readFileSync(join(pinned.result!.paths.rootfs_dir, "marker"), "utf8")).toBe("one\n");
    const tagged = await pull(`${registry.host}/pin/app:v1`, dir);
    expect(readFileSync(join(tagged.result!.paths.rootfs_dir, "marker"), "utf8")).toBe("two\n");
    expect(tagged.result?.pulled).toBe(true);
    // Both stay installed side by side, each under its own manifest digest.
    expect((await inspectEnvironment(byDigest, dir)).image?.digest).toBe(one.manifest.digest);
    // A digest that does not match what the registry serves is refused.
    const wrong = await pull(`${registry.host}/pin/app@sha256:${"0".repeat(64)}`, dir);
    expect(wrong.error?.code).toBe("not_found");
  }, 120_000);

  it("refuses images for other architectures only", async () => {
    const arm = markedImage("arm", "arm64");
    await pushImage(registry.host, "arm/only", "single", arm.blobs, arm.manifest);
    await pushImage(registry.host, "arm/only", "index", [], indexOf([{ manifest: arm.manifest, architecture: "arm64" }]));
    const dir = cache();
    const single = await pull(`${registry.host}/arm/only:single`, dir);
    expect(single.error?.message).toMatch(/linux\/arm64, not linux\/amd64/);
    const fromIndex = await pull(`${registry.host}/arm/only:index`, dir);
    expect(fromIndex.error?.message).toMatch(/has no linux\/amd64 image \(it has: linux\/arm64\)/);
    expect(fromIndex.error?.hint).toMatch(/amd64/);
    expectNothingInstalled(dir);
  }, 60_000);

  it("refuses unknown layer media types, images without /bin/sh, bad syntax and unknown registries, installing nothing", async () => {
    const dir = cache();
    const odd = markedImage("odd");
    const weird = { ...odd.layers[1]!, mediaType: "application/vnd.example.layer.v1.squashfs" };
    await pushImage(registry.host, "odd/layer", "v1", odd.blobs, manifestOf(odd.config, [odd.layers[0]!, weird]));
    const unknownType = await pull(`${registry.host}/odd/layer:v1`, dir);
    expect(unknownType.error?.message).toMatch(/media type pyro cannot unpack: application\/vnd\.example\.layer\.v1\.squashfs/);

    const noShellLayers = [layerOf([{ path: "app", data: "static program", mode: 0o755 }])];
    const noShellConfig = configOf({ layers: noShellLayers });
    await pushImage(registry.host, "no/shell", "v1", [noShellConfig, ...noShellLayers], manifestOf(noShellConfig, noShellLayers));
    const noShell = await pull(`${registry.host}/no/shell:v1`, dir);
    expect(noShell.error).toMatchObject({ code: "failed_precondition" });
    expect(noShell.error?.message).toMatch(/has no \/bin\/sh/);

    for (const bad of ["UPPER/case:tag", "registry:5000/repo:ta g", "repo@sha256:1234", "http://127.0.0.1:5000/x", "a//b"]) {
      const result = await pull(`oci:${bad}`, dir);
      expect(result.error?.code, bad).toBe("invalid_argument");
      expect(result.error?.message).toMatch(/not an image reference/);
    }
    // A closed port on this machine: an unknown registry, never anything off the machine.
    const closed = await freePort();
    const unreachable = await pull(`127.0.0.1:${closed}/nobody/here:v1`, dir);
    expect(unreachable.error?.code).toBe("unavailable");
    expect(unreachable.error?.message).toMatch(/unreachable/);
    expect(unreachable.error?.hint).toMatch(/PYRO_INSECURE_REGISTRIES/);
    const missing = await pull(`${registry.host}/not/pushed:v1`, dir);
    expect(missing.error?.code).toBe("not_found");
    expectNothingInstalled(dir);
  }, 120_000);

  it.skipIf(spawnSync("sh", ["-c", "command -v zstd"]).status !== 0)("unpacks zstd and plain tar layers and Docker v2 media types (needs zstd)", async () => {
    const zstdTar = spawnSync("zstd", ["-q", "-c"], { input: tarOf([{ path: "from-zstd", data: "zstd layer\n" }]) });
    const zstdBytes = zstdTar.stdout;
    const zstdLayer: Blob = { mediaType: "application/vnd.oci.image.layer.v1.tar+zstd", bytes: zstdBytes, digest: digestOf(zstdBytes), size: zstdBytes.length };
    const plain = layerOf([{ path: "from-plain", data: "plain layer\n" }], "none");
    const base = layerOf(baseRootfs());
    const layers = [base, zstdLayer, plain];
    const config = configOf({ layers });
    await pushImage(registry.host, "kinds/oci", "v1", [config, ...layers], manifestOf(config, layers));
    const dir = cache();
    const oci = await pull(`${registry.host}/kinds/oci:v1`, dir);
    expect(oci.error).toBeUndefined();
    expect(readFileSync(join(oci.result!.paths.rootfs_dir, "from-zstd"), "utf8")).toBe("zstd layer\n");
    expect(readFileSync(join(oci.result!.paths.rootfs_dir, "from-plain"), "utf8")).toBe("plain layer\n");

    // The same content as a Docker image (Docker's manifest, config and layer media types).
    const dockerLayers = [{ ...base, mediaType: "application/vnd.docker.image.rootfs.diff.tar.gzip" }, { ...plain, mediaType: "application/vnd.docker.image.rootfs.diff.tar" }];
    const dockerConfig = { ...config, mediaType: "application/vnd.docker.container.image.v1+json" };
    const body = Buffer.from(JSON.stringify({
      schemaVersion: 2,
      mediaType: "application/vnd.docker.distribution.manifest.v2+json",
      config: { mediaType: dockerConfig.mediaType, digest: dockerConfig.digest, size: dockerConfig.size },
      layers: dockerLayers.map((l) => ({ mediaType: l.mediaType, digest: l.digest, size: l.size })),
    }));
    const dockerManifest: Blob = { mediaType: "application/vnd.docker.distribution.manifest.v2+json", bytes: body, digest: digestOf(body), size: body.length };
    await pushImage(registry.host, "kinds/docker", "v1", [dockerConfig, ...dockerLayers], dockerManifest);
    const docker = await pull(`${registry.host}/kinds/docker:v1`, dir);
    expect(docker.error).toBeUndefined();
    expect(docker.result?.image?.layers.map((l) => l.media_type)).toEqual(dockerLayers.map((l) => l.mediaType));
    expect(readFileSync(join(docker.result!.paths.rootfs_dir, "from-plain"), "utf8")).toBe("plain layer\n");
  }, 120_000);

  it("resumes a failed pull from the layers it already verified", async () => {
    const first = layerOf(baseRootfs());
    const second = layerOf([{ path: "second", data: "second layer\n" }]);
    const config = configOf({ layers: [first, second] });
    await pushImage(registry.host, "resume/app", "v1", [config, first, second], manifestOf(config, [first, second]));
    // The registry loses the second layer: the pull fails after verifying the first.
    const stored = registry.blobPath(second.digest);
    const saved = readFileSync(stored);
    rmSync(stored);
    const dir = cache();
    const failed = await pull(`${registry.host}/resume/app:v1`, dir);
    expect(failed.error).toBeDefined();
    expectNothingInstalled(dir);
    expect(readdirSync(join(dir, "images", "blobs"))).toEqual([first.digest.slice(7)]);
    writeFileSync(stored, saved);
    const resumed = await pull(`${registry.host}/resume/app:v1`, dir);
    expect(resumed.error).toBeUndefined();
    // Only the missing layer was downloaded again; the kept blobs are gone once installed.
    const downloads = resumed.lines.filter((line) => line.includes("phase=download") && !line.includes("percent"));
    expect(downloads.map((line) => /digest=(\S+)/.exec(line)?.[1])).toEqual([second.digest]);
    expect(readdirSync(join(dir, "images", "blobs"))).toEqual([]);
  }, 120_000);

  it("says a mistyped catalog name is not found instead of asking Docker Hub", async () => {
    const result = await pull("debian:99", cache());
    expect(result.error?.code).toBe("not_found");
    expect(result.error?.hint).toMatch(/debian:12.*oci:debian:99/);
  });
});

describe.skipIf(!sandbox.available)("a registry answering garbage or errors", () => {
  let server: Server;
  let host: string;
  let mode = "garbage";

  beforeAll(async () => {
    server = createServer((request, response) => {
      if (mode === "500") {
        response.writeHead(500).end("oops");
      } else if (mode === "garbage") {
        response.writeHead(200, { "content-type": "application/vnd.oci.image.manifest.v1+json" }).end("{not json at all");
      } else if (mode === "wrong-shape") {
        response.writeHead(200, { "content-type": "application/vnd.oci.image.manifest.v1+json" }).end(JSON.stringify({ schemaVersion: 2, hello: "world" }));
      } else {
        // A manifest that checks out, then a blob that does not match its digest.
        const layer = layerOf([{ path: "bin/sh", data: "x" }]);
        const config = configOf({ layers: [layer] });
        if (request.url?.includes("/manifests/")) response.writeHead(200, { "content-type": "application/vnd.oci.image.manifest.v1+json" }).end(manifestOf(config, [layer]).bytes);
        else if (request.url?.includes(config.digest)) response.writeHead(200).end(config.bytes);
        else response.writeHead(200).end(Buffer.alloc(layer.size, 7));
      }
    });
    const port = await freePort();
    await new Promise<void>((resolvePromise) => server.listen(port, "127.0.0.1", resolvePromise));
    host = `127.0.0.1:${port}`;
  });
  afterAll(() => new Promise<void>((resolvePromise) => server.close(() => resolvePromise())));

  it("fails clearly for each and installs nothing", async () => {
    const state = tempStateDir("pyro-image-cache-");
    try {
      mode = "garbage";
      const garbage = await pull(`${host}/x/y:z`, state.dir);
      expect(garbage.error?.message).toMatch(/not JSON/);
      mode = "wrong-shape";
      const shape = await pull(`${host}/x/y:z`, state.dir);
      expect(shape.error?.message).toMatch(/not a valid image manifest/);
      mode = "500";
      const failing = await pull(`${host}/x/y:z`, state.dir);
      expect(failing.error?.code).toBe("unavailable");
      expect(failing.error?.message).toMatch(/HTTP 500/);
      mode = "bad-blob";
      const corrupt = await pull(`${host}/x/y:z`, state.dir);
      expect(corrupt.error?.code).toBe("corrupt_state");
      expect(corrupt.error?.message).toMatch(/sha256 verification|larger than its declared|verification/);
      expectNothingInstalled(state.dir);
    } finally {
      state.cleanup();
    }
  }, 120_000);
});

describe.skipIf(!sandbox.available || htpasswd === null)(`a private repository with basic auth (needs ${sandbox.needs} and python3's crypt for the htpasswd)`, () => {
  let registry: TestRegistry;
  const state = tempStateDir("pyro-image-auth-");

  beforeAll(async () => {
    registry = await startRegistry({ htpasswd: htpasswd! });
    const image = markedImage("private");
    await pushImage(registry.host, "private/app", "v1", image.blobs, image.manifest, `ci:${PASSWORD}`);
  }, 60_000);
  afterAll(async () => {
    await registry?.stop();
    state.cleanup();
  });

  it("fails clearly without credentials, works with a docker config or PYRO_REGISTRY_AUTH, and never writes the password", async () => {
    const ref = `${registry.host}/private/app:v1`;
    const without = await pull(ref, join(state.dir, "c1"));
    expect(without.error?.code).toBe("failed_precondition");
    expect(without.error?.message).toMatch(/refused access to private\/app without credentials/);
    expect(without.error?.hint).toMatch(/docker login|PYRO_REGISTRY_AUTH/);
    expectNothingInstalled(join(state.dir, "c1"));

    const home = join(state.dir, "home");
    mkdirSync(join(home, ".docker"), { recursive: true });
    writeFileSync(join(home, ".docker", "config.json"), JSON.stringify({ auths: { [registry.host]: { auth: Buffer.from("ci:wrong").toString("base64") } } }));
    const wrong = await pull(ref, join(state.dir, "c2"), { HOME: home });
    expect(wrong.error?.message).toMatch(/with the credentials from docker_config/);
    expect(JSON.stringify(wrong.error)).not.toContain("wrong");

    writeFileSync(join(home, ".docker", "config.json"), JSON.stringify({ auths: { [registry.host]: { auth: Buffer.from(`ci:${PASSWORD}`).toString("base64") } } }));
    const docker = await pull(ref, join(state.dir, "c3"), { HOME: home });
    expect(docker.error).toBeUndefined();
    expect(docker.result?.image?.env).toContain("MARK=private");
    expect(docker.lines.join("\n")).toContain("credentials=docker_config");

    const variable = await pull(ref, join(state.dir, "c4"), { PYRO_REGISTRY_AUTH: `${registry.host}=ci:${PASSWORD}` });
    expect(variable.error).toBeUndefined();
    for (const run of [docker, variable]) {
      expect(run.lines.join("\n")).not.toContain(PASSWORD);
      expect(JSON.stringify(run.result)).not.toContain(PASSWORD);
    }
    const written = spawnGrep(PASSWORD, state.dir);
    expect(written.filter((path) => !path.includes("/home/.docker/"))).toEqual([]);
  }, 180_000);
});

/** Files under `dir` that contain `text` (base64 too). */
function spawnGrep(text: string, dir: string): string[] {
  const found: string[] = [];
  const needles = [text, Buffer.from(`ci:${text}`).toString("base64")];
  const walk = (path: string) => {
    for (const entry of readdirSync(path, { withFileTypes: true })) {
      const full = join(path, entry.name);
      if (entry.isDirectory()) walk(full);
      else if (entry.isFile()) {
        const content = readFileSync(full).toString("latin1");
        if (needles.some((needle) => content.includes(needle))) found.push(full);
      }
    }
  };
  walk(dir);
  return found;
}

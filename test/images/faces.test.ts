import { existsSync, symlinkSync } from "node:fs";
import { join } from "node:path";
import { Client } from "@modelcontextprotocol/sdk/client/index.js";
import { StdioClientTransport } from "@modelcontextprotocol/sdk/client/stdio.js";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { SUITE_BACKENDS } from "../helpers/backends.js";
import { runCli } from "../helpers/cli.js";
import { CLI, TEST_CACHE_DIR, tempStateDir } from "../helpers/env.js";
import { baseRootfs, changesLayer, configOf, layerOf, manifestOf, pushImage } from "../helpers/oci-image.js";
import { startRegistry, type TestRegistry } from "../helpers/registry.js";

const sandbox = SUITE_BACKENDS.find((b) => b.name === "sandbox")!;

describe.skipIf(!sandbox.available)(`OCI images through the CLI and MCP (needs ${sandbox.needs} and a build)`, () => {
  let registry: TestRegistry;
  const state = tempStateDir();
  const cache = tempStateDir("pyro-image-faces-cache-");
  let env: NodeJS.ProcessEnv;
  let ref: string;

  beforeAll(async () => {
    registry = await startRegistry();
    const layers = [layerOf(baseRootfs()), layerOf(changesLayer())];
    const config = configOf({ env: ["PATH=/bin", "GREETING=hi from the image"], workingDir: "/srv/app", layers });
    await pushImage(registry.host, "faces/app", "1.0", [config, ...layers], manifestOf(config, layers));
    ref = `${registry.host}/faces/app:1.0`;
    // The shared guest kernel, so `env pull` (which adds the kernel where a VM backend works) fetches nothing.
    if (existsSync(join(TEST_CACHE_DIR, "kernels"))) symlinkSync(join(TEST_CACHE_DIR, "kernels"), join(cache.dir, "kernels"));
    env = { ...process.env, PYRO_STATE_DIR: state.dir, PYRO_ENVIRONMENT_CACHE_DIR: cache.dir, PYRO_BACKEND: "sandbox" };
  }, 60_000);
  afterAll(async () => {
    await registry?.stop();
    state.cleanup();
    cache.cleanup();
  });

  it("pyro env pull / inspect / run / prune take an image reference", async () => {
    const pulled = await runCli(["env", "pull", ref], env);
    expect(pulled.code, pulled.stderr).toBe(0);
    expect(pulled.stdout).toMatch(/^Pulled: .*faces\/app@sha256:[0-9a-f]{64}$/m);
    expect(pulled.stdout).toMatch(/^Digest: sha256:/m);
    expect(pulled.stderr).toMatch(/\[pull\] phase=build .*step=unpack/);

    const inspected = await runCli(["env", "inspect", ref, "--json"], env);
    const details = JSON.parse(inspected.stdout) as { image: { working_dir: string; layers: unknown[]; pulled_at: string }; reference: string };
    expect(details.reference).toBe(ref);
    expect(details.image).toMatchObject({ working_dir: "/srv/app" });
    expect(details.image.layers).toHaveLength(2);

    const run = await runCli(["run", "--allow-host-compat", `oci:${ref}`, "--", "sh", "-c", "pwd; echo $GREETING; cat /data/keep.txt"], env);
    expect(run.code, run.stderr).toBe(0);
    expect(run.stdout).toBe("/srv/app\nhi from the image\nversion 2\n");

    // No workspace or VM uses it any more: prune removes it.
    const pruned = await runCli(["env", "prune"], env);
    expect(pruned.code).toBe(0);
    expect(pruned.stdout).toMatch(/Removed .*images\/[0-9a-f]{64} \(no workspace or VM uses this image/);
    const after = await runCli(["env", "inspect", ref, "--json"], env);
    expect(JSON.parse(after.stdout)).toMatchObject({ installed: false, image: null });
  }, 300_000);

  it("MCP vm_run takes an image reference", async () => {
    const client = new Client({ name: "pyro-test", version: "1.0.0" });
    await client.connect(new StdioClientTransport({ command: process.execPath, args: [CLI, "mcp", "serve"], env: env as Record<string, string>, stderr: "pipe" }));
    try {
      const result = await client.callTool({ name: "vm_run", arguments: { environment: ref, command: "echo $GREETING from $(pwd)", allow_host_compat: true, backend: "sandbox" } });
      expect(result.isError).toBeFalsy();
      expect((result.structuredContent as { stdout: string }).stdout).toBe("hi from the image from /srv/app\n");
    } finally {
      await client.close();
    }
  }, 300_000);
});

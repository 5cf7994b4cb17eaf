import { execFileSync } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { Pyro, PyroError } from "../../src/index.js";
import { ensureEnvironment } from "../../src/environments/index.js";
import { SUITE_BACKENDS } from "../helpers/backends.js";
import { TEST_CACHE_DIR, tempStateDir } from "../helpers/env.js";

// Offline disk tools: real on qemu (raw ext4 + debugfs), a clear refusal on the sandbox.
describe.each(SUITE_BACKENDS)("workspace disk tools on $name", ({ name: backend, available, needs }) => {
  const state = tempStateDir();
  const host = mkdtempSync(join(tmpdir(), "pyro-disk-"));
  let pyro: Pyro;
  let id = "";

  beforeAll(async () => {
    if (!available) return;
    await ensureEnvironment("debian:12", { cacheDir: TEST_CACHE_DIR, kernel: backend !== "sandbox" });
    pyro = new Pyro({ stateDir: state.dir, cacheDir: TEST_CACHE_DIR });
    id = (await pyro.createWorkspace({ environment: "debian:12", backend, allow_host_compat: true, secrets: [{ name: "TOKEN", value: "s3cr3t-disk-value" }] })).workspace_id;
  }, 900_000);
  afterAll(async () => {
    if (id) await pyro.deleteWorkspace({ workspace_id: id }).catch(() => undefined);
    state.cleanup();
    rmSync(host, { recursive: true, force: true });
  });

  it.skipIf(!available || backend !== "qemu")(`stop, list, read, export the ext4, start again (needs ${needs})`, async () => {
    await pyro.execWorkspace({ workspace_id: id, command: "mkdir -p src && printf 'hello disk\\n' > src/hello.txt && echo token=s3cr3t-disk-value > leak.txt" });
    await expect(pyro.listWorkspaceDisk({ workspace_id: id })).rejects.toMatchObject({ code: "failed_precondition" });
    await pyro.stopWorkspace({ workspace_id: id });

    const listing = await pyro.listWorkspaceDisk({ workspace_id: id });
    expect(listing.path).toBe("/workspace");
    expect(listing.entries.map((e) => [e.path, e.kind])).toEqual(expect.arrayContaining([["/workspace/src", "directory"], ["/workspace/leak.txt", "file"]]));
    const read = await pyro.readWorkspaceDisk({ workspace_id: id, path: "src/hello.txt" });
    expect(read).toMatchObject({ content: "hello disk\n", truncated: false, bytes: 11 });
    expect((await pyro.readWorkspaceDisk({ workspace_id: id, path: "leak.txt" })).content).toBe("token=[REDACTED]\n");
    await expect(pyro.readWorkspaceDisk({ workspace_id: id, path: "missing.txt" })).rejects.toMatchObject({ code: "not_found" });
    await expect(pyro.readWorkspaceDisk({ workspace_id: id, path: "/run/pyro-secrets/TOKEN" })).rejects.toMatchObject({ code: "invalid_argument" });
    expect((await pyro.listWorkspaceDisk({ workspace_id: id, path: "/run/pyro-secrets" })).entries).toEqual([]);

    const image = join(host, "ws.ext4");
    const exported = await pyro.exportWorkspaceDisk({ workspace_id: id, output_path: image });
    expect(exported.bytes).toBeGreaterThan(0);
    expect(execFileSync("file", ["-b", image], { encoding: "utf8" })).toMatch(/ext4 filesystem/);
    expect(execFileSync("debugfs", ["-R", "cat /workspace/src/hello.txt", image], { encoding: "utf8", stdio: ["ignore", "pipe", "ignore"] })).toBe("hello disk\n");
    expect(execFileSync("debugfs", ["-R", "ls -p /run/pyro-secrets", image], { encoding: "utf8", stdio: ["ignore", "pipe", "ignore"] })).not.toContain("TOKEN");

    await pyro.startWorkspace({ workspace_id: id });
    const after = await pyro.execWorkspace({ workspace_id: id, command: "cat src/hello.txt; cat /run/pyro-secrets/TOKEN >/dev/null && echo secret-back" });
    expect(after.stdout).toBe("hello disk\nsecret-back\n");
  }, 600_000);

  it.skipIf(!available || backend !== "sandbox")(`answers a clear error without a raw disk (needs ${needs})`, async () => {
    await pyro.stopWorkspace({ workspace_id: id });
    const error = await pyro.listWorkspaceDisk({ workspace_id: id }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(PyroError);
    expect((error as PyroError).code).toBe("unsupported");
    expect((error as PyroError).message).toMatch(/guest-backed workspace.*sandbox backend/);
    await expect(pyro.exportWorkspaceDisk({ workspace_id: id, output_path: join(host, "x.ext4") })).rejects.toMatchObject({ code: "unsupported" });
  });
});

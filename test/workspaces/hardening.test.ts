import { randomBytes } from "node:crypto";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { gzipSync } from "node:zlib";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { Pyro, PyroError } from "../../src/index.js";
import { ensureEnvironment } from "../../src/environments/index.js";
import { SUITE_BACKENDS } from "../helpers/backends.js";
import { runCli } from "../helpers/cli.js";
import { TEST_CACHE_DIR, pyroEnv, tempStateDir } from "../helpers/env.js";
import { rawTar } from "../helpers/tar.js";

async function failure(promise: Promise<unknown>): Promise<PyroError> {
  const error = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(error, "expected a failure").toBeInstanceOf(PyroError);
  return error as PyroError;
}

const sandbox = SUITE_BACKENDS.find((b) => b.name === "sandbox")!;
const qemu = SUITE_BACKENDS.find((b) => b.name === "qemu")!;

// Defects found by an attack run (issue 22), each pinned on a real sandbox.
describe.skipIf(!sandbox.available)(`workspace hardening on the sandbox (needs ${sandbox.needs})`, () => {
  const state = tempStateDir();
  const host = mkdtempSync(join(tmpdir(), "pyro-hardening-"));
  const canary = randomBytes(16).toString("hex");
  let pyro: Pyro;
  let id = "";

  beforeAll(async () => {
    await ensureEnvironment("debian:12", { cacheDir: TEST_CACHE_DIR, kernel: false });
    pyro = new Pyro({ stateDir: state.dir, cacheDir: TEST_CACHE_DIR });
    // "added" and "ws-" are secrets too: a value equal to one of pyro's own words,
    // or inside the workspace id, must not break the result's contract or the id.
    const created = await pyro.createWorkspace({
      environment: "debian:12",
      backend: "sandbox",
      allow_host_compat: true,
      secrets: [
        { name: "TOKEN", value: canary },
        { name: "SHORT", value: "added" },
        { name: "PREFIX", value: "ws-" },
      ],
    });
    id = created.workspace_id;
  }, 900_000);
  afterAll(async () => {
    if (id) await pyro.deleteWorkspace({ workspace_id: id }).catch(() => undefined);
    state.cleanup();
    rmSync(host, { recursive: true, force: true });
  });

  it("refuses a corrupt or truncated .tar.gz seed and sync instead of taking it as empty", async () => {
    const garbage = join(host, "garbage.tar.gz");
    writeFileSync(garbage, "definitely not gzip\n".repeat(10));
    const whole = gzipSync(rawTar([{ name: "kept.txt", body: "kept\n" }]));
    const truncated = join(host, "truncated.tgz");
    writeFileSync(truncated, whole.subarray(0, whole.length - 12));

    const seeded = await failure(pyro.createWorkspace({ environment: "debian:12", backend: "sandbox", allow_host_compat: true, seed_path: garbage }));
    expect(seeded.code).toBe("invalid_argument");
    expect(seeded.message).toContain(`${garbage} is not a valid gzip-compressed tar archive`);
    expect((await pyro.listWorkspaces()).workspaces.map((w) => w.workspace_id)).toEqual([id]);

    for (const source of [garbage, truncated]) {
      const synced = await failure(pyro.pushWorkspaceSync({ workspace_id: id, source_path: source, dest: "/workspace/synced" }));
      expect(synced.code).toBe("invalid_argument");
      expect(synced.message).toMatch(/^sync push refused: .* is not a valid gzip-compressed tar archive/);
    }
    // The same archive whole goes through.
    const good = join(host, "good.tgz");
    writeFileSync(good, whole);
    expect(await pyro.pushWorkspaceSync({ workspace_id: id, source_path: good, dest: "/workspace/synced" })).toMatchObject({ entries: 1 });
    expect((await pyro.execWorkspace({ workspace_id: id, command: "cat synced/kept.txt" })).stdout).toBe("kept\n");
    await pyro.execWorkspace({ workspace_id: id, command: "rm -r synced" });
  });

  it("names a missing sync source as a sync source", async () => {
    const error = await failure(pyro.pushWorkspaceSync({ workspace_id: id, source_path: join(host, "nowhere") }));
    expect(error.code).toBe("not_found");
    expect(error.message).toContain(`sync source ${join(host, "nowhere")} does not exist`);
    expect(error.message).not.toContain("seed path");
  });

  it("redacts a secret from the paths of diff (SDK and CLI --json), exec and errors, keeping pyro's own words", async () => {
    await pyro.execWorkspace({ workspace_id: id, command: `mkdir -p "dir-${canary}" && echo hi > "dir-${canary}/notes-${canary}.txt" && echo x > added.txt` });
    const diff = await pyro.diffWorkspace({ workspace_id: id });
    const paths = diff.files.map((f) => f.path).sort();
    expect(paths).toEqual(["[REDACTED].txt", "dir-[REDACTED]", "dir-[REDACTED]/notes-[REDACTED].txt"]);
    // Status and kind stay the contract's words even though "added" is a secret value.
    expect(diff.files.every((f) => f.status === "added")).toBe(true);
    expect(diff.files.map((f) => f.kind).sort()).toEqual(["directory", "file", "file"]);
    expect(diff.files.find((f) => f.path === "dir-[REDACTED]/notes-[REDACTED].txt")?.diff).toContain("+++ b/dir-[REDACTED]/notes-[REDACTED].txt");
    expect(JSON.stringify(diff)).not.toContain(canary);
    expect(diff.workspace_id).toBe(id);

    const cli = await runCli(["workspace", "diff", id, "--json"], pyroEnv(state.dir));
    expect(cli.code).toBe(0);
    expect(cli.stdout).toContain("dir-[REDACTED]/notes-[REDACTED].txt");
    expect(cli.stdout).not.toContain(canary);

    const listing = await pyro.execWorkspace({ workspace_id: id, command: "ls -R" });
    expect(listing.stdout).toContain("notes-[REDACTED].txt");
    const exported = await failure(pyro.exportWorkspace({ workspace_id: id, path: `dir-${canary}/gone`, output_path: join(host, "out") }));
    expect(exported.message).toContain("dir-[REDACTED]/gone");
    for (const text of [JSON.stringify(listing), exported.describe()]) expect(text).not.toContain(canary);
    await pyro.execWorkspace({ workspace_id: id, command: `rm -r "dir-${canary}" added.txt` });
  });

  it("says a service's working directory does not exist (not that /bin/sh is missing)", async () => {
    const error = await failure(pyro.startService({ workspace_id: id, service_name: "nowhere", command: "sleep 5", cwd: "/nonexistent" }));
    expect(error.code).toBe("not_found");
    expect(error.message).toContain("working directory /nonexistent does not exist");
    expect(error.message).not.toContain("fork/exec");
  });

  it("refuses to export a FIFO with what it is, not as a malformed archive", async () => {
    await pyro.execWorkspace({ workspace_id: id, command: "mkfifo pipe" });
    const error = await failure(pyro.exportWorkspace({ workspace_id: id, path: "pipe", output_path: join(host, "pipe-out") }));
    expect(error.code).toBe("unsupported");
    expect(error.message).toContain("/workspace/pipe is a named pipe (FIFO)");
    expect(error.message).not.toMatch(/malformed/);
    await pyro.execWorkspace({ workspace_id: id, command: "rm pipe" });
  });
});

// The raw-disk listing shares the redaction: it needs a backend with a raw ext4 disk.
describe.skipIf(!qemu.available)(`disk tools on qemu (needs ${qemu.needs})`, () => {
  const state = tempStateDir();
  const canary = randomBytes(16).toString("hex");
  let pyro: Pyro;
  let id = "";

  beforeAll(async () => {
    await ensureEnvironment("debian:12", { cacheDir: TEST_CACHE_DIR, kernel: true });
    pyro = new Pyro({ stateDir: state.dir, cacheDir: TEST_CACHE_DIR });
    id = (await pyro.createWorkspace({ environment: "debian:12", backend: "qemu", secrets: [{ name: "TOKEN", value: canary }] })).workspace_id;
  }, 900_000);
  afterAll(async () => {
    if (id) await pyro.deleteWorkspace({ workspace_id: id }).catch(() => undefined);
    state.cleanup();
  });

  it("redacts a file named after a secret from disk list, and names a FIFO in disk read's error", async () => {
    await pyro.execWorkspace({ workspace_id: id, command: `echo hi > "notes-${canary}.txt" && mkfifo pipe` });
    await pyro.stopWorkspace({ workspace_id: id });
    const listing = await pyro.listWorkspaceDisk({ workspace_id: id });
    expect(listing.entries.map((e) => e.path)).toEqual(expect.arrayContaining(["/workspace/notes-[REDACTED].txt", "/workspace/pipe"]));
    expect(listing.entries.find((e) => e.path === "/workspace/notes-[REDACTED].txt")?.kind).toBe("file");
    expect(JSON.stringify(listing)).not.toContain(canary);
    const fifo = await failure(pyro.readWorkspaceDisk({ workspace_id: id, path: "pipe" }));
    expect(fifo.code).toBe("invalid_argument");
    expect(fifo.message).toBe("/workspace/pipe is a special file (device, FIFO or socket), not a regular file");
  }, 600_000);
});

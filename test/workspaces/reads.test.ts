import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { Pyro } from "../../src/index.js";
import { ensureEnvironment } from "../../src/environments/index.js";
import { SUITE_BACKENDS } from "../helpers/backends.js";
import { runCli } from "../helpers/cli.js";
import { TEST_CACHE_DIR, pyroEnv, tempStateDir } from "../helpers/env.js";

const sandbox = SUITE_BACKENDS.find((b) => b.name === "sandbox")!;
const qemu = SUITE_BACKENDS.find((b) => b.name === "qemu")!;
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

// Issue 14: shell reads a model can use (plain text, wait for quiet output), every line of a service's log.
describe("shell and service reads (sandbox)", () => {
  const state = tempStateDir();
  const env = pyroEnv(state.dir);
  let pyro: Pyro;
  let workspaceId: string;

  beforeAll(async () => {
    if (!sandbox.available) return;
    await ensureEnvironment("debian:12", { cacheDir: TEST_CACHE_DIR, kernel: false });
    pyro = new Pyro({ stateDir: state.dir, cacheDir: TEST_CACHE_DIR });
    workspaceId = (await pyro.createWorkspace({ environment: "debian:12", backend: "sandbox", allow_host_compat: true })).workspace_id;
  }, 900_000);
  afterAll(async () => {
    if (workspaceId) await pyro.deleteWorkspace({ workspace_id: workspaceId }).catch(() => undefined);
    await pyro?.close();
    state.cleanup();
  });

  it.skipIf(!sandbox.available)(`wait_for_idle_ms returns once the output has been quiet that long, not before (needs ${sandbox.needs})`, async () => {
    const shell = await pyro.openShell({ workspace_id: workspaceId });
    const start = await pyro.readShell({ workspace_id: workspaceId, shell_id: shell.shell_id, wait_for_idle_ms: 500 });
    // Ticks 300 ms apart are never a 1 s silence: the read waits for the last one.
    await pyro.writeShell({ workspace_id: workspaceId, shell_id: shell.shell_id, input: "for i in 1 2 3 4 5; do echo tick$i; sleep 0.3; done; echo fin''ished" });
    const began = Date.now();
    const read = await pyro.readShell({ workspace_id: workspaceId, shell_id: shell.shell_id, cursor: start.next_cursor, wait_for_idle_ms: 1000 });
    const took = Date.now() - began;
    expect(read.output).toContain("tick5");
    expect(read.output).toContain("finished");
    // Five ticks (≈1.5 s) plus one quiet second, and no more than the few seconds a busy machine adds.
    expect(took).toBeGreaterThanOrEqual(2300);
    expect(took).toBeLessThan(15_000);
    // Without the wait, a read right after the write sees the output only as far as it got.
    await pyro.writeShell({ workspace_id: workspaceId, shell_id: shell.shell_id, input: "sleep 1; echo la''ter" });
    const early = await pyro.readShell({ workspace_id: workspaceId, shell_id: shell.shell_id, cursor: read.next_cursor });
    expect(early.output).not.toContain("later");
    // A shell that exits ends the wait at once.
    await pyro.writeShell({ workspace_id: workspaceId, shell_id: shell.shell_id, input: "exit" });
    await sleep(1500);
    const exited = Date.now();
    const last = await pyro.readShell({ workspace_id: workspaceId, shell_id: shell.shell_id, cursor: early.next_cursor, wait_for_idle_ms: 20_000 });
    expect(Date.now() - exited).toBeLessThan(5000);
    expect(last.alive).toBe(false);
    expect(last.output).toContain("later");
  }, 120_000);

  it.skipIf(!sandbox.available)(`wait_for_idle_ms is bounded: a shell that never goes quiet is read after 60 s (needs ${sandbox.needs})`, async () => {
    const shell = await pyro.openShell({ workspace_id: workspaceId });
    await pyro.writeShell({ workspace_id: workspaceId, shell_id: shell.shell_id, input: "while :; do echo busy; sleep 0.1; done" });
    const began = Date.now();
    const read = await pyro.readShell({ workspace_id: workspaceId, shell_id: shell.shell_id, wait_for_idle_ms: 5000, max_chars: 1000 });
    const took = Date.now() - began;
    expect(read.output).toContain("busy");
    expect(took).toBeGreaterThanOrEqual(60_000);
    expect(took).toBeLessThan(75_000);
    await pyro.closeShell({ workspace_id: workspaceId, shell_id: shell.shell_id });
  }, 120_000);

  it.skipIf(!sandbox.available)(`plain strips colours, titles and \\r, and never splits a sequence across reads (needs ${sandbox.needs})`, async () => {
    const shell = await pyro.openShell({ workspace_id: workspaceId });
    const start = await pyro.readShell({ workspace_id: workspaceId, shell_id: shell.shell_id, wait_for_idle_ms: 500 });
    await pyro.writeShell({
      workspace_id: workspaceId,
      shell_id: shell.shell_id,
      input: String.raw`printf '\033]0;a title with spaces\007\033[1;31mRED\033[0m 50%%\rRED 100%%\n'; printf 'half\033[3'; sleep 2; printf '2mGREEN\033[0m\n'`,
    });
    await sleep(1000);
    const raw = await pyro.readShell({ workspace_id: workspaceId, shell_id: shell.shell_id, cursor: start.next_cursor });
    expect(raw.output).toContain("\u001b[1;31mRED");
    const first = await pyro.readShell({ workspace_id: workspaceId, shell_id: shell.shell_id, cursor: start.next_cursor, plain: true });
    expect(first.output).toContain("RED 100%\n");
    expect(first.output).toMatch(/half$/);
    // eslint-disable-next-line no-control-regex
    expect(first.output).not.toMatch(/[\u0000-\u0008\u000b-\u001f]/);
    // The read stopped before the unfinished "ESC [3": the raw read went past it.
    expect(first.next_cursor).toBeLessThan(raw.next_cursor);
    const second = await pyro.readShell({ workspace_id: workspaceId, shell_id: shell.shell_id, cursor: first.next_cursor, plain: true, wait_for_idle_ms: 1500 });
    expect(second.output).toMatch(/^GREEN\n/);

    const cli = await runCli(["workspace", "shell", "read", workspaceId, shell.shell_id, "--cursor", String(start.next_cursor), "--plain", "--wait-for-idle-ms", "300"], env);
    expect(cli.code, cli.stderr).toBe(0);
    expect(cli.stdout).toContain("RED 100%\nhalfGREEN\n");
    expect(cli.stdout).not.toContain("\u001b");
  }, 120_000);

  it.skipIf(!sandbox.available)(`service logs --all returns every line, the default only the last 200 (needs ${sandbox.needs})`, async () => {
    await pyro.startService({ workspace_id: workspaceId, service_name: "counter", command: "seq 1 450; touch done; exec sleep 300", readiness: { kind: "file", path: "done" } });
    const tail = await pyro.logsService({ workspace_id: workspaceId, service_name: "counter" });
    expect(tail.stdout.trim().split("\n")).toHaveLength(200);
    expect(tail.stdout.startsWith("251\n")).toBe(true);
    const all = await pyro.logsService({ workspace_id: workspaceId, service_name: "counter", all: true });
    expect(all.stdout.trim().split("\n")).toEqual(Array.from({ length: 450 }, (_, i) => String(i + 1)));
    const cli = await runCli(["workspace", "service", "logs", workspaceId, "counter", "--all"], env);
    expect(cli.code, cli.stderr).toBe(0);
    expect(cli.stdout.trim().split("\n")).toHaveLength(450);
  }, 120_000);
});

// disk list/read need a guest disk: qemu.
describe("disk list --recursive and disk read --max-bytes/--content-only (qemu)", () => {
  const state = tempStateDir();
  const env = pyroEnv(state.dir);
  let pyro: Pyro;
  let workspaceId: string;

  beforeAll(async () => {
    if (!qemu.available) return;
    await ensureEnvironment("debian:12", { cacheDir: TEST_CACHE_DIR, kernel: true });
    pyro = new Pyro({ stateDir: state.dir, cacheDir: TEST_CACHE_DIR });
    workspaceId = (await pyro.createWorkspace({ environment: "debian:12", backend: "qemu" })).workspace_id;
    const made = await pyro.execWorkspace({
      workspace_id: workspaceId,
      command: "mkdir -p src/lib/deep && echo top > a.txt && echo mid > src/b.txt && echo bottom > src/lib/deep/c.txt && ln -s /etc src/etc-link && head -c 100000 /dev/zero | tr '\\0' x > big.txt",
    });
    expect(made.exit_code, made.stderr).toBe(0);
    await pyro.stopWorkspace({ workspace_id: workspaceId });
  }, 900_000);
  afterAll(async () => {
    if (workspaceId) await pyro.deleteWorkspace({ workspace_id: workspaceId }).catch(() => undefined);
    await pyro?.close();
    state.cleanup();
  });

  it.skipIf(!qemu.available)(`lists every entry below a directory, depth first, symlinks not followed (needs ${qemu.needs})`, async () => {
    const flat = await pyro.listWorkspaceDisk({ workspace_id: workspaceId });
    expect(flat.entries.map((e) => e.path).sort()).toEqual(["/workspace/a.txt", "/workspace/big.txt", "/workspace/src"]);
    const deep = await pyro.listWorkspaceDisk({ workspace_id: workspaceId, recursive: true });
    const paths = deep.entries.map((e) => e.path);
    expect([...paths].sort()).toEqual(
      [
        "/workspace/a.txt",
        "/workspace/big.txt",
        "/workspace/src",
        "/workspace/src/b.txt",
        "/workspace/src/etc-link",
        "/workspace/src/lib",
        "/workspace/src/lib/deep",
        "/workspace/src/lib/deep/c.txt",
      ].sort(),
    );
    expect(paths.indexOf("/workspace/src/lib")).toBeLessThan(paths.indexOf("/workspace/src/lib/deep/c.txt"));
    expect(deep.entries.find((e) => e.path === "/workspace/src/etc-link")!.kind).toBe("symlink");
    const cli = await runCli(["workspace", "disk", "list", workspaceId, "src", "--recursive"], env);
    expect(cli.code, cli.stderr).toBe(0);
    expect(cli.stdout).toContain("/workspace/src/lib/deep/c.txt");
  }, 120_000);

  it.skipIf(!qemu.available)(`reads at most max_bytes (default 64 KiB) and says it was cut; --content-only prints the content alone (needs ${qemu.needs})`, async () => {
    const byDefault = await pyro.readWorkspaceDisk({ workspace_id: workspaceId, path: "big.txt" });
    expect([byDefault.content.length, byDefault.truncated, byDefault.bytes]).toEqual([65536, true, 100000]);
    const small = await pyro.readWorkspaceDisk({ workspace_id: workspaceId, path: "big.txt", max_bytes: 10 });
    expect([small.content, small.truncated]).toEqual(["xxxxxxxxxx", true]);
    const whole = await pyro.readWorkspaceDisk({ workspace_id: workspaceId, path: "a.txt", max_bytes: 10 });
    expect([whole.content, whole.truncated]).toEqual(["top\n", false]);

    const human = await runCli(["workspace", "disk", "read", workspaceId, "big.txt", "--max-bytes", "5"], env);
    expect(human.code, human.stderr).toBe(0);
    expect(human.stdout).toBe("xxxxx");
    expect(human.stderr).toContain("cut at --max-bytes");
    const contentOnly = await runCli(["workspace", "disk", "read", workspaceId, "big.txt", "--max-bytes", "5", "--content-only"], env);
    expect(contentOnly.code, contentOnly.stderr).toBe(0);
    expect([contentOnly.stdout, contentOnly.stderr]).toEqual(["xxxxx", ""]);
  }, 120_000);
});

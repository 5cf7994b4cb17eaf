import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { Pyro, PyroError } from "../../src/index.js";
import { ensureEnvironment } from "../../src/environments/index.js";
import { SUITE_BACKENDS } from "../helpers/backends.js";
import { runCli } from "../helpers/cli.js";
import { TEST_CACHE_DIR, pyroEnv, tempStateDir } from "../helpers/env.js";

/** Poll `read` until `done` accepts the output gathered so far. */
async function readUntil(read: (cursor: number) => Promise<{ output: string; next_cursor: number }>, done: (text: string) => boolean, from = 0, timeoutMs = 60_000): Promise<{ text: string; cursor: number }> {
  const deadline = Date.now() + timeoutMs;
  let text = "";
  let cursor = from;
  while (Date.now() < deadline) {
    const chunk = await read(cursor);
    text += chunk.output;
    cursor = chunk.next_cursor;
    if (done(text)) return { text, cursor };
    await new Promise((resolve) => setTimeout(resolve, 300));
  }
  throw new Error(`timed out waiting for shell output; got:\n${text.slice(-2000)}`);
}

describe.each(SUITE_BACKENDS)("workspace shells on $name", ({ name: backend, available, needs }) => {
  const state = tempStateDir();
  const env = pyroEnv(state.dir);
  let pyro: Pyro;
  let workspaceId: string;

  beforeAll(async () => {
    if (!available) return;
    await ensureEnvironment("debian:12", { cacheDir: TEST_CACHE_DIR, kernel: backend !== "sandbox" });
    pyro = new Pyro({ stateDir: state.dir, cacheDir: TEST_CACHE_DIR });
    workspaceId = (await pyro.createWorkspace({ environment: "debian:12", backend, allow_host_compat: true })).workspace_id;
  }, 900_000);
  afterAll(async () => {
    if (workspaceId) await pyro.deleteWorkspace({ workspace_id: workspaceId }).catch(() => undefined);
    state.cleanup();
  });

  const cli = async (args: string[]) => {
    const run = await runCli(args, env);
    expect(run.code, `pyro ${args.join(" ")}\n${run.stderr}`).toBe(0);
    return run;
  };

  it.skipIf(!available)(`keeps cd and variables across separate CLI invocations (needs ${needs})`, async () => {
    const shellId = (await cli(["workspace", "shell", "open", workspaceId])).stdout.trim();
    expect(shellId).toMatch(/^[0-9a-f]+$/);
    await cli(["workspace", "shell", "write", workspaceId, shellId, "--input", "cd /tmp && export GREETING=hello-from-shell"]);
    await cli(["workspace", "shell", "write", workspaceId, shellId, "--input", 'echo "$GREETING in $(pwd) $((6*7))"']);
    const seen = await readUntil(
      async (cursor) => JSON.parse((await cli(["workspace", "shell", "read", workspaceId, shellId, "--cursor", String(cursor), "--json"])).stdout) as { output: string; next_cursor: number },
      (text) => text.includes("hello-from-shell in /tmp 42"),
    );
    expect(seen.cursor).toBeGreaterThan(0);
    const closed = await cli(["workspace", "shell", "close", workspaceId, shellId, "--json"]);
    expect(JSON.parse(closed.stdout)).toMatchObject({ shell_id: shellId, closed: true, alive: false });
  });

  it.skipIf(!available)("interrupts a running sleep with shell signal INT; the shell survives", async () => {
    const shell = await pyro.openShell({ workspace_id: workspaceId });
    const read = (cursor: number) => pyro.readShell({ workspace_id: workspaceId, shell_id: shell.shell_id, cursor });
    await pyro.writeShell({ workspace_id: workspaceId, shell_id: shell.shell_id, input: "sleep 300" });
    const started = Date.now();
    // Signal only once `sleep` runs (a loaded TCG guest may take seconds to start it).
    // (An exact comparison: this script's own command line names "sleep 300" too.)
    const sleeping = 'for p in /proc/[0-9]*; do [ "$(tr "\\0" " " < $p/cmdline 2>/dev/null)" = "sleep 300 " ] && echo running; done; true';
    for (let tries = 0; !(await pyro.execWorkspace({ workspace_id: workspaceId, command: sleeping })).stdout.includes("running"); tries++) {
      if (tries > 300) throw new Error("sleep 300 never started in the shell");
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
    await cli(["workspace", "shell", "signal", workspaceId, shell.shell_id, "--signal", "INT"]);
    await pyro.writeShell({ workspace_id: workspaceId, shell_id: shell.shell_id, input: 'echo "status-$? still-$((40+2))"' });
    // `sleep` died of SIGINT (status 130); the interactive shell itself ignored it.
    const seen = await readUntil(read, (text) => text.includes("status-130 still-42"));
    expect(Date.now() - started).toBeLessThan(60_000);
    const after = await read(seen.cursor);
    expect(after.alive).toBe(true);
    await pyro.closeShell({ workspace_id: workspaceId, shell_id: shell.shell_id });
  });

  it.skipIf(!available)("reports dropped_chars to a reader far behind a flood of output", async () => {
    const shell = await pyro.openShell({ workspace_id: workspaceId });
    await pyro.writeShell({ workspace_id: workspaceId, shell_id: shell.shell_id, input: "head -c 1500000 /dev/zero | tr '\\0' x; echo; echo flood-$((1+1))" });
    // Under TCG the flood keeps a one-vCPU guest busy: give it a head start before polling.
    await new Promise((resolve) => setTimeout(resolve, backend === "sandbox" ? 200 : 5000));
    const deadline = Date.now() + 120_000;
    let end = 0;
    while (Date.now() < deadline && end < 1_500_000) {
      // A cursor past the end reads nothing and reports where the end is.
      end = (await pyro.readShell({ workspace_id: workspaceId, shell_id: shell.shell_id, cursor: 1e12, max_chars: 1 })).cursor;
      if (end < 1_500_000) await new Promise((resolve) => setTimeout(resolve, 500));
    }
    expect(end).toBeGreaterThanOrEqual(1_500_000);
    const behind = await pyro.readShell({ workspace_id: workspaceId, shell_id: shell.shell_id, cursor: 0, max_chars: 1000 });
    // The guest keeps the last 1 MiB.
    expect(behind.dropped_chars).toBeGreaterThan(1_500_000 - 1024 * 1024);
    expect(behind.cursor).toBe(behind.dropped_chars);
    expect(behind.output).toMatch(/^x{1000}$/);
    expect(behind.next_cursor).toBe(behind.cursor + 1000);
    await pyro.closeShell({ workspace_id: workspaceId, shell_id: shell.shell_id });
  }, 180_000);

  it.skipIf(!available)("answers not_found for an unknown shell id", async () => {
    const missing = await pyro.readShell({ workspace_id: workspaceId, shell_id: "000000000000" }).catch((e: unknown) => e);
    expect(missing).toBeInstanceOf(PyroError);
    expect((missing as PyroError).code).toBe("not_found");
    const run = await runCli(["workspace", "shell", "write", workspaceId, "000000000000", "--input", "true", "--json"], env);
    expect(run.code).not.toBe(0);
    expect(run.stdout).toContain('"not_found"');
  });
});

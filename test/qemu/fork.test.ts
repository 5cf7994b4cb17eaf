import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { Pyro } from "../../src/index.js";
import { runCli } from "../helpers/cli.js";
import { pyroEnv, tempStateDir, TEST_CACHE_DIR } from "../helpers/env.js";
import { QEMU_AVAILABLE, QEMU_NEEDS, debianBase } from "./helpers.js";

const ENV = "debian:12-base";

describe.skipIf(!QEMU_AVAILABLE)(`workspace fork, disk and memory (qemu under TCG; needs ${QEMU_NEEDS})`, () => {
  const state = tempStateDir("pyro-fork-");
  const env = pyroEnv(state.dir, { PYRO_BACKEND: "qemu" });
  let pyro: Pyro;

  const shellUntil = async (workspace_id: string, shell_id: string, pattern: RegExp, cursor: number): Promise<{ output: string; next: number }> => {
    let output = "";
    let at = cursor;
    const until = Date.now() + 60_000;
    while (Date.now() < until) {
      const read = await pyro.readShell({ workspace_id, shell_id, cursor: at });
      output += read.output;
      at = read.next_cursor;
      if (pattern.test(output)) return { output, next: at };
      await new Promise((r) => setTimeout(r, 200));
    }
    throw new Error(`shell never printed ${pattern}: ${output}`);
  };
  const run = async (workspace_id: string, command: string) => (await pyro.execWorkspace({ workspace_id, command })).stdout.trim();

  beforeAll(async () => {
    await debianBase();
    pyro = new Pyro({ stateDir: state.dir, cacheDir: TEST_CACHE_DIR, env });
  }, 600_000);

  afterAll(async () => {
    await pyro?.close();
    state.cleanup();
  });

  it("the fork continues the source's shell and files, with its own id and entropy; later writes are not shared; three forks run at once", async () => {
    const source = (await pyro.createWorkspace({ environment: ENV })).workspace_id;
    const forks: string[] = [];
    try {
      const shell = await pyro.openShell({ workspace_id: source });
      await pyro.writeShell({ workspace_id: source, shell_id: shell.shell_id, input: "V=from-source-$$; echo set-$V" });
      const { next } = await shellUntil(source, shell.shell_id, /set-from-source-\d+/, 0);
      await run(source, "echo before > /workspace/shared");
      const sourceRandom = await run(source, "cat /proc/sys/kernel/random/uuid");

      const cli = await runCli(["workspace", "fork", source, "--name", "copy", "--json"], env, { timeoutMs: 300_000 });
      expect(cli.code, cli.stderr).toBe(0);
      const first = JSON.parse(cli.stdout) as { workspace_id: string; forked_from: string; name: string; state: string };
      expect(first).toMatchObject({ forked_from: source, name: "copy", state: "running" });
      forks.push(first.workspace_id);
      for (let i = 0; i < 2; i++) forks.push((await pyro.forkWorkspace({ workspace_id: source })).workspace_id);
      expect(new Set(forks).size).toBe(3);

      // The source runs on.
      expect(await run(source, "cat /workspace/shared; hostname")).toBe(`before\n${source}`);
      for (const fork of forks) {
        // The same shell, its variable, in the fork; its own hostname and random state.
        await pyro.writeShell({ workspace_id: fork, shell_id: shell.shell_id, input: 'echo "seen-$V-$(hostname)"' });
        const out = await shellUntil(fork, shell.shell_id, /seen-from-source-\d+-ws-[0-9a-f]{12}/, next);
        expect(out.output).toContain(`-${fork}`);
        expect(await run(fork, "cat /workspace/shared; hostname")).toBe(`before\n${fork}`);
        expect(await run(fork, "cat /proc/sys/kernel/random/uuid")).not.toBe(sourceRandom);
      }
      // Writes after the fork stay where they were made.
      await run(source, "echo source-only > /workspace/after");
      await run(forks[0]!, "echo fork-only > /workspace/after-fork");
      expect(await run(forks[0]!, "cat /workspace/after 2>&1 || echo absent")).toMatch(/absent/);
      expect(await run(source, "cat /workspace/after-fork 2>&1 || echo absent")).toMatch(/absent/);
      expect(await run(forks[1]!, "ls /workspace | tr '\\n' ' '")).toBe("shared");
      const randoms = await Promise.all(forks.map((f) => run(f, "head -c 16 /dev/urandom | od -An -tx1 | tr -d ' \\n'")));
      expect(new Set(randoms).size).toBe(3);
    } finally {
      for (const id of [source, ...forks]) await pyro.deleteWorkspace({ workspace_id: id }).catch(() => undefined);
    }
  }, 900_000);
});

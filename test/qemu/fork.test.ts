import { describe, expect, it } from "vitest";
import { runCli } from "../helpers/cli.js";
import { QEMU_WORKSPACE_ENV as ENV, qemuWorkspaceSuite } from "../helpers/qemu-workspaces.js";
import { QEMU_AVAILABLE, QEMU_NEEDS } from "./helpers.js";

describe.skipIf(!QEMU_AVAILABLE)(`workspace fork, disk and memory (qemu under TCG; needs ${QEMU_NEEDS})`, () => {
  const suite = qemuWorkspaceSuite("pyro-fork-");
  const { env, shellUntil, run } = suite;

  it("the fork continues the source's shell and files, with its own id and entropy; later writes are not shared; three forks run at once", async () => {
    const { pyro } = suite;
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

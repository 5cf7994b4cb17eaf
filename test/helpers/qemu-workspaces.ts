import { afterAll, beforeAll } from "vitest";
import { Pyro } from "../../src/index.js";
import { debianBase } from "../qemu/helpers.js";
import { pyroEnv, tempStateDir, TEST_CACHE_DIR } from "./env.js";

/** The environment the qemu workspace suites boot (small, with the guest kernel). */
export const QEMU_WORKSPACE_ENV = "debian:12-base";

/** What {@link qemuWorkspaceSuite} gives a suite. */
export interface QemuWorkspaceSuite {
  /** The suite's own state directory. */
  readonly state: { dir: string };
  /** The environment of a `pyro` CLI child on the same state (PYRO_BACKEND=qemu). */
  readonly env: NodeJS.ProcessEnv;
  /** The suite's Pyro (from beforeAll on). */
  readonly pyro: Pyro;
  /** Read a shell's output from `cursor` until `pattern` appears (60 s at most); the output and the next cursor. */
  shellUntil(workspace_id: string, shell_id: string, pattern: RegExp, cursor?: number): Promise<{ output: string; next: number }>;
  /** A command's stdout in a workspace, trimmed. */
  run(workspace_id: string, command: string): Promise<string>;
}

/**
 * The setup of a suite of qemu workspaces: a state directory of its own, a
 * Pyro on the qemu backend made once `debian:12-base` is ready (beforeAll),
 * closed with the directory cleaned up after (afterAll). Call it in a
 * `describe` body.
 */
export function qemuWorkspaceSuite(prefix: string): QemuWorkspaceSuite {
  const state = tempStateDir(prefix);
  const env = pyroEnv(state.dir, { PYRO_BACKEND: "qemu" });
  let made: Pyro | undefined;
  const pyro = (): Pyro => {
    if (!made) throw new Error("the suite's Pyro is made in beforeAll; use it from a test");
    return made;
  };

  beforeAll(async () => {
    await debianBase();
    made = new Pyro({ stateDir: state.dir, cacheDir: TEST_CACHE_DIR, env });
  }, 600_000);

  afterAll(async () => {
    await made?.close();
    state.cleanup();
  });

  return {
    state,
    env,
    get pyro() {
      return pyro();
    },
    async shellUntil(workspace_id, shell_id, pattern, cursor = 0) {
      let output = "";
      let at = cursor;
      const until = Date.now() + 60_000;
      while (Date.now() < until) {
        const read = await pyro().readShell({ workspace_id, shell_id, cursor: at });
        output += read.output;
        at = read.next_cursor;
        if (pattern.test(output)) return { output, next: at };
        await new Promise((r) => setTimeout(r, 200));
      }
      throw new Error(`shell never printed ${pattern}: ${output}`);
    },
    async run(workspace_id, command) {
      return (await pyro().execWorkspace({ workspace_id, command })).stdout.trim();
    },
  };
}

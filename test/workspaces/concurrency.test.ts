import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { Pyro } from "../../src/index.js";
import { ensureEnvironment } from "../../src/environments/index.js";
import { SUITE_BACKENDS } from "../helpers/backends.js";
import { runCli } from "../helpers/cli.js";
import { pyroEnv, TEST_CACHE_DIR, tempStateDir } from "../helpers/env.js";

const PROCESSES = 4;
const EXECS_PER_PROCESS = 3;

describe.each(SUITE_BACKENDS)("concurrent calls on one workspace ($name)", ({ name: backend, available, needs }) => {
  const state = tempStateDir();
  let pyro: Pyro;
  let workspaceId = "";

  beforeAll(async () => {
    if (!available) return;
    await ensureEnvironment("debian:12", { cacheDir: TEST_CACHE_DIR, kernel: backend !== "sandbox" });
    pyro = new Pyro({ stateDir: state.dir, cacheDir: TEST_CACHE_DIR });
    workspaceId = (await pyro.createWorkspace({ environment: "debian:12", backend, allow_host_compat: true })).workspace_id;
  }, 900_000);
  afterAll(async () => {
    if (workspaceId) await pyro.deleteWorkspace({ workspace_id: workspaceId });
    state.cleanup();
  });

  it.skipIf(!available)(`${PROCESSES} processes exec at once; no command is lost and the record stays whole (needs ${needs})`, async () => {
    const env = pyroEnv(state.dir);
    const runs = await Promise.all(
      Array.from({ length: PROCESSES }, async (_, p) => {
        const codes: Array<number | null> = [];
        for (let i = 0; i < EXECS_PER_PROCESS; i += 1) {
          const run = await runCli(["workspace", "exec", workspaceId, "--", `echo p${p}-e${i} >> /workspace/log; echo p${p}-e${i}`], env, { timeoutMs: 300_000 });
          expect(run.stdout, run.stderr).toBe(`p${p}-e${i}\n`);
          codes.push(run.code);
        }
        return codes;
      }),
    );
    expect(runs.flat()).toEqual(Array(PROCESSES * EXECS_PER_PROCESS).fill(0));

    const total = PROCESSES * EXECS_PER_PROCESS;
    const logs = await pyro.logsWorkspace({ workspace_id: workspaceId });
    expect(logs.entries.map((e) => e.sequence).sort((a, b) => a - b)).toEqual(Array.from({ length: total }, (_, i) => i + 1));
    const expected = Array.from({ length: PROCESSES }, (_, p) => Array.from({ length: EXECS_PER_PROCESS }, (_, i) => `p${p}-e${i}`)).flat();
    expect(logs.entries.map((e) => e.stdout.trim()).sort()).toEqual(expected.sort());
    expect((await pyro.statusWorkspace({ workspace_id: workspaceId })).command_count).toBe(total);
    const inGuest = await pyro.execWorkspace({ workspace_id: workspaceId, command: "sort /workspace/log" });
    expect(inGuest.stdout.trim().split("\n")).toEqual(expected.sort());
  }, 600_000);
});

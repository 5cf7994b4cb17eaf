import { existsSync, lstatSync, rmSync, symlinkSync } from "node:fs";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { Pyro, PyroError } from "../../src/index.js";
import { ensureEnvironment } from "../../src/environments/index.js";
import { SUITE_BACKENDS } from "../helpers/backends.js";
import { TEST_CACHE_DIR, tempStateDir } from "../helpers/env.js";

const sandbox = SUITE_BACKENDS.find((b) => b.name === "sandbox")!;

// The attack run's hijack: a sandbox guest replaced its agent socket with a
// symlink to another workspace's socket, and the host followed it. The
// socket now lives in a host directory the guest never sees, and the host
// refuses any file that is not the socket it made.
describe("sandbox agent socket", () => {
  const state = tempStateDir();
  let pyro: Pyro;
  let w1 = "";
  let w2 = "";

  beforeAll(async () => {
    if (!sandbox.available) return;
    await ensureEnvironment("debian:12", { cacheDir: TEST_CACHE_DIR, kernel: false });
    pyro = new Pyro({ stateDir: state.dir, cacheDir: TEST_CACHE_DIR, warmSpares: false });
    w1 = (await pyro.createWorkspace({ environment: "debian:12", backend: "sandbox", allow_host_compat: true })).workspace_id;
    w2 = (await pyro.createWorkspace({ environment: "debian:12", backend: "sandbox", allow_host_compat: true })).workspace_id;
  }, 600_000);
  afterAll(async () => {
    for (const id of [w1, w2]) if (id) await pyro.deleteWorkspace({ workspace_id: id }).catch(() => undefined);
    state.cleanup();
  });

  const socketOf = (id: string) => join(state.dir, "workspaces", id, "machine", "agent", "agent.sock");

  it.skipIf(!sandbox.available)(`a guest cannot point the host at another workspace's agent (needs ${sandbox.needs})`, async () => {
    // The attack, from inside W1, with every path it could have used.
    const attack = await pyro.execWorkspace({
      workspace_id: w1,
      command: [
        `for d in /run/pyro-agent /run ${join(state.dir, "workspaces", w1, "machine", "agent")}; do`,
        `  mkdir -p "$d" 2>/dev/null; rm -f "$d/agent.sock"; ln -s ${socketOf(w2)} "$d/agent.sock" 2>/dev/null;`,
        "done; echo attacked",
      ].join("\n"),
    });
    expect(attack.stdout).toContain("attacked");
    // The host still reaches W1, and W2 saw nothing of it.
    expect((await pyro.execWorkspace({ workspace_id: w1, command: "hostname" })).stdout.trim()).toBe(w1);
    expect((await pyro.execWorkspace({ workspace_id: w2, command: "hostname" })).stdout.trim()).toBe(w2);
    expect(lstatSync(socketOf(w1)).isSocket()).toBe(true);
    expect((await pyro.logsWorkspace({ workspace_id: w2 })).entries.map((e) => e.command)).toEqual(["hostname"]);
  });

  it.skipIf(!sandbox.available)("the host refuses a socket path that is not the socket it made", async () => {
    // What the guest did before the fix, done on the host side: the check is
    // there even if some future layout let a guest write the directory.
    const path = socketOf(w1);
    expect(existsSync(path)).toBe(true);
    rmSync(path);
    symlinkSync(socketOf(w2), path);
    const error = await pyro.execWorkspace({ workspace_id: w1, command: "hostname" }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(PyroError);
    expect((error as PyroError).message).toMatch(/not the socket pyro made.*refusing/);
    expect((await pyro.logsWorkspace({ workspace_id: w2 })).entries).toHaveLength(1);
  });
});

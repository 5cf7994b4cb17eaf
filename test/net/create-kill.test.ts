import { spawn } from "node:child_process";
import { existsSync, readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ensureEnvironment } from "../../src/environments/index.js";
import { processesUnder } from "../../src/util/dir-processes.js";
import { SUITE_BACKENDS } from "../helpers/backends.js";
import { runCli } from "../helpers/cli.js";
import { CLI, TEST_CACHE_DIR, tempStateDir } from "../helpers/env.js";
import { createNetLab, NETLAB_AVAILABLE, type NetLab } from "../helpers/netlab.js";
import { liveProcesses, sandboxAgentsUnder, stacksUnder } from "../helpers/processes.js";

const sandbox = SUITE_BACKENDS.find((b) => b.name === "sandbox")!;
const ok = sandbox.available && NETLAB_AVAILABLE;

/** What still runs that names `text`, with its command line (for a failure message). */
function leftovers(text: string): string[] {
  return liveProcesses()
    .filter((p) => p.argv.some((arg) => arg.includes(text)))
    .map((p) => `${p.pid} ${p.argv.join(" ").slice(0, 200)}`);
}

// Issue 13: `kill -9` of the CLI anywhere in the create of a networked
// workspace leaves nothing once the workspace is deleted: no slirp4netns, no
// launcher, no agent (the machine's namespace and its nft table die with its
// last process). pyro runs inside the lab's namespace, so its guests' network
// is the lab's.
describe("kill -9 during a networked workspace create on the sandbox", () => {
  const state = tempStateDir();
  const env = { ...process.env, PYRO_STATE_DIR: state.dir, PYRO_ENVIRONMENT_CACHE_DIR: TEST_CACHE_DIR };
  const createArgs = ["workspace", "create", "debian:12", "--backend", "sandbox", "--allow-host-compat", "--network-policy", "egress+published-ports", "--json"];
  let lab: NetLab;
  const pyro = (args: string[]) => runCli(args, env, { timeoutMs: 300_000, wrap: lab.inOuter });

  /**
   * Start the create inside the lab and SIGKILL the CLI once `when()` holds
   * (polled every few ms), or after `ms`; null lets it finish.
   */
  const createKilled = (when: (() => boolean) | number | null): Promise<{ code: number | null; elapsed: number; killed: boolean }> =>
    new Promise((resolve, reject) => {
      const started = Date.now();
      let killed = false;
      // `ip netns exec` execs the CLI in place: the pid killed is the CLI's.
      const child = spawn(lab.inOuter[0]!, [...lab.inOuter.slice(1), process.execPath, CLI, ...createArgs], { env, stdio: "ignore" });
      const kill = () => {
        killed = child.kill("SIGKILL");
      };
      const timer =
        when === null ? undefined : typeof when === "number" ? setTimeout(kill, when) : setInterval(() => (when() ? (clearInterval(timer), kill()) : undefined), 3);
      child.on("error", reject);
      child.on("close", (code) => {
        clearTimeout(timer);
        clearInterval(timer);
        resolve({ code, elapsed: Date.now() - started, killed: killed && code === null });
      });
    });

  /** Whether a process of the state dir whose argv[0] ends with `name` runs. */
  const running = (name: string) => () => liveProcesses().some((p) => (p.argv[0] ?? "").endsWith(name) && p.argv.some((arg) => arg.includes(state.dir)));
  /** Whether a workspace record of the state dir has reached creation phase `phase`. */
  const phase = (wanted: string) => () => {
    const root = join(state.dir, "workspaces");
    for (const ws of existsSync(root) ? readdirSync(root) : []) {
      try {
        if ((JSON.parse(readFileSync(join(root, ws, "record.json"), "utf8")) as { creation?: { phase: string } }).creation?.phase === wanted) return true;
      } catch {
        // being written
      }
    }
    return false;
  };

  beforeAll(async () => {
    if (!ok) return;
    await ensureEnvironment("debian:12", { cacheDir: TEST_CACHE_DIR, kernel: false });
    lab = await createNetLab();
  }, 900_000);
  afterAll(() => {
    lab?.cleanup();
    state.cleanup();
  });

  it.skipIf(!ok)("at kill points spread over the create, delete leaves no slirp4netns and no process of the state dir (needs bwrap, root, ip, slirp4netns, nft)", async () => {
    const whole = await createKilled(null);
    expect(whole.code).toBe(0);
    // Kill points: the launcher spawned (its stage names the rules file), the
    // stack attached, the machine up and seeding, plus a spread over the whole.
    const points: Array<[string, (() => boolean) | number | null]> = [
      ["none", null],
      ["launcher", running("unshare")],
      ["stack", running("slirp4netns")],
      ["baseline", phase("baseline")],
      ...[0.3, 0.5, 0.7, 0.9].map((f): [string, number] => [`${Math.round(whole.elapsed * f)} ms`, Math.round(whole.elapsed * f)]),
    ];
    // Kills that left a half-made workspace whose stack still ran: what delete must clean up.
    let halfMadeWithStack = 0;
    for (const [at, when] of points) {
      const run = await createKilled(when);
      const stacks = stacksUnder(state.dir).length;
      // The machine-directory scan that delete relies on for a machine no handle names finds its stack.
      const scanned = processesUnder(state.dir);
      for (const stack of stacksUnder(state.dir)) expect(scanned, stack).toContain(Number(stack.split(" ")[0]));
      const listed = await pyro(["workspace", "list", "--json"]);
      expect(listed.code, listed.stderr).toBe(0);
      for (const ws of (JSON.parse(listed.stdout) as { workspaces: Array<{ workspace_id: string; state: string }> }).workspaces) {
        expect(ws.state, `kill at ${at}`).not.toBe("creating");
        if (run.killed && ws.state === "dead" && stacks > 0) halfMadeWithStack += 1;
        const deleted = await pyro(["workspace", "delete", ws.workspace_id, "--json"]);
        expect(deleted.code, deleted.stderr).toBe(0);
      }
      expect(stacksUnder(state.dir), `slirp4netns left after a kill at ${at}`).toEqual([]);
      expect(leftovers(state.dir), `kill at ${at}`).toEqual([]);
      await new Promise((r) => setTimeout(r, 300));
      expect(leftovers(state.dir), `kill at ${at}, 300 ms later`).toEqual([]);
      expect(sandboxAgentsUnder(state.dir), `kill at ${at}`).toEqual([]);
      // Directories with a record; a kill between the directory's mkdir and its record's first write
      // leaves one without, which list does not show (src/core/store/records.ts create; reported, not this test's subject).
      const dirs = (existsSync(join(state.dir, "workspaces")) ? readdirSync(join(state.dir, "workspaces")) : []).filter((d) =>
        existsSync(join(state.dir, "workspaces", d, "record.json")),
      );
      expect(dirs, `kill at ${at}`).toEqual([]);
    }
    // The kills reached the network: some left a stack running until delete.
    expect(halfMadeWithStack).toBeGreaterThan(0);
  }, 900_000);
});

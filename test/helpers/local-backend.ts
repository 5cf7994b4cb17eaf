import { spawn } from "node:child_process";
import { mkdirSync, rmSync } from "node:fs";
import { createConnection, type Socket } from "node:net";
import type { Duplex } from "node:stream";
import { join } from "node:path";
import type { Backend, BackendAvailability, BackendCapabilities, BackendName, MachineHandle, MachineSpec, StartOptions } from "../../src/runtime/backend.js";
import { killProcessesUnder } from "../../src/util/dir-processes.js";
import { PyroError } from "../../src/util/errors.js";
import { isProcessAlive, processStartTime, waitFor } from "../../src/util/process.js";
import { ensureAgentBuilt } from "./agent.js";
import { PathMappingStream } from "./path-mapping-stream.js";

/**
 * A fake machine engine for fast core tests, without root, namespaces or a
 * VM: it honours the {@link Backend} contract by running the real agent
 * (agent/dist/pyro-agent) as a plain detached process of the current user,
 * serving on a Unix socket in the machine directory (`--listen unix:`), the
 * transport the sandbox uses. Test-only: it lives under test/ and is
 * registered only by tests that build their own `BackendRegistry`.
 *
 * The machine is the host itself, so:
 * - commands run on the host as the test's user: tests must run harmless
 *   commands only;
 * - a machine's "guest root" is `DIR/root` (with an empty `workspace/`):
 *   the guest paths of requests (exec/shell/service `cwd`, archive `dest` and
 *   `path`) are mapped under it on the way to the agent
 *   (path-mapping-stream.ts), but paths inside commands, `realpath` output
 *   and symlinks are the host's (workspace sync into a subdirectory, export
 *   and anything that checks a path in the guest will not work);
 * - the agent's run dir (secrets, service logs) is `DIR/run`;
 * - no isolation, no network, no limits, no disk tools: `execution_mode` is
 *   `host_compat` and the capabilities say so.
 *
 * It takes the name of a real backend (`sandbox` by default) because records
 * and results only know those; a test registers it in that backend's place.
 */
export class LocalAgentBackend implements Backend {
  readonly capabilities: BackendCapabilities = {
    vm_boot: false,
    guest_exec: true,
    guest_network: false,
    disk_tools: false,
    vsock: false,
    execution_mode: "host_compat",
  };

  /**
   * Ops at which the agent wedges: when the host sends one of these requests,
   * the agent process is SIGSTOPped before the request reaches it (it keeps
   * its socket open and never answers, as a hung guest would).
   */
  readonly wedgeOn = new Set<string>();

  constructor(readonly name: BackendName = "sandbox") {}

  async availability(): Promise<BackendAvailability> {
    return { usable: true, details: { binary: ensureAgentBuilt(), fake: true } };
  }

  async start(spec: MachineSpec, options: StartOptions): Promise<MachineHandle> {
    const bin = ensureAgentBuilt();
    const paths = localPaths(spec.dir);
    mkdirSync(join(paths.root, "workspace"), { recursive: true, mode: 0o700 });
    mkdirSync(paths.run, { recursive: true, mode: 0o700 });
    rmSync(paths.socket, { force: true });
    // Detached: the machine outlives the call that started it, as a VMM does.
    const child = spawn(bin, ["--listen", `unix:${paths.socket}`, "--run-dir", paths.run], {
      cwd: paths.root,
      detached: true,
      stdio: ["ignore", "pipe", "ignore"],
    });
    const pid = child.pid;
    const ready = await new Promise<boolean>((resolve) => {
      let out = "";
      const timer = setTimeout(() => resolve(false), options.bootTimeoutMs);
      child.stdout!.on("data", (chunk: Buffer) => {
        out += chunk.toString();
        if (out.includes("READY\n")) {
          clearTimeout(timer);
          resolve(true);
        }
      });
      child.once("exit", () => {
        clearTimeout(timer);
        resolve(false);
      });
    });
    child.stdout!.destroy();
    child.unref();
    if (!ready || pid === undefined) {
      if (pid !== undefined) await killProcessesUnder(spec.dir);
      throw new PyroError("guest_failure", "the local agent did not come up");
    }
    return { backend: this.name, pid, pidStartTime: processStartTime(pid), dir: spec.dir };
  }

  async connect(spec: MachineSpec, handle: MachineHandle): Promise<Duplex> {
    if (!this.isRunning(handle)) throw new PyroError("guest_failure", `machine ${spec.id} is not running`);
    const paths = localPaths(spec.dir);
    const socket = await new Promise<Socket>((resolve, reject) => {
      const s = createConnection(paths.socket, () => {
        s.off("error", reject);
        resolve(s);
      });
      s.once("error", reject);
    });
    return new PathMappingStream(socket, paths.root, (op) => {
      if (this.wedgeOn.has(op)) process.kill(handle.pid, "SIGSTOP");
    });
  }

  isRunning(handle: MachineHandle): boolean {
    return isProcessAlive(handle.pid, handle.pidStartTime);
  }

  async stop(_spec: MachineSpec, handle: MachineHandle, graceMs: number): Promise<void> {
    // The agent exits 0 after answering `shutdown`.
    if (await waitFor(() => !this.isRunning(handle), graceMs, 5)) return;
    await this.kill(handle);
  }

  async kill(handle: MachineHandle): Promise<void> {
    // The agent and whatever it started: its commands run in process groups of their own, so find them by ancestry.
    const dir = typeof handle.dir === "string" ? handle.dir : null;
    if (dir) await killProcessesUnder(dir);
    else if (this.isRunning(handle)) process.kill(handle.pid, "SIGKILL");
    await waitFor(() => !this.isRunning(handle), 5000, 5);
  }

  async cleanup(spec: MachineSpec): Promise<void> {
    const paths = localPaths(spec.dir);
    for (const path of [paths.socket, paths.run, paths.root]) rmSync(path, { recursive: true, force: true });
  }
}

/** Where a local machine keeps its files. */
function localPaths(dir: string): { socket: string; run: string; root: string } {
  return { socket: join(dir, "agent.sock"), run: join(dir, "run"), root: join(dir, "root") };
}

import { mkdir } from "node:fs/promises";
import type { AgentClient, ExecResult } from "../../agent-client/index.js";
import { ensureEnvironment } from "../../environments/index.js";
import type { Backend, MachineHandle, MachineSpec } from "../../runtime/backend.js";
import type { CoreContext } from "../context.js";
import { poolOf } from "../pool/pool.js";
import { BOOT_TIMEOUT_MS, destroyMachine, killUntracked } from "./lifecycle.js";
import { withBootSlot } from "./boot-slots.js";
import type { ExecStreaming } from "./command-stream.js";
import { imageEnv } from "./image-env.js";
import { requireUserSupport, userField } from "./image-user.js";
import { execShell, shutdownMachine, withAgent, type MachineRef } from "./session.js";

/** What {@link Machine.exec} runs: one shell command. */
export interface MachineExec {
  command: string;
  cwd: string;
  timeoutMs: number;
  maxOutputBytes: number;
  env?: Record<string, string>;
  /** Live output, cancellation and signalling (command-stream.ts). */
  streaming?: ExecStreaming;
}

/** The fields of an exec result that VM and workspace results share (output aside: a workspace redacts it). */
export function execOutcome(result: ExecResult) {
  return {
    exit_code: result.exit_code,
    stdout_truncated: result.stdout_truncated,
    stderr_truncated: result.stderr_truncated,
    timed_out: result.timed_out,
    duration_ms: result.duration_ms,
  };
}

/**
 * One machine: its backend, its spec and, once started, its handle, with
 * every lifecycle step on it (boot, sessions, exec, shutdown, kill,
 * destroy). VMs and workspaces are two uses of it; they own the records, a
 * Machine owns what runs.
 */
export class Machine implements MachineRef {
  /** The handle of the started machine; a placeholder (pid 0) while none runs. */
  handle: MachineHandle;

  constructor(
    readonly context: CoreContext,
    readonly backend: Backend,
    readonly spec: MachineSpec,
    handle: MachineHandle | null,
    /** Whether `spec.environment` was just made ready for this backend (by {@link resolveMachine}): boot need not check again. */
    private environmentReady = false,
  ) {
    this.handle = handle ?? { backend: backend.name, pid: 0 };
  }

  /** Whether its host process runs now. */
  get running(): boolean {
    return this.handle.pid > 0 && this.backend.isRunning(this.handle);
  }

  /**
   * Boot it: the environment made ready for this backend (a no-op when it
   * is), its directory made, then a pooled machine of its shape taken
   * (core/pool) or else the backend started, once a boot slot is free
   * (boot-slots.ts: the wait ends when the call is aborted, with nothing
   * started). Progress lines carry `tag`.
   */
  async boot(tag: string, options: { tiedToCaller?: boolean; resume?: boolean } = {}): Promise<MachineHandle> {
    if (!this.environmentReady) {
      this.spec.environment = await ensureEnvironment(this.spec.environment.name, {
        config: this.context.config,
        cacheDir: this.context.cacheDir,
        onProgress: this.context.progress,
        kernel: this.backend.capabilities.vm_boot,
        // Its create already reported the environment; a start that finds it installed has nothing to add.
        quietWhenInstalled: true,
      });
      this.environmentReady = true;
    }
    // Before anything starts: a backend that cannot run as the image's User refuses it (image-user.ts).
    requireUserSupport(this.backend, this.spec.environment);
    await mkdir(this.spec.dir, { recursive: true, mode: 0o700 });
    // The boot's deadlines (BOOT_TIMEOUT_MS, the hellos) start inside the slot: waiting for one costs none of them.
    this.handle = await withBootSlot(this.context, this.backend, tag, async () => {
      const pooled = options.tiedToCaller || options.resume ? null : await poolOf(this.context).take(this.backend, this.spec, (line) => this.context.progress(`${tag} ${line}`));
      return (
        pooled ??
        this.backend.start(this.spec, {
          bootTimeoutMs: BOOT_TIMEOUT_MS,
          onProgress: (line) => this.context.progress(`${tag} ${line}`),
          ...(options.tiedToCaller ? { tiedToCaller: true } : {}),
          ...(options.resume ? { resume: true } : {}),
        })
      );
    });
    return this.handle;
  }

  /** Open an agent session, run `fn`, always close it. The first one of a machine taken from the pool is the session that activated it. */
  async session<R>(fn: (client: AgentClient) => Promise<R>): Promise<R> {
    const ready = poolOf(this.context).claimSession(this.spec.id);
    if (!ready) return withAgent(this, fn);
    try {
      return await fn(ready);
    } finally {
      void ready.close();
    }
  }

  /** Run one shell command through the agent, with an image's `Env` under the request's own, as the image's `User`. */
  exec(request: MachineExec): Promise<ExecResult> {
    const env = { ...imageEnv(this.spec.environment), ...request.env };
    return this.session((client) => execShell(client, { ...request, env, ...userField(this.spec.environment) }));
  }

  /** Ask the guest to power off; kill it after `graceMs`. Never throws for a dead machine. */
  shutdown(graceMs: number): Promise<void> {
    return shutdownMachine(this, graceMs);
  }

  /** Kill its host processes at once: the recorded ones and any its directory still runs. */
  async kill(): Promise<void> {
    if (this.handle.pid > 0) await this.backend.kill(this.handle);
    await killUntracked(this);
  }

  /** Kill it and remove its backend files. */
  destroy(): Promise<void> {
    return destroyMachine(this, this.handle.pid > 0 ? this.handle : null);
  }
}

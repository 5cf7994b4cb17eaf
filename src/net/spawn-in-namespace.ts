import { spawn } from "node:child_process";
import { closeSync, openSync } from "node:fs";
import type { Socket } from "node:net";
import { PyroError } from "../util/errors.js";
import { processStartTime, signalProcess } from "../util/process.js";
import { NET_SIGNAL_FD, netStage, type NetStageOptions } from "./launch.js";
import { startSlirp, type SlirpProcess } from "./slirp.js";

/** Options of {@link spawnInNetNamespace}. */
export interface SpawnInNetNamespaceOptions {
  /** The namespace's own egress filter (`egress.nft`), or the whole net stage (filter, resolver, resolv.conf). */
  rulesFile?: string;
  stage?: NetStageOptions;
  /** Also a mount namespace of its own (needed when the stage binds a host-side resolv.conf). */
  mountNamespace?: boolean;
  /** Argv stages run inside the namespace after the net stage, before the program (e.g. the guest TAP's). */
  stages?: string[];
  slirpSocket: string;
  slirpLog: string;
  /** Where the program's stdout and stderr go (appended). */
  stdoutPath: string;
  stderrPath: string;
  cwd: string;
  env: NodeJS.ProcessEnv;
  timeoutMs: number;
}

/**
 * Start `file args` detached (own session) inside a fresh network namespace
 * whose only way out is slirp4netns behind the egress filter (see
 * docs/networking.md). `unshare`, the stages and the program exec one
 * another, so the returned pid is the program's. Resolves once the stack is
 * attached; the stages finish on their own after that.
 */
export async function spawnInNetNamespace(file: string, args: string[], options: SpawnInNetNamespaceOptions): Promise<{ pid: number; startTime: string | undefined; slirp: SlirpProcess }> {
  const asRoot = process.getuid?.() === 0;
  const stage = options.stage ?? { rulesFile: options.rulesFile ?? "" };
  const argv = [
    ...(asRoot ? [] : ["--user", "--map-root-user"]),
    "--net",
    ...(options.mountNamespace ? ["--mount", "--propagation", "private"] : []),
    ...netStage(stage),
    ...(options.stages ?? []),
    file,
    ...args,
  ];
  const out = openSync(options.stdoutPath, "a", 0o600);
  const err = options.stderrPath === options.stdoutPath ? out : openSync(options.stderrPath, "a", 0o600);
  let child;
  try {
    child = spawn("unshare", argv, { detached: true, cwd: options.cwd, env: options.env, stdio: ["ignore", out, err, "ignore", "ignore", "ignore", "pipe"] });
  } finally {
    closeSync(out);
    if (err !== out) closeSync(err);
  }
  const pid = await new Promise<number>((resolve, reject) => {
    child.once("error", (error) => reject(new PyroError("unavailable", `cannot start unshare: ${error.message}`, { hint: "apt-get install util-linux" })));
    child.once("spawn", () => resolve(child.pid!));
  });
  child.unref();
  const startTime = processStartTime(pid);
  try {
    const slirp = await startSlirp({
      targetPid: pid,
      signal: (child.stdio as unknown as Socket[])[NET_SIGNAL_FD]!,
      apiSocket: options.slirpSocket,
      log: options.slirpLog,
      timeoutMs: options.timeoutMs,
    });
    return { pid, startTime, slirp };
  } catch (error) {
    signalProcess(pid, "SIGKILL", startTime);
    throw error;
  }
}

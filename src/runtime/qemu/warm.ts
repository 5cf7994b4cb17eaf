import { existsSync } from "node:fs";
import { join } from "node:path";
import { AgentClient } from "../../agent-client/index.js";
import { writeFileAtomic } from "../../util/atomic-file.js";
import { activateRequest } from "../guest-boot/index.js";
import { isProcessAlive, signalProcess, sleep } from "../../util/process.js";
import { qemuLayout } from "./layout.js";
import { openAgentPort } from "./ports.js";
import { qmpCommand } from "./qmp.js";

/** The file a warmed parked machine's directory gets once its warm-up is done. */
export const WARM_MARKER = "warm";

/** How long a warm-up may take before the parked machine is given up. */
const WARM_TIMEOUT_MS = 120_000;

/** Whether the parked machine in `dir` finished its warm-up. */
export function isWarm(dir: string): boolean {
  return existsSync(join(dir, WARM_MARKER));
}

/**
 * Warm a parked machine up, run detached after the operation that parked it
 * (warm-main.ts): once it is restored, let it run, open an agent session, run
 * `true` and `sh -c :`, activate (below), close, and stop it again. Under emulation a restored
 * machine's first agent round trips pay for translating the agent's and the
 * kernel's code paths afresh (QEMU's translation cache is not part of the
 * saved state); this moves that cost off the caller who takes the machine.
 * It also activates the machine once with a placeholder identity
 * (`pyro-parked`, the clock, fresh entropy), so the hand-out's activate finds
 * its paths translated; the hand-out then sets the machine's real identity
 * over it (hostname, clock, entropy mixed in again). The session leaves
 * nothing else behind. On any failure the machine is killed, so the pool
 * drops it.
 */
export async function warmParked(dir: string, pid: number, pidStartTime: string | undefined): Promise<void> {
  const layout = qemuLayout(dir);
  const deadline = Date.now() + WARM_TIMEOUT_MS;
  try {
    for (;;) {
      if (!isProcessAlive(pid, pidStartTime)) return;
      if (Date.now() > deadline) throw new Error("restore timed out");
      const status = existsSync(layout.qmpSocket)
        ? ((await qmpCommand(layout.qmpSocket, "query-status", undefined, 2000).catch(() => ({}))) as { status?: string }).status
        : undefined;
      if (status === "paused") break;
      await sleep(20);
    }
    await qmpCommand(layout.qmpSocket, "cont");
    const { socket } = await openAgentPort(layout.agentSockets, layout.agentLocks, { timeoutMs: 30_000 });
    const client = await AgentClient.connect(socket, { helloTimeoutMs: 30_000, clientName: "pyro-mcp/qemu-warm" });
    try {
      for (const argv of [["true"], ["/bin/sh", "-c", ":"]]) await client.exec({ argv, timeout_ms: 30_000 }, { maxBufferedBytes: 1024 });
      // The hand-out's activate (hostname, clock, reseed) runs kernel and agent paths nothing above touched;
      // a first activate translates them. The hand-out sets the real identity over this one.
      if (client.has("activate")) await client.request("activate", activateRequest({ hostname: "pyro-parked", resumable: true }));
    } finally {
      await client.close();
    }
    await qmpCommand(layout.qmpSocket, "stop");
    await writeFileAtomic(join(dir, WARM_MARKER), String(Date.now()), { durable: false });
  } catch {
    signalProcess(pid, "SIGKILL", pidStartTime);
  }
}

import { join } from "node:path";
import { PyroError } from "../../util/errors.js";

/** How many agent ports (virtio-serial `pyro.agent.N`) every VM has: the most concurrent host connections. */
export const AGENT_PORT_COUNT = 8;

/** Linux limits a Unix socket path to 107 bytes plus NUL. */
const MAX_SOCKET_PATH = 107;

/** The files a QEMU machine keeps in its directory. */
export interface QemuLayout {
  dir: string;
  qmpSocket: string;
  pidFile: string;
  consoleLog: string;
  /** QEMU's own stdout and stderr. */
  qemuLog: string;
  /** Agent port sockets, index = port number. */
  agentSockets: string[];
  /** Per-port lock files, index = port number. */
  agentLocks: string[];
  overlayDisk: string;
  rawDisk: string;
  /** A paused machine's memory and device state (QEMU's migration stream; `workspace pause`). */
  memoryState: string;
  /** What the memory state fits: format, command-line key, saved_at. */
  memoryMeta: string;
}

/** The layout of a machine directory. */
export function qemuLayout(dir: string): QemuLayout {
  const ports = Array.from({ length: AGENT_PORT_COUNT }, (_, i) => i);
  return {
    dir,
    qmpSocket: join(dir, "qmp.sock"),
    pidFile: join(dir, "qemu.pid"),
    consoleLog: join(dir, "console.log"),
    qemuLog: join(dir, "qemu.log"),
    agentSockets: ports.map((i) => join(dir, `agent-${i}.sock`)),
    agentLocks: ports.map((i) => join(dir, `agent-${i}.lock`)),
    overlayDisk: join(dir, "root.qcow2"),
    rawDisk: join(dir, "root.ext4"),
    memoryState: join(dir, "memory.state"),
    memoryMeta: join(dir, "memory.json"),
  };
}

/** Throw a clear error when the machine directory is too deep for Unix socket paths. */
export function checkSocketPaths(layout: QemuLayout): void {
  const longest = [layout.qmpSocket, ...layout.agentSockets].reduce((a, b) => (Buffer.byteLength(b) > Buffer.byteLength(a) ? b : a));
  if (Buffer.byteLength(longest) > MAX_SOCKET_PATH) {
    throw new PyroError("invalid_argument", `the machine directory ${layout.dir} is too long for Unix socket paths (${Buffer.byteLength(longest)} > ${MAX_SOCKET_PATH} bytes)`, {
      hint: "set PYRO_STATE_DIR to a shorter path, e.g. ~/.pyro-state",
      details: { path: longest },
    });
  }
}

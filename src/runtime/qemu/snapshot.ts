import { createHash } from "node:crypto";
import { PyroError } from "../../util/errors.js";
import { fileStamp, type FileStamp } from "../../environments/snapshots.js";
import { shellQuote } from "../../util/shell.js";
import { buildQemuArgs, type QemuArgsInput } from "./args.js";
import { qemuLayout } from "./layout.js";
import { qmpCommand } from "./qmp.js";

/** The file of a boot snapshot that holds the machine state (QEMU's migration stream). */
export const VMSTATE_FILE = "vmstate";

/** What decides whether a snapshot fits a machine: everything of the command line that the guest can see. */
export type SnapshotShape = Omit<QemuArgsInput, "layout" | "rootDisk" | "rootFormat" | "publishedPorts" | "incomingState" | "paused">;

/**
 * The key of the boot snapshot that fits `shape`: a hash of its command line
 * with every per-machine path replaced by a fixed one (socket and disk paths,
 * the disk's format and the published ports are invisible to the guest), and
 * of the stamps of the files whose content is in the guest (QEMU itself, the
 * kernel, the initramfs, the root image). A re-pulled environment, a new
 * kernel or an upgraded QEMU gets a new key.
 */
export function snapshotKey(shape: SnapshotShape, qemu: string, rootImage: string): { key: string; sources: FileStamp[] } {
  const canonical = buildQemuArgs({ ...shape, layout: qemuLayout("/pyro-snapshot"), rootDisk: "/pyro-snapshot/root", rootFormat: "raw", publishedPorts: [] });
  const sources = [qemu, shape.kernel, shape.initramfs, rootImage].map(fileStamp);
  const digest = createHash("sha256").update(JSON.stringify({ canonical, sources })).digest("hex");
  return { key: `qemu-${digest.slice(0, 32)}`, sources };
}

/** QEMU throttles migration to 128 MiB/s by default; a snapshot to a local file needs no limit. */
const UNLIMITED_BANDWIDTH = 2 ** 40;

/**
 * Save the state of a running machine into `file` (QMP `migrate` to
 * `exec:cat > file`, paused), then let it run on. The guest must not have
 * written its disk yet (its root is read-only until `activate`), so the
 * environment's image is the disk that belongs to the state.
 */
export async function saveSnapshot(qmpSocket: string, file: string, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  await qmpCommand(qmpSocket, "migrate-set-parameters", { "max-bandwidth": UNLIMITED_BANDWIDTH });
  await qmpCommand(qmpSocket, "stop");
  try {
    await qmpCommand(qmpSocket, "migrate", { uri: `exec:cat > ${shellQuote(file)}` });
    for (;;) {
      const state = (await qmpCommand(qmpSocket, "query-migrate")) as { status?: string; "error-desc"?: string };
      if (state.status === "completed") return;
      if (state.status === "failed" || state.status === "cancelled") {
        throw new PyroError("guest_failure", `QEMU could not save the machine state: ${state["error-desc"] ?? state.status}`);
      }
      if (Date.now() > deadline) {
        await qmpCommand(qmpSocket, "migrate_cancel").catch(() => undefined);
        throw new PyroError("timeout", `saving the machine state took longer than ${timeoutMs} ms`);
      }
      await new Promise((resolve) => setTimeout(resolve, 10));
    }
  } finally {
    await qmpCommand(qmpSocket, "cont");
  }
}

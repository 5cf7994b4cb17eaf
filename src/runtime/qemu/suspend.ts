import { createHash } from "node:crypto";
import { open, readFile, rename, rm, stat } from "node:fs/promises";
import { fileStamp } from "../../environments/snapshots.js";
import { writeFileAtomic } from "../../util/atomic-file.js";
import { PyroError } from "../../util/errors.js";
import { shellQuote } from "../../util/shell.js";
import { buildQemuArgs } from "./args.js";
import { qemuLayout, type QemuLayout } from "./layout.js";
import { qmpCommand } from "./qmp.js";
import type { SnapshotShape } from "./snapshot.js";

/** Format of a paused machine's saved state; a pyro that writes another refuses to resume this one. */
export const MEMORY_FORMAT = 1;

/** QEMU throttles migration to 128 MiB/s by default; a save to a local file needs no limit. */
const UNLIMITED_BANDWIDTH = 2 ** 40;

/** What `memory.json` records beside `memory.state`. */
interface MemoryMeta {
  format: number;
  /** The command line (minus paths) and the QEMU, kernel and initramfs it was saved with. */
  key: string;
  bytes: number;
  saved_at: string;
}

/**
 * What a saved state fits: the machine's command line with per-machine paths
 * fixed, plus the stamps of QEMU, kernel and initramfs (a migration stream
 * loads only into the same devices and, in practice, the same QEMU).
 */
export function memoryKey(shape: SnapshotShape, qemu: string): string {
  const canonical = buildQemuArgs({ ...shape, layout: qemuLayout("/pyro-memory"), rootDisk: "/pyro-memory/root", rootFormat: "raw", publishedPorts: [] });
  const sources = [qemu, shape.kernel, shape.initramfs].map(fileStamp).map(({ size, mtime_ms, ino }) => [size, mtime_ms, ino]);
  return createHash("sha256").update(JSON.stringify({ canonical, sources })).digest("hex").slice(0, 32);
}

/**
 * Save a running machine's memory and device state to `layout.memoryState`
 * (QMP `stop`, `migrate` to a partial file, fsync, rename), leaving it
 * stopped. QEMU flushes the disk on `stop`, so disk and state agree. On any
 * failure (a full disk, a timeout) the machine is let run again (`cont`), the
 * partial file removed, and the error thrown.
 */
export async function saveMemory(layout: QemuLayout, key: string, timeoutMs: number, target: Pick<QemuLayout, "memoryState" | "memoryMeta"> = layout): Promise<number> {
  const partial = `${target.memoryState}.partial`;
  const deadline = Date.now() + timeoutMs;
  await qmpCommand(layout.qmpSocket, "migrate-set-parameters", { "max-bandwidth": UNLIMITED_BANDWIDTH });
  await qmpCommand(layout.qmpSocket, "stop");
  try {
    await qmpCommand(layout.qmpSocket, "migrate", { uri: `exec:cat > ${shellQuote(partial)}` });
    for (;;) {
      const state = (await qmpCommand(layout.qmpSocket, "query-migrate")) as { status?: string; "error-desc"?: string };
      if (state.status === "completed") break;
      if (state.status === "failed" || state.status === "cancelled") {
        throw new PyroError("io_error", `QEMU could not save the machine's memory: ${state["error-desc"] ?? state.status}`, {
          hint: "check free space in the state directory (the file is about the guest's used memory); the workspace keeps running",
        });
      }
      if (Date.now() > deadline) {
        await qmpCommand(layout.qmpSocket, "migrate_cancel").catch(() => undefined);
        throw new PyroError("timeout", `saving the machine's memory took longer than ${timeoutMs} ms`, { hint: "the workspace keeps running; try again" });
      }
      await new Promise((resolve) => setTimeout(resolve, 10));
    }
    // `cat` may have hit a full disk after QEMU handed it the last byte: the file must be whole and on disk.
    const file = await open(partial, "r+");
    try {
      await file.sync();
    } finally {
      await file.close();
    }
    const { size } = await stat(partial);
    if (size === 0) throw new PyroError("io_error", "the saved memory state is empty (disk full?)", { hint: "free space in the state directory; the workspace keeps running" });
    await rename(partial, target.memoryState);
    const meta: MemoryMeta = { format: MEMORY_FORMAT, key, bytes: size, saved_at: new Date().toISOString() };
    await writeFileAtomic(target.memoryMeta, JSON.stringify(meta));
    return size;
  } catch (error) {
    await rm(partial, { force: true });
    await rm(target.memoryState, { force: true });
    await qmpCommand(layout.qmpSocket, "cont").catch(() => undefined);
    throw error;
  }
}

/** Why the saved state in `layout` cannot be resumed with `key`, or null when it can. */
export async function memoryProblem(layout: QemuLayout, key: string): Promise<string | null> {
  let meta: MemoryMeta;
  try {
    meta = JSON.parse(await readFile(layout.memoryMeta, "utf8")) as MemoryMeta;
  } catch {
    return "its description (memory.json) is missing or unreadable";
  }
  if (meta.format !== MEMORY_FORMAT) return `it has format ${meta.format}, this pyro reads format ${MEMORY_FORMAT}`;
  if (meta.key !== key) return "it was saved by another QEMU, kernel or machine shape";
  try {
    const { size } = await stat(layout.memoryState);
    if (size !== meta.bytes) return `memory.state is ${size} bytes, ${meta.bytes} were saved`;
  } catch {
    return "memory.state is missing";
  }
  return null;
}

/** Remove a saved state (after a resume, or when the machine starts cold). */
export async function discardMemory(layout: QemuLayout): Promise<void> {
  await Promise.all([layout.memoryState, `${layout.memoryState}.partial`, layout.memoryMeta].map((path) => rm(path, { force: true })));
}

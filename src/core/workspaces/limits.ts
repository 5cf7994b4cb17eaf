import type { CoreContext } from "../context.js";

/** Largest archive (seed, sync, export, snapshot) accepted by default: 4 GiB. */
export const DEFAULT_MAX_ARCHIVE_BYTES = 4 * 1024 * 1024 * 1024;

/** Most entries a host-side archive reader accepts. */
export const MAX_ARCHIVE_ENTRIES = 1_000_000;

/** Longest entry name or link target a host-side archive reader accepts. */
export const MAX_ARCHIVE_PATH = 4096;

/**
 * The archive size bound of a context: `PYRO_MAX_ARCHIVE_BYTES` when set to a
 * positive integer (operators lower it; tests use it for tar bombs), else 4 GiB.
 */
export function maxArchiveBytes(context: CoreContext): number {
  const raw = context.env.PYRO_MAX_ARCHIVE_BYTES;
  const value = raw ? Number(raw) : NaN;
  return Number.isSafeInteger(value) && value > 0 ? value : DEFAULT_MAX_ARCHIVE_BYTES;
}

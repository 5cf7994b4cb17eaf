import type { CoreContext } from "../context.js";

/** Most entries a host-side archive reader accepts. */
export const MAX_ARCHIVE_ENTRIES = 1_000_000;

/** Longest entry name or link target a host-side archive reader accepts. */
export const MAX_ARCHIVE_PATH = 4096;

/**
 * The archive size bound of a context: the configured `PYRO_MAX_ARCHIVE_BYTES`
 * (operators lower it; tests use it for tar bombs), else 4 GiB. Every archive
 * path (seed, sync, export, diff, snapshot, reset) asks here.
 */
export function maxArchiveBytes(context: CoreContext): number {
  return context.config.maxArchiveBytes;
}

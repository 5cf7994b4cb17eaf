import { PyroError } from "../../util/errors.js";
import { checkId } from "../ids.js";
import type { WorkspaceService } from "./service.js";

/**
 * A workspace's TTL is an idle timeout: `expires_at` is `ttl_seconds` after
 * its last use. This is when `expires_at` should be after a use at `now`
 * that may keep the workspace busy for `busySeconds` more (an exec's timeout):
 * a running command must not be reaped under the caller.
 */
export function idleDeadline(record: { ttl_seconds: number }, now: number, busySeconds = 0): number {
  return now + (record.ttl_seconds + busySeconds) * 1000;
}

/**
 * Push a workspace's `expires_at` to {@link idleDeadline}. Never moves it
 * earlier: a concurrent longer operation may have pushed it further.
 */
export async function extendTtl(workspaces: WorkspaceService, workspaceId: string, busySeconds = 0): Promise<void> {
  const id = checkId(workspaceId, "ws", "workspace");
  // Not fsynced: after a crash an expiry a few seconds early or late is harmless, and this runs twice per operation.
  await workspaces.records.update(
    id,
    (current) => {
      const deadline = idleDeadline(current, Date.now(), busySeconds);
      if (Date.parse(current.expires_at) >= deadline) return current;
      return { ...current, expires_at: new Date(deadline).toISOString() };
    },
    { durable: false },
  );
}

/**
 * Run one operation that uses a workspace, extending its TTL before (so the
 * reaper cannot take it mid-operation) and after (idle time counts from the
 * end of the last use). A missing workspace is left for `fn` to report: its
 * own error says what was not found.
 */
export async function withUse<R>(workspaces: WorkspaceService, workspaceId: string, fn: () => Promise<R>, busySeconds = 0): Promise<R> {
  await extendTtl(workspaces, workspaceId, busySeconds).catch(ignoreMissing);
  try {
    return await fn();
  } finally {
    await extendTtl(workspaces, workspaceId).catch(ignoreMissing);
  }
}

/** A bad id, a workspace deleted meanwhile or a corrupt record is the operation's to report, in its own words. */
function ignoreMissing(error: unknown): void {
  if (error instanceof PyroError && (error.code === "not_found" || error.code === "corrupt_state")) return;
  throw error;
}

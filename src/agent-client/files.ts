import { FrameKind, type ControlMessage } from "../protocol/index.js";
import { PyroError } from "../util/errors.js";
import type { AgentClient } from "./client.js";
import { agentError, malformed, sanitizeGuestText } from "./errors.js";

/** The capability of the agent's file ops (protocol/SPEC.md "file ops"). */
export const FILE_OPS_CAPABILITY = "files.ops";

/** One entry of a guest listing; `path` is relative to the listing's root. */
export interface GuestFileEntry {
  path: string;
  kind: "file" | "directory" | "symlink" | "other";
  size_bytes: number;
  mode: string;
  link_target: string | null;
}

/** A listing as the agent reported it, checked; `path` is relative to the root ("" is the root). */
export interface GuestListing {
  path: string;
  entries: GuestFileEntry[];
  truncated: boolean;
}

/** What `file_read` sent: the bytes (at most the asked bound) and the file's facts (`path` relative to the root). */
export interface GuestFileRead {
  path: string;
  content: Buffer;
  size_bytes: number;
  truncated: boolean;
  mode: string;
}

/** What `file_write` did (`path` relative to the root). */
export interface GuestFileWrite {
  path: string;
  bytes_written: number;
  size_bytes: number;
  created: boolean;
}

/**
 * One change of an all-or-nothing `file_apply`; `expect` null: no file may be
 * there; `executable` true/false gives or takes away execute bits (null or absent: keep).
 */
export interface GuestFileChange {
  path: string;
  action: "write" | "delete";
  content?: Buffer;
  expect: { size: number; crc32: number } | null;
  executable?: boolean | null;
}

const isCount = (v: unknown): v is number => typeof v === "number" && Number.isSafeInteger(v) && v >= 0;
const KINDS = new Set(["file", "directory", "symlink", "other"]);
/** The longest guest path or link target kept (PATH_MAX). */
const MAX_PATH = 4096;

/**
 * A path the agent reports, relative to the root it was given: checked to be
 * clean (no "..", ".", empty or absolute part), so it names something under
 * that root whatever the guest sent. Control characters are shown as "?".
 */
function guestPath(op: string, v: unknown, allowRoot = false): string {
  if (typeof v !== "string" || v.length > MAX_PATH || (v === "" && !allowRoot)) throw malformed(op, "path");
  if (v !== "" && v.split("/").some((part) => part === "" || part === "." || part === ".." || part.includes("\0"))) throw malformed(op, "path");
  return sanitizeGuestText(v, MAX_PATH);
}

function requireOps(client: AgentClient): void {
  if (!client.has(FILE_OPS_CAPABILITY)) {
    throw new PyroError("unsupported", "this machine's guest agent has no file operations (it predates them)", {
      hint: "re-pull the environment (`pyro env pull ENV`) and reset or recreate the workspace, or use workspace exec",
    });
  }
}

/** List `path` (relative to `root`) in the guest; the answer is checked, never trusted. */
export async function listGuestFiles(client: AgentClient, root: string, path: string, recursive: boolean, maxEntries: number): Promise<GuestListing> {
  requireOps(client);
  const m = await client.request("file_list", { root, path, recursive, max_entries: maxEntries });
  if (!Array.isArray(m.entries) || m.entries.length > maxEntries || typeof m.truncated !== "boolean") throw malformed("file_list", "result");
  const entries = (m.entries as unknown[]).map((raw): GuestFileEntry => {
    const e = raw as Record<string, unknown>;
    if (typeof e !== "object" || e === null || !KINDS.has(e.kind as string) || !isCount(e.size_bytes) || typeof e.mode !== "string" || !/^[0-7]{4}$/.test(e.mode)) {
      throw malformed("file_list", "entry");
    }
    const target = e.link_target === undefined || e.link_target === null ? null : sanitizeGuestText(e.link_target, MAX_PATH);
    return { path: guestPath("file_list", e.path), kind: e.kind as GuestFileEntry["kind"], size_bytes: e.size_bytes, mode: e.mode, link_target: target };
  });
  return { path: guestPath("file_list", m.path, true), entries, truncated: m.truncated };
}

/**
 * Read at most `maxBytes` of `path` in the guest. The host keeps at most
 * `maxBytes`: an agent sending more fails the call.
 */
export function readGuestFile(client: AgentClient, root: string, path: string, maxBytes: number): Promise<GuestFileRead> {
  requireOps(client);
  return new Promise<GuestFileRead>((resolve, reject) => {
    const chunks: Buffer[] = [];
    let received = 0;
    let failed = false;
    const fail = (error: PyroError): void => {
      if (!failed) reject(error);
      failed = true;
    };
    client.open(
      "file_read",
      { root, path, max_bytes: maxBytes },
      {
        onData: (kind, payload) => {
          if (failed || kind !== FrameKind.STDOUT || payload.length === 0) return;
          received += payload.length;
          if (received > maxBytes) return fail(malformed("file_read", `stream (more than the ${maxBytes} bytes asked for)`));
          chunks.push(payload);
        },
        onFinal: (m: ControlMessage) => {
          if (failed) return;
          if (m.type === "error") return fail(agentError("file_read", m));
          if (!isCount(m.size_bytes) || m.bytes_read !== received || typeof m.truncated !== "boolean" || typeof m.mode !== "string") {
            return fail(malformed("file_read", "result"));
          }
          try {
            resolve({ path: guestPath("file_read", m.path), content: Buffer.concat(chunks), size_bytes: m.size_bytes, truncated: m.truncated, mode: m.mode });
          } catch (error) {
            fail(error as PyroError);
          }
        },
        onFail: fail,
      },
    );
  });
}

/** Send `chunk`s of `data` as STDIN frames (each under the 1 MiB frame bound), then the end. */
async function upload(stream: { stdin(d: Uint8Array): Promise<void>; stdinEnd(): Promise<void> }, data: Buffer): Promise<void> {
  const FRAME = 512 * 1024;
  for (let at = 0; at < data.length; at += FRAME) await stream.stdin(data.subarray(at, at + FRAME));
  await stream.stdinEnd();
}

function requestWithUpload(client: AgentClient, op: string, body: Record<string, unknown>, data: Buffer): Promise<ControlMessage> {
  return new Promise<ControlMessage>((resolve, reject) => {
    const stream = client.open(op, body, {
      onFinal: (m) => (m.type === "error" ? reject(agentError(op, m)) : resolve(m)),
      onFail: reject,
    });
    // A failing connection ends the upload; onFail reports it.
    upload(stream, data).catch(() => undefined);
  });
}

/** Replace `path` in the guest with `data` (as a shell's `>`; parents made, and with them a new file, given to `owner` when set). */
export async function writeGuestFile(client: AgentClient, root: string, path: string, data: Buffer, owner?: { uid: number; gid: number }): Promise<GuestFileWrite> {
  requireOps(client);
  const m = await requestWithUpload(client, "file_write", { root, path, max_bytes: data.length, ...(owner ? { owner } : {}) }, data);
  if (!isCount(m.bytes_written) || !isCount(m.size_bytes) || typeof m.created !== "boolean") throw malformed("file_write", "result");
  return { path: guestPath("file_write", m.path), bytes_written: m.bytes_written, size_bytes: m.size_bytes, created: m.created };
}

/** Make every change in the guest, or none (protocol/SPEC.md "file_apply"); new files and directories go to `owner` when set. */
export async function applyGuestChanges(client: AgentClient, root: string, changes: GuestFileChange[], owner?: { uid: number; gid: number }): Promise<void> {
  requireOps(client);
  const contents = changes.flatMap((c) => (c.action === "write" ? [c.content ?? Buffer.alloc(0)] : []));
  const wire = changes.map((c) => ({
    path: c.path,
    action: c.action,
    size: c.action === "write" ? (c.content?.length ?? 0) : 0,
    expect: c.expect,
    executable: c.executable ?? null,
  }));
  await requestWithUpload(client, "file_apply", { root, changes: wire, ...(owner ? { owner } : {}) }, Buffer.concat(contents));
}

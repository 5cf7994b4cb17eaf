import { randomBytes } from "node:crypto";
import { mkdir, readdir, readFile } from "node:fs/promises";
import { join } from "node:path";
import type { MachineHandle } from "../../runtime/backend.js";
import { writeFileAtomic } from "../../util/atomic-file.js";
import { PyroError } from "../../util/errors.js";
import type { CommandState } from "../../util/vocabulary.js";

/**
 * What the host keeps about one background command
 * (`<workspace>/commands/<id>.json`): enough to answer for it once its
 * machine is gone (`lost`), and whether its end is in the history yet. The
 * output itself lives only in the guest. Never secret values: `command` is
 * stored redacted.
 */
export interface CommandRecord {
  command_id: string;
  command: string;
  /** The machine it runs on: `pid:start time` of the machine's host process. */
  machine: string;
  state: CommandState;
  pid: number | null;
  exit_code: number | null;
  signal: string | null;
  started_at: string;
  ended_at: string | null;
  duration_ms: number;
  output_bytes: number | null;
  detail: string | null;
  /** Its `workspace logs` sequence once recorded there. */
  sequence: number | null;
}

const ID_PATTERN = /^cmd-[0-9a-f]{12}$/;

/** A fresh command id such as `cmd-1a2b3c4d5e6f`. */
export function newCommandId(): string {
  return `cmd-${randomBytes(6).toString("hex")}`;
}

/** The identity of a machine's host process: a reset, stop or restart changes it. */
export function machineIdentity(handle: MachineHandle | null): string {
  return handle && handle.pid > 0 ? `${handle.pid}:${handle.pidStartTime ?? ""}` : "";
}

function notFound(workspaceId: string, commandId: string): PyroError {
  return new PyroError("not_found", `no background command ${JSON.stringify(commandId)} in workspace ${workspaceId}`, {
    hint: `command ids look like cmd-0123456789ab, as \`workspace exec --background\` returned it; \`pyro workspace command list ${workspaceId}\` shows them`,
  });
}

/** The command records of one workspace directory. */
export class CommandRecords {
  constructor(
    private readonly dir: string,
    private readonly workspaceId: string,
  ) {}

  private path(id: string): string {
    // Checked before it touches a path: `../x` is simply not found.
    if (!ID_PATTERN.test(id)) throw notFound(this.workspaceId, id);
    return join(this.dir, `${id}.json`);
  }

  /** One record; `not_found` (with the fix) for an id this workspace never had. */
  async read(id: string): Promise<CommandRecord> {
    const path = this.path(id);
    try {
      return JSON.parse(await readFile(path, "utf8")) as CommandRecord;
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === "ENOENT") throw notFound(this.workspaceId, id);
      throw error;
    }
  }

  /** Write (create or replace) a record atomically. */
  async write(record: CommandRecord): Promise<void> {
    await mkdir(this.dir, { recursive: true, mode: 0o700 });
    // Losing the last write in a crash costs a re-observation, never a wrong answer.
    await writeFileAtomic(this.path(record.command_id), JSON.stringify(record), { durable: false });
  }

  /** Every record, oldest first. */
  async list(): Promise<CommandRecord[]> {
    let names: string[];
    try {
      names = await readdir(this.dir);
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === "ENOENT") return [];
      throw error;
    }
    const records: CommandRecord[] = [];
    for (const name of names) {
      const id = name.replace(/\.json$/, "");
      if (!ID_PATTERN.test(id) || name !== `${id}.json`) continue;
      records.push(await this.read(id).catch(() => null as never));
    }
    return records.filter(Boolean).sort((a, b) => a.started_at.localeCompare(b.started_at));
  }
}

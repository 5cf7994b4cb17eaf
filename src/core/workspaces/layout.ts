import { join } from "node:path";

/** Files of one workspace under its record directory. */
export function workspaceFiles(dir: string) {
  return {
    machine: join(dir, "machine"),
    baseline: join(dir, "baseline.tar"),
    snapshots: join(dir, "snapshots"),
    history: join(dir, "history.jsonl"),
    secrets: join(dir, "secrets.json"),
    /** Host records of background commands (their output stays in the guest). */
    commands: join(dir, "commands"),
  };
}

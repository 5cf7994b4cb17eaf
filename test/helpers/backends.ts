import { spawnSync } from "node:child_process";

function has(tool: string): boolean {
  return spawnSync("sh", ["-c", `command -v ${tool}`]).status === 0;
}

/**
 * The backends a parametrised suite runs on, each with the host condition it
 * needs. CI installs all of them (scripts/setup.sh), so none is skipped there.
 */
export const SUITE_BACKENDS = [
  { name: "sandbox" as const, available: has("bwrap") && has("unshare") && process.getuid?.() === 0, needs: "bwrap, unshare and root" },
  { name: "qemu" as const, available: has("qemu-system-x86_64"), needs: "qemu-system-x86_64" },
];

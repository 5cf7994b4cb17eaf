import { readFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import type { GuestBootArgs } from "../../src/runtime/guest-boot/index.js";

/** One case of protocol/boot/vectors.json. */
export interface BootVector {
  name: string;
  source: string;
  args: GuestBootArgs;
  cmdline: string;
  initramfs: { probe: boolean; init?: string; init_args?: string; root_mode?: string; net?: string; skip_modules?: string };
  agent?: { serve: string[]; transport: string; hostname: string; prewarm: boolean; activate: boolean; dns: string };
}

/** The golden boot vectors shared with the Go tests. */
export const BOOT_VECTORS_FILE = join(dirname(fileURLToPath(import.meta.url)), "..", "..", "protocol", "boot", "vectors.json");

/** Parsed {@link BOOT_VECTORS_FILE}. */
export function bootVectors(): { keys: Record<string, string>; cases: BootVector[] } {
  return JSON.parse(readFileSync(BOOT_VECTORS_FILE, "utf8")) as { keys: Record<string, string>; cases: BootVector[] };
}

/** The case named `name` (throws when missing, so a renamed case fails loudly). */
export function bootVector(name: string): BootVector {
  const found = bootVectors().cases.find((c) => c.name === name);
  if (!found) throw new Error(`no boot vector named ${name} in ${BOOT_VECTORS_FILE}`);
  return found;
}

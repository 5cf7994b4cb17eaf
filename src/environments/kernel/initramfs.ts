import { readFileSync, readdirSync, existsSync } from "node:fs";
import { join, relative } from "node:path";
import { gzipSync } from "node:zlib";
import { writeNewcCpio, type CpioEntry } from "./cpio.js";
import { INIT_SCRIPT } from "./init-script.js";
import { loadWaves, moduleNameOf, readModuleInfo, resolveLoadOrder, stripModuleSignature, type ModuleInfo } from "./modinfo.js";

/**
 * Modules the guest needs before its root is mounted, when the kernel has them
 * as modules (built-in ones are skipped): virtio transports (mmio for
 * `-M microvm`, pci for q35), the root disk, the agent's serial ports, the
 * NIC, an entropy source and vsock.
 */
export const WANTED_MODULES = [
  "virtio_mmio",
  "virtio_pci",
  "virtio_blk",
  "virtio_console",
  "virtio_net",
  "virtio_rng",
  "vsock",
  "vmw_vsock_virtio_transport",
] as const;

/** Busybox applets `/init` calls, linked in `/bin`. */
const APPLETS = ["sh", "mount", "umount", "mkdir", "cat", "insmod", "usleep", "sleep", "ip", "rm", "switch_root", "reboot", "poweroff", "sync", "echo"];

function listModules(dir: string): string[] {
  const out: string[] = [];
  const walk = (d: string): void => {
    for (const entry of readdirSync(d, { withFileTypes: true })) {
      const p = join(d, entry.name);
      if (entry.isDirectory()) walk(p);
      else if (entry.name.endsWith(".ko")) out.push(p);
    }
  };
  walk(dir);
  return out;
}

/** The modules of `modulesDir` (`lib/modules/<release>`) the initramfs loads, in order. */
export function selectModules(modulesDir: string): Array<ModuleInfo & { path: string }> {
  const builtinFile = join(modulesDir, "modules.builtin");
  const builtin = new Set(
    existsSync(builtinFile)
      ? readFileSync(builtinFile, "utf8").split("\n").filter(Boolean).map((l) => moduleNameOf(l))
      : [],
  );
  const byName = new Map<string, ModuleInfo & { path: string }>();
  for (const path of listModules(join(modulesDir, "kernel"))) {
    byName.set(moduleNameOf(path), { ...readModuleInfo(path), path });
  }
  return resolveLoadOrder(WANTED_MODULES, byName, builtin);
}

/** What goes into the initramfs. */
export interface InitramfsInputs {
  /** `lib/modules/<release>` of the unpacked kernel package. */
  modulesDir: string;
  /** A static busybox binary. */
  busybox: string;
  /** gzip the archive (the kernel unpacks an uncompressed one faster under TCG). */
  compress?: boolean;
}

/**
 * Build the initramfs image: busybox, the modules (signatures stripped),
 * `/lib/modules/load` (one line per wave of modules that load in parallel,
 * waves in dependency order) and `/init`.
 */
export function buildInitramfs(inputs: InitramfsInputs): { image: Buffer; modules: string[] } {
  const modules = selectModules(inputs.modulesDir);
  const entries: CpioEntry[] = [
    { kind: "dir", path: "bin" },
    { kind: "dir", path: "dev" },
    { kind: "chardev", path: "dev/console", major: 5, minor: 1 },
    { kind: "chardev", path: "dev/null", major: 1, minor: 3, mode: 0o666 },
    { kind: "dir", path: "proc" },
    { kind: "dir", path: "sys" },
    { kind: "dir", path: "run" },
    { kind: "dir", path: "newroot" },
    { kind: "dir", path: "lib" },
    { kind: "dir", path: "lib/modules" },
    { kind: "file", path: "bin/busybox", data: readFileSync(inputs.busybox), mode: 0o755 },
    ...APPLETS.map((a): CpioEntry => ({ kind: "symlink", path: `bin/${a}`, target: "busybox" })),
  ];
  for (const m of modules) {
    entries.push({ kind: "file", path: `lib/modules/${m.name}.ko`, data: stripModuleSignature(readFileSync(m.path)) });
  }
  const waves = loadWaves(modules).map((wave) => wave.map((name) => `${name}.ko`).join(" "));
  entries.push({ kind: "file", path: "lib/modules/load", data: Buffer.from(waves.map((w) => `${w}\n`).join("")) });
  entries.push({ kind: "file", path: "init", data: Buffer.from(INIT_SCRIPT), mode: 0o755 });
  const cpio = writeNewcCpio(entries);
  return { image: inputs.compress ? gzipSync(cpio, { level: 6 }) : cpio, modules: modules.map((m) => relative(inputs.modulesDir, m.path)) };
}

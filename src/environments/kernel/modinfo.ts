import { readFileSync } from "node:fs";

/** The `.modinfo` key/value pairs of a kernel module (`.ko`, an ELF64 relocatable). */
export interface ModuleInfo {
  name: string;
  /** Module names this module needs loaded first. */
  depends: string[];
}

/**
 * Read the `.modinfo` section of an uncompressed kernel module. Debian's .deb
 * ships no modules.dep (depmod runs at install time), so dependencies come from
 * each module's own `depends=` entry.
 */
export function readModuleInfo(path: string): ModuleInfo {
  const buf = readFileSync(path);
  if (buf.length < 64 || buf.readUInt32BE(0) !== 0x7f454c46 || buf[4] !== 2 || buf[5] !== 1) {
    throw new Error(`${path}: not a little-endian ELF64 kernel module`);
  }
  const shoff = Number(buf.readBigUInt64LE(0x28));
  const shentsize = buf.readUInt16LE(0x3a);
  const shnum = buf.readUInt16LE(0x3c);
  const shstrndx = buf.readUInt16LE(0x3e);
  const section = (i: number): { name: number; offset: number; size: number } => {
    const base = shoff + i * shentsize;
    return {
      name: buf.readUInt32LE(base),
      offset: Number(buf.readBigUInt64LE(base + 0x18)),
      size: Number(buf.readBigUInt64LE(base + 0x20)),
    };
  };
  const strtab = section(shstrndx);
  const sectionName = (off: number): string => {
    const start = strtab.offset + off;
    return buf.toString("latin1", start, buf.indexOf(0, start));
  };
  const fields = new Map<string, string>();
  for (let i = 0; i < shnum; i++) {
    const s = section(i);
    if (sectionName(s.name) !== ".modinfo") continue;
    for (const entry of buf.toString("latin1", s.offset, s.offset + s.size).split("\0")) {
      const eq = entry.indexOf("=");
      if (eq > 0 && !fields.has(entry.slice(0, eq))) fields.set(entry.slice(0, eq), entry.slice(eq + 1));
    }
  }
  const fileName = moduleNameOf(path);
  const depends = (fields.get("depends") ?? "").split(",").filter((d) => d !== "").map(normalizeModuleName);
  return { name: normalizeModuleName(fields.get("name") ?? fileName), depends };
}

/** `kernel/drivers/char/hw_random/virtio-rng.ko` → `virtio_rng`. */
export function moduleNameOf(path: string): string {
  const base = path.slice(path.lastIndexOf("/") + 1).replace(/\.ko(\.(xz|zst|gz))?$/, "");
  return normalizeModuleName(base);
}

/** Module names treat `-` and `_` alike; the kernel uses `_`. */
export function normalizeModuleName(name: string): string {
  return name.replace(/-/g, "_");
}

/**
 * The load order for `wanted` modules and their dependencies, dependencies
 * first. Modules built into the kernel (`builtin`) and wanted modules this
 * kernel does not have are skipped; a missing dependency is an error.
 */
export function resolveLoadOrder(
  wanted: readonly string[],
  available: ReadonlyMap<string, ModuleInfo & { path: string }>,
  builtin: ReadonlySet<string>,
): Array<ModuleInfo & { path: string }> {
  const order: Array<ModuleInfo & { path: string }> = [];
  const done = new Set<string>();
  const visit = (name: string, requiredBy: string | undefined): void => {
    if (done.has(name) || builtin.has(name)) return;
    const mod = available.get(name);
    if (!mod) {
      if (requiredBy === undefined) return;
      throw new Error(`module ${name} (needed by ${requiredBy}) is not in this kernel`);
    }
    done.add(name);
    for (const dep of mod.depends) visit(dep, name);
    order.push(mod);
  };
  for (const name of wanted) visit(normalizeModuleName(name), undefined);
  return order;
}

/**
 * Split a load order (dependencies first) into waves: every module of a wave
 * depends only on modules of earlier waves, so `/init` loads each wave's
 * modules in parallel. Dependencies outside `order` (built-ins) are ignored.
 */
export function loadWaves(order: ReadonlyArray<ModuleInfo>): string[][] {
  const depth = new Map<string, number>();
  const waves: string[][] = [];
  for (const mod of order) {
    let d = 0;
    for (const dep of mod.depends) {
      const dd = depth.get(dep);
      if (dd !== undefined) d = Math.max(d, dd + 1);
    }
    depth.set(mod.name, d);
    (waves[d] ??= []).push(mod.name);
  }
  return waves;
}

const SIGNATURE_MAGIC = Buffer.from("~Module signature appended~\n");

/**
 * A module file without its appended signature (the kernel only checks one
 * when it enforces signatures, which Debian's cloud kernel does not without
 * Secure Boot; verifying one costs time under emulation). Unsigned input is
 * returned as is. Layout: module ‖ signature ‖ signer ‖ key id ‖
 * struct module_signature (12 bytes, lengths at 3, 4 and big-endian 8..12) ‖ magic.
 */
export function stripModuleSignature(data: Buffer): Buffer {
  if (data.length < SIGNATURE_MAGIC.length + 12) return data;
  const magicAt = data.length - SIGNATURE_MAGIC.length;
  if (!data.subarray(magicAt).equals(SIGNATURE_MAGIC)) return data;
  const info = magicAt - 12;
  const signerLen = data[info + 3] ?? 0;
  const keyIdLen = data[info + 4] ?? 0;
  const sigLen = data.readUInt32BE(info + 8);
  const end = info - sigLen - signerLen - keyIdLen;
  if (end <= 0) throw new Error("corrupt module signature trailer");
  return data.subarray(0, end);
}

import { readFileSync } from "node:fs";
import type { EnforcedLimits, MachineSpec } from "../backend.js";
import { createMachineCgroup, findHierarchies, procsFiles, sweepStaleCgroups, type Controller } from "./cgroup.js";

/** Most processes (threads included) one sandbox may run at once: a fork bomb stops here. */
export const SANDBOX_PIDS_MAX = 1024;

/** How one sandbox is held to its `mem_mib`, `vcpu_count` and process count. */
export interface SandboxLimits {
  /** What the result reports: only what is really enforced. */
  enforced: EnforcedLimits;
  /** The machine's cgroup directories, removed when it is killed. */
  cgroupDirs: string[];
  /** `cgroup.procs` files the launcher writes its pid to before it forks anything. */
  cgroupProcs: string[];
  /** Argv run before bwrap: CPU affinity, so `nproc` in the guest says `vcpu_count`. */
  prefix: string[];
}

/**
 * Prepare the limits of one sandbox before it starts. As root with cgroups
 * (v2, or v1 per controller on hybrid hosts): memory (and memory+swap), a
 * CPU quota of `vcpu_count` CPUs and a pids limit, in a group of its own.
 * Without root or cgroups only CPU affinity is left, and the result says so
 * (an address-space rlimit cannot stand in for memory: it kills the Go agent
 * at 128 MiB and bounds each process, not the sandbox).
 */
export async function prepareSandboxLimits(spec: Pick<MachineSpec, "id" | "vcpuCount" | "memMib">): Promise<SandboxLimits> {
  let enforced: Controller[] = [];
  let cgroupDirs: string[] = [];
  if (isRoot()) {
    const hierarchies = findHierarchies();
    await sweepStaleCgroups(hierarchies);
    const group = await createMachineCgroup(spec.id, { memMib: spec.memMib, vcpuCount: spec.vcpuCount, pidsMax: SANDBOX_PIDS_MAX }, hierarchies);
    enforced = group.enforced;
    cgroupDirs = group.dirs;
  }
  const cpus = pickCpus(spec.id, spec.vcpuCount);
  return {
    enforced: {
      mem_mib: enforced.includes("memory") ? "cgroup" : "none",
      vcpu_count: enforced.includes("cpu") ? "cgroup" : cpus ? "affinity" : "none",
      pids_max: enforced.includes("pids") ? SANDBOX_PIDS_MAX : null,
    },
    cgroupDirs,
    cgroupProcs: procsFiles({ dirs: cgroupDirs, enforced }),
    prefix: cpus ? ["taskset", "--cpu-list", cpus.join(",")] : [],
  };
}

/** One line for `doctor`: which sandbox limits this host can enforce, and what is missing. */
export function describeSandboxLimits(): string {
  if (!isRoot()) return "mem_mib and pids not enforced (cgroups need root); vcpu_count as CPU affinity only";
  const hierarchies = findHierarchies();
  const found = (c: Controller) => hierarchies.find((h) => h.controller === c);
  const parts = (["memory", "cpu", "pids"] as const).map((c) => {
    const h = found(c);
    return h ? `${c} (cgroup v${h.version})` : `${c} NOT enforced (no cgroup controller)`;
  });
  return `${parts.join(", ")}; CPUs pinned with taskset; pids max ${SANDBOX_PIDS_MAX}`;
}

/**
 * `vcpu_count` CPUs out of those this process may use, starting at an offset
 * taken from the machine id so that sandboxes spread over the host's CPUs;
 * null when the machine may use them all anyway.
 */
export function pickCpus(id: string, vcpuCount: number, allowed = allowedCpus()): number[] | null {
  if (allowed.length === 0 || vcpuCount >= allowed.length) return null;
  let hash = 0;
  for (const char of id) hash = (hash * 31 + char.charCodeAt(0)) >>> 0;
  return Array.from({ length: vcpuCount }, (_, i) => allowed[(hash + i) % allowed.length]!).sort((a, b) => a - b);
}

/** The CPUs in this process's affinity mask (`Cpus_allowed_list`, e.g. `0-3,6`). */
function allowedCpus(): number[] {
  let list = "";
  try {
    list = /^Cpus_allowed_list:\s*(\S+)/m.exec(readFileSync("/proc/self/status", "utf8"))?.[1] ?? "";
  } catch {
    return [];
  }
  return list.split(",").flatMap((range) => {
    const [from, to] = range.split("-").map(Number);
    if (from === undefined || !Number.isInteger(from)) return [];
    const last = to === undefined ? from : to;
    return Array.from({ length: last - from + 1 }, (_, i) => from + i);
  });
}

function isRoot(): boolean {
  return process.getuid?.() === 0;
}

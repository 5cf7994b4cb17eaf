import { join } from "node:path";
import { JAIL_FILES, VM_FILES } from "./constants.js";

/** Where one machine's files live on the host, and how Firecracker names them. */
export interface VmLayout {
  jailed: boolean;
  /** The persistent per-VM root disk (always in the VM dir, outside any chroot). */
  rootDisk: string;
  /** API socket as seen from the host. */
  apiSocket: string;
  /** Vsock Unix socket as seen from the host. */
  vsockSocket: string;
  /** Firecracker log file on the host. */
  logFile: string;
  /** Metrics file on the host. */
  metricsFile: string;
  /** Serial console (Firecracker's stdout) on the host. */
  consoleFile: string;
  /** Firecracker's stderr on the host. */
  stderrFile: string;
  /** Jailer chroot base dir (`--chroot-base-dir`) when jailed. */
  jailBase?: string;
  /** `<jailBase>/firecracker/<id>/root` when jailed. */
  chrootRoot?: string;
  /** The same files as the Firecracker process names them (chroot-relative when jailed). */
  vmm: {
    apiSocket: string;
    vsockSocket: string;
    rootDisk: string;
    log: string;
    metrics: string;
  };
}

/** Jailer ids allow `[A-Za-z0-9-]`, at most 64 characters. */
export function jailerId(id: string): string {
  const cleaned = id.replace(/[^A-Za-z0-9-]/g, "-").slice(0, 64);
  return cleaned === "" ? "pyro" : cleaned;
}

/**
 * The file layout of a machine in directory `dir`: plain, or jailed when
 * `jailExecName` (the basename of the Firecracker binary the jailer runs, which
 * names the chroot directory) is given.
 */
export function vmLayout(dir: string, id: string, jailExecName?: string): VmLayout {
  const jailed = jailExecName !== undefined;
  const common = {
    rootDisk: join(dir, VM_FILES.rootDisk),
    consoleFile: join(dir, VM_FILES.console),
    stderrFile: join(dir, VM_FILES.stderr),
  };
  if (!jailed) {
    const apiSocket = join(dir, VM_FILES.apiSocket);
    const vsockSocket = join(dir, VM_FILES.vsockSocket);
    const logFile = join(dir, VM_FILES.log);
    const metricsFile = join(dir, VM_FILES.metrics);
    return {
      jailed,
      ...common,
      apiSocket,
      vsockSocket,
      logFile,
      metricsFile,
      vmm: { apiSocket, vsockSocket, rootDisk: common.rootDisk, log: logFile, metrics: metricsFile },
    };
  }
  const jailBase = join(dir, VM_FILES.jailBase);
  const chrootRoot = join(jailBase, jailExecName, jailerId(id), "root");
  const inJail = (name: string): string => `/${name}`;
  return {
    jailed,
    ...common,
    jailBase,
    chrootRoot,
    apiSocket: join(chrootRoot, JAIL_FILES.apiSocket),
    vsockSocket: join(chrootRoot, JAIL_FILES.vsockSocket),
    logFile: join(chrootRoot, JAIL_FILES.log),
    metricsFile: join(chrootRoot, JAIL_FILES.metrics),
    vmm: {
      apiSocket: inJail(JAIL_FILES.apiSocket),
      vsockSocket: inJail(JAIL_FILES.vsockSocket),
      rootDisk: inJail(JAIL_FILES.rootDisk),
      log: inJail(JAIL_FILES.log),
      metrics: inJail(JAIL_FILES.metrics),
    },
  };
}

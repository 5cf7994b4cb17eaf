import { spawn } from "node:child_process";
import { closeSync, constants, openSync, readFileSync } from "node:fs";
import { mkdir, mkdtemp, readFile, rm } from "node:fs/promises";
import { dirname, join } from "node:path";
import { writeFileAtomic } from "../../util/atomic-file.js";
import type { QemuAccel } from "./args.js";
import { renderCmdline } from "../guest-boot/index.js";

/** What decided the accelerator, for `doctor` and errors. */
export interface AccelDecision {
  accel: QemuAccel;
  /** /dev/kvm opened read-write. */
  kvmAccessible: boolean;
  /** A standard guest kernel reached its init under KVM (undefined: not probed). */
  kvmRunsStandardGuest: boolean | undefined;
  reason: string;
}

/** What the probe needs: the binary and a kernel + initramfs built by `ensureKernel`. */
export interface ProbeInput {
  qemu: string;
  kernel?: { vmlinuz: string; initramfs: string; release: string };
  /** Where the probe result is cached (per host boot, binary and kernel); the probe's scratch files go next to it. */
  cacheFile: string;
  /** An accelerator forced by the configuration (`PYRO_QEMU_ACCEL`). */
  forced?: QemuAccel | undefined;
  kvmPath?: string;
  /** How long the probe guest may take to reach its init (default 5 s; real KVM needs < 1 s). */
  probeTimeoutMs?: number;
}

/** Marker the initramfs prints when booted with `pyro.probe`. */
const PROBE_MARKER = "pyro-probe-ok";

function kvmAccessible(path: string): boolean {
  try {
    closeSync(openSync(path, constants.O_RDWR));
    return true;
  } catch {
    return false;
  }
}

function bootId(): string {
  try {
    return readFileSync("/proc/sys/kernel/random/boot_id", "utf8").trim();
  } catch {
    return "unknown";
  }
}

/**
 * Choose KVM or TCG. `PYRO_QEMU_ACCEL=tcg|kvm` forces one. Otherwise KVM is
 * used only when /dev/kvm opens read-write AND a probe boot of the real guest
 * kernel under `-accel kvm` reaches the initramfs within a few seconds: some
 * hosts expose a /dev/kvm that runs only special (PVM) guest kernels, where a
 * standard kernel hangs. The probe result is cached per host boot, QEMU
 * binary and kernel release. Without a kernel to probe, KVM counts as unusable.
 */
export async function decideAccel(input: ProbeInput): Promise<AccelDecision> {
  const forced = input.forced;
  const accessible = kvmAccessible(input.kvmPath ?? "/dev/kvm");
  if (forced === "tcg") return { accel: "tcg", kvmAccessible: accessible, kvmRunsStandardGuest: undefined, reason: "PYRO_QEMU_ACCEL=tcg" };
  if (forced === "kvm") return { accel: "kvm", kvmAccessible: accessible, kvmRunsStandardGuest: undefined, reason: "PYRO_QEMU_ACCEL=kvm" };
  if (!accessible) return { accel: "tcg", kvmAccessible: false, kvmRunsStandardGuest: undefined, reason: "/dev/kvm is missing or not read-writable" };
  if (!input.kernel) return { accel: "tcg", kvmAccessible: true, kvmRunsStandardGuest: undefined, reason: "no guest kernel installed to probe KVM with" };
  const ok = await kvmRunsStandardGuest({ ...input, kernel: input.kernel });
  return ok
    ? { accel: "kvm", kvmAccessible: true, kvmRunsStandardGuest: true, reason: "KVM probe boot succeeded" }
    : { accel: "tcg", kvmAccessible: true, kvmRunsStandardGuest: false, reason: "a standard guest kernel does not boot under this host's KVM (probe timed out)" };
}

/**
 * Whether a standard guest kernel reaches its init under this host's KVM: a
 * probe boot of `kernel` under `qemu -accel kvm` (≤ `probeTimeoutMs`, default
 * 5 s), cached in `cacheFile` per host boot, QEMU binary and kernel release.
 * The one answer to "can a KVM guest boot here" for every VM backend: QEMU
 * falls back to TCG on false, Firecracker (KVM only) is unusable.
 */
export async function kvmRunsStandardGuest(
  input: Pick<ProbeInput, "qemu" | "cacheFile" | "probeTimeoutMs"> & { kernel: NonNullable<ProbeInput["kernel"]> },
): Promise<boolean> {
  const key = `${bootId()} ${input.qemu} ${input.kernel.release}`;
  // One probe per process and cache file: doctor asks QEMU and Firecracker at once.
  const memo = `${input.cacheFile}\0${key}`;
  let probe = probesInFlight.get(memo);
  if (!probe) {
    probe = (async () => {
      let ok = await readCached(input.cacheFile, key);
      if (ok === undefined) {
        await mkdir(dirname(input.cacheFile), { recursive: true });
        ok = await probeKvm(input.qemu, input.kernel, dirname(input.cacheFile), input.probeTimeoutMs ?? 5000);
        await writeFileAtomic(input.cacheFile, JSON.stringify({ key, kvm_runs_standard_guest: ok }), { durable: false }).catch(() => undefined);
      }
      return ok;
    })().finally(() => probesInFlight.delete(memo));
    probesInFlight.set(memo, probe);
  }
  return probe;
}

/** Probes running in this process, by cache file and key. */
const probesInFlight = new Map<string, Promise<boolean>>();

async function readCached(file: string, key: string): Promise<boolean | undefined> {
  try {
    const cached = JSON.parse(await readFile(file, "utf8")) as { key?: string; kvm_runs_standard_guest?: boolean };
    return cached.key === key && typeof cached.kvm_runs_standard_guest === "boolean" ? cached.kvm_runs_standard_guest : undefined;
  } catch {
    return undefined;
  }
}

/** Boot the guest kernel under KVM with `pyro.probe`; true when its initramfs prints the marker in time. */
async function probeKvm(qemu: string, kernel: { vmlinuz: string; initramfs: string }, parent: string, timeoutMs: number): Promise<boolean> {
  // Under pyro's state directory, not /tmp: a Pyro touches only its state and cache directories.
  const dir = await mkdtemp(join(parent, ".kvm-probe-"));
  const log = join(dir, "console.log");
  try {
    // Under coreutils' timeout: a probe guest hangs on a host like this one, and if
    // this process is killed mid-probe nothing else would end it (the fault matrix
    // found such an orphan). SIGTERM to timeout is passed on to QEMU.
    const child = spawn(
      "timeout",
      [
        "-s", "KILL", String(Math.ceil(timeoutMs / 1000) + 2), qemu,
        "-nodefaults", "-no-user-config", "-nographic", "-no-reboot",
        "-machine", "microvm,acpi=on,pit=on,pic=on,rtc=on", "-accel", "kvm", "-cpu", "host", "-smp", "1", "-m", "256M",
        "-kernel", kernel.vmlinuz, "-initrd", kernel.initramfs,
        "-append", renderCmdline({ quiet: true, panic: -1, pciOff: true, probe: true }),
        "-serial", `file:${log}`,
      ],
      { stdio: "ignore" },
    );
    const exited = new Promise<void>((resolve) => {
      child.once("exit", () => resolve());
      child.once("error", () => resolve());
    });
    const deadline = Date.now() + timeoutMs;
    let ok = false;
    while (Date.now() < deadline) {
      const text = await readFile(log, "utf8").catch(() => "");
      if (text.includes(PROBE_MARKER)) {
        ok = true;
        break;
      }
      if (child.exitCode !== null || child.signalCode !== null) break;
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
    if (!ok) ok = (await readFile(log, "utf8").catch(() => "")).includes(PROBE_MARKER);
    child.kill("SIGTERM");
    await exited;
    return ok;
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

import { accessSync, constants, existsSync, readdirSync } from "node:fs";
import type { BackendAvailability } from "../backend.js";
import { findBinary } from "../../util/binaries.js";
import { resolveConfig, type FirecrackerConfig } from "../../util/config.js";

/** Inputs of {@link checkFirecrackerAvailability}, injectable for tests. */
export interface AvailabilityInputs {
  /** Environment whose PATH binaries are looked up on. */
  env: NodeJS.ProcessEnv;
  /** The configured binaries (default: resolved from `env`). */
  firecracker?: FirecrackerConfig;
  /** Whether pyro runs as root (then the jailer is required). */
  root: boolean;
  /** KVM device node (default `/dev/kvm`). */
  kvmPath?: string;
  /** Path of the uncompressed guest kernel, when one is known. */
  vmlinux?: string;
}

const RELEASES = "https://github.com/firecracker-microvm/firecracker/releases";

/**
 * Decide whether Firecracker can run here, checking in order: the firecracker
 * binary, /dev/kvm read-write, the jailer (when root), and the ELF vmlinux.
 * A /dev/kvm node alone never makes it usable: the binary comes first.
 */
export function checkFirecrackerAvailability(inputs: AvailabilityInputs): BackendAvailability {
  const kvmPath = inputs.kvmPath ?? "/dev/kvm";
  const details: BackendAvailability["details"] = { kvm: kvmPath, root: inputs.root };
  const modules = kvmModules();
  if (modules.length > 0) details.kvm_modules = modules.join(",");

  const configured = inputs.firecracker ?? resolveConfig(inputs.env).firecracker;
  const binary = findBinary("firecracker", configured.bin, inputs.env);
  if (!binary) {
    const override = configured.bin;
    return {
      usable: false,
      reason: override
        ? `PYRO_FIRECRACKER_BIN=${override} is not an executable file`
        : "no firecracker binary on PATH and PYRO_FIRECRACKER_BIN is not set",
      fix: `download firecracker-<version>-x86_64.tgz from ${RELEASES}, then set PYRO_FIRECRACKER_BIN to the extracted firecracker binary (or put it on PATH); see docs/firecracker.md`,
      details,
    };
  }
  details.binary = binary;

  const kvmExists = existsSync(kvmPath);
  details.kvm_exists = kvmExists;
  if (!kvmExists) {
    return {
      usable: false,
      reason: `${kvmPath} does not exist: this host has no KVM`,
      fix: "run on bare metal or a VM with nested virtualisation, and load kvm_intel or kvm_amd (modprobe kvm_intel)",
      details,
    };
  }
  const kvmRw = canReadWrite(kvmPath);
  details.kvm_rw = kvmRw;
  if (!kvmRw) {
    return {
      usable: false,
      reason: `${kvmPath} is not readable and writable by this user`,
      fix: `add the user to the kvm group (sudo usermod -aG kvm $USER, then log in again) or grant access: sudo setfacl -m u:$USER:rw ${kvmPath}`,
      details,
    };
  }
  if (modules.length > 0 && !modules.some((m) => m === "kvm_intel" || m === "kvm_amd")) {
    details.kvm_note = `loaded KVM modules (${modules.join(", ")}) include no kvm_intel/kvm_amd; firecracker guests may not boot`;
  }

  if (inputs.root) {
    const jailer = findBinary("jailer", configured.jailerBin, inputs.env);
    if (!jailer) {
      return {
        usable: false,
        reason: "running as root but no jailer binary found (PYRO_JAILER_BIN or jailer on PATH)",
        fix: `the jailer ships in the same release archive as firecracker (${RELEASES}); set PYRO_JAILER_BIN to it, or run pyro as an unprivileged user in the kvm group`,
        details,
      };
    }
    details.jailer = jailer;
  }

  if (inputs.vmlinux !== undefined) {
    const present = existsSync(inputs.vmlinux);
    details.vmlinux = inputs.vmlinux;
    if (!present) {
      return {
        usable: false,
        reason: `the guest kernel ${inputs.vmlinux} (uncompressed ELF vmlinux) is missing`,
        fix: "re-pull the environment (pyro env pull ENV), which extracts vmlinux from the kernel; see docs/firecracker.md",
        details,
      };
    }
  }
  return { usable: true, details };
}

function canReadWrite(path: string): boolean {
  try {
    accessSync(path, constants.R_OK | constants.W_OK);
    return true;
  } catch {
    return false;
  }
}

function kvmModules(): string[] {
  try {
    return readdirSync("/sys/module").filter((name) => name === "kvm" || name.startsWith("kvm_"));
  } catch {
    return [];
  }
}

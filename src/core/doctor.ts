import { accessSync, constants, existsSync, readFileSync } from "node:fs";
import { arch, platform } from "node:os";
import type { OperationResult } from "../contract/index.js";
import type { CoreContext } from "./context.js";
import { backendFromEnv, GUEST_PREFERENCE } from "./machines/select.js";
import { poolOf } from "./pool/pool.js";
import { bootSlotsSummary } from "./machines/boot-slots.js";

function canAccess(path: string, mode: number): boolean {
  try {
    accessSync(path, mode);
    return true;
  } catch {
    return false;
  }
}

function readFlag(path: string): boolean {
  try {
    return readFileSync(path, "utf8").trim() === "1";
  } catch {
    return false;
  }
}

/** Inspect this host: what can boot, what is missing, which backend would run. */
export async function runDoctor(context: CoreContext): Promise<OperationResult<"doctor">> {
  const backends = await Promise.all(
    context.backends.backends.map(async (backend) => {
      const availability = await context.backends.availability(backend.name);
      return {
        name: backend.name,
        usable: availability.usable,
        reason: availability.reason ?? null,
        fix: availability.fix ?? null,
        details: availability.details,
        capabilities: backend.capabilities,
      };
    }),
  );
  let selected: string | null = null;
  let selectedReason: string;
  try {
    const requested = backendFromEnv(context.config);
    const backend = await context.backends.select({ requested, allowHostCompat: false });
    selected = backend.name;
    // Say why each faster backend was passed over (a firecracker binary on a host whose KVM runs no standard guest).
    const passedOver = requested ? [] : GUEST_PREFERENCE.slice(0, Math.max(0, GUEST_PREFERENCE.indexOf(backend.name)));
    const why = passedOver.map((name) => `${name} cannot boot a guest here: ${backends.find((b) => b.name === name)?.reason ?? "unusable"}`);
    selectedReason = requested ? `forced by PYRO_BACKEND` : [`fastest backend that boots a guest here`, ...why].join("; ");
  } catch (error) {
    selectedReason = `${(error as Error).message}; with --allow-host-compat the sandbox backend runs instead`;
  }
  const guest = backends.find((b) => b.name === selected);
  const standardGuests = backends.some((b) => b.usable && b.capabilities.vm_boot && b.details.accel === "kvm");
  return {
    platform: `${platform()}-${arch() === "x64" ? "x86_64" : arch()}`,
    runtime: {
      ok: backends.some((b) => b.usable),
      detail: backends.some((b) => b.usable) ? "at least one backend can run" : "no backend can run on this host",
    },
    kvm: {
      exists: existsSync("/dev/kvm"),
      readable: canAccess("/dev/kvm", constants.R_OK),
      writable: canAccess("/dev/kvm", constants.W_OK),
      standard_guests: standardGuests,
    },
    environment_cache: context.cacheDir,
    capabilities: {
      vm_boot: guest?.capabilities.vm_boot ?? false,
      guest_exec: guest?.capabilities.guest_exec ?? false,
      guest_network: guest?.capabilities.guest_network ?? false,
    },
    networking: { tun: existsSync("/dev/net/tun"), ip_forward: readFlag("/proc/sys/net/ipv4/ip_forward") },
    backends: backends.map(({ capabilities: _capabilities, ...rest }) => rest),
    selected_backend: selected,
    selected_reason: selectedReason,
    pool: poolOf(context).summary(),
    boot_slots: await bootSlotsSummary(context),
  };
}

import type { PyroConfig } from "../../util/config.js";
import { PyroError } from "../../util/errors.js";
import { BACKEND_NAMES } from "../../util/vocabulary.js";
import type { Backend, BackendAvailability, BackendName } from "../../runtime/backend.js";

/**
 * Backends in order of preference for real guests: every backend but the
 * host-compat sandbox, fastest first (BACKEND_NAMES lists firecracker before qemu).
 */
export const GUEST_PREFERENCE: readonly BackendName[] = BACKEND_NAMES.filter((name) => name !== "sandbox");

/** The backends this process can use, with availability probed once each. */
export class BackendRegistry {
  private readonly probes = new Map<BackendName, Promise<BackendAvailability>>();

  constructor(readonly backends: readonly Backend[]) {}

  /** The backend with this name (every name is registered). */
  get(name: BackendName): Backend {
    const backend = this.backends.find((b) => b.name === name);
    if (!backend) throw new PyroError("internal", `backend ${name} is not registered`);
    return backend;
  }

  /** Probe a backend once per process. */
  availability(name: BackendName): Promise<BackendAvailability> {
    let probe = this.probes.get(name);
    if (!probe) {
      const backend = this.backends.find((b) => b.name === name);
      probe = backend
        ? backend.availability()
        : Promise.resolve({ usable: false, reason: "not part of this build of pyro", details: {} });
      this.probes.set(name, probe);
    }
    return probe;
  }

  /**
   * Pick the backend for a new machine (DESIGN.md "Backends"): the one asked for
   * by name, else the first usable real guest, else the sandbox when host compat
   * is allowed. Guest execution fails closed.
   */
  async select(options: { requested?: BackendName; allowHostCompat: boolean }): Promise<Backend> {
    if (options.requested) {
      const availability = await this.availability(options.requested);
      if (!availability.usable) {
        throw new PyroError("unavailable", `the ${options.requested} backend cannot run here: ${availability.reason}`, {
          hint: availability.fix ?? "run `pyro doctor` for details",
        });
      }
      return this.get(options.requested);
    }
    const reasons: string[] = [];
    for (const name of GUEST_PREFERENCE) {
      const availability = await this.availability(name);
      if (availability.usable) return this.get(name);
      reasons.push(`${name}: ${availability.reason}`);
    }
    if (options.allowHostCompat) {
      const availability = await this.availability("sandbox");
      if (availability.usable) return this.get("sandbox");
      reasons.push(`sandbox: ${availability.reason}`);
    }
    throw new PyroError("unavailable", `no guest can boot on this host (${reasons.join("; ")})`, {
      hint: options.allowHostCompat
        ? "install QEMU (`apt-get install qemu-system-x86`) or bubblewrap (`apt-get install bubblewrap`); `pyro doctor` shows what is missing"
        : "install QEMU (`apt-get install qemu-system-x86`), or pass --allow-host-compat (allow_host_compat: true) to run in the namespace sandbox instead; `pyro doctor` shows what is missing",
    });
  }
}

/** The backend the configuration forces (`PYRO_BACKEND`), when it does. */
export function backendFromEnv(config: Pick<PyroConfig, "backend">): BackendName | undefined {
  const value = config.backend;
  if (!value) return undefined;
  if (value === "firecracker" || value === "qemu" || value === "sandbox") return value;
  throw new PyroError("invalid_argument", `PYRO_BACKEND=${value} is not a backend`, {
    hint: "use firecracker, qemu or sandbox, or unset PYRO_BACKEND",
  });
}

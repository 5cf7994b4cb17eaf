import { resolveConfig, type PyroConfig } from "../util/config.js";
import type { Backend } from "./backend.js";
import { FirecrackerBackend } from "./firecracker/backend.js";
import { QemuBackend } from "./qemu/backend.js";
import { SandboxBackend } from "./sandbox/backend.js";

export type {
  Backend,
  BackendAvailability,
  BackendCapabilities,
  BackendName,
  EnforcedLimits,
  ExecutionMode,
  MachineHandle,
  MachineSpec,
  NetworkPolicy,
  PublishedPort,
} from "./backend.js";

/** Every backend this build of pyro knows, in no particular order, each given the one configuration. */
export function createBackends(config: PyroConfig = resolveConfig()): Backend[] {
  return [new FirecrackerBackend({ config }), new QemuBackend({ config }), new SandboxBackend({ config })];
}

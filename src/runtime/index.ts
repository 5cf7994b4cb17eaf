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

/** Every backend this build of pyro knows, in no particular order. */
export function createBackends(env: NodeJS.ProcessEnv = process.env): Backend[] {
  return [new FirecrackerBackend({ env }), new QemuBackend({ env }), new SandboxBackend()];
}

import { PyroError } from "../../util/errors.js";
import type {
  ActionType,
  ApiErrorBody,
  BootSource,
  Drive,
  InstanceInfo,
  Logger,
  MachineConfiguration,
  Metrics,
  NetworkInterface,
  PartialDrive,
  SnapshotCreateParams,
  SnapshotLoadParams,
  VmState,
  Vsock,
} from "./api-types.js";
import { API_REQUEST_TIMEOUT_MS } from "./constants.js";
import { unixHttpRequest } from "./http-unix.js";

/** HTTP methods the client uses. */
export type ApiMethod = "GET" | "PUT" | "PATCH";

/**
 * Every operation {@link FirecrackerApiClient} can call, as `[method, path
 * template]` pairs of the official spec. Tests check each exists there.
 */
export const API_OPERATIONS: readonly (readonly [ApiMethod, string])[] = [
  ["GET", "/"],
  ["PUT", "/machine-config"],
  ["PUT", "/boot-source"],
  ["PUT", "/drives/{drive_id}"],
  ["PATCH", "/drives/{drive_id}"],
  ["PUT", "/network-interfaces/{iface_id}"],
  ["PUT", "/vsock"],
  ["PUT", "/actions"],
  ["PUT", "/logger"],
  ["PUT", "/metrics"],
  ["PUT", "/snapshot/create"],
  ["PUT", "/snapshot/load"],
  ["PATCH", "/vm"],
] as const;

/** Options of {@link FirecrackerApiClient}. */
export interface FirecrackerApiClientOptions {
  /** Per-request timeout (default {@link API_REQUEST_TIMEOUT_MS}). */
  timeoutMs?: number;
}

/**
 * Typed client of the Firecracker API over its Unix socket. Every call
 * resolves on 2xx; any other status throws a PyroError carrying the body's
 * `fault_message`.
 */
export class FirecrackerApiClient {
  readonly socketPath: string;
  private readonly timeoutMs: number;

  constructor(socketPath: string, options: FirecrackerApiClientOptions = {}) {
    this.socketPath = socketPath;
    this.timeoutMs = options.timeoutMs ?? API_REQUEST_TIMEOUT_MS;
  }

  /** `GET /`: instance information. */
  async describeInstance(): Promise<InstanceInfo> {
    const body = await this.call("GET", "/");
    return JSON.parse(body) as InstanceInfo;
  }

  /** `PUT /machine-config` (pre-boot). */
  async putMachineConfig(config: MachineConfiguration): Promise<void> {
    await this.call("PUT", "/machine-config", config);
  }

  /** `PUT /boot-source` (pre-boot). */
  async putBootSource(source: BootSource): Promise<void> {
    await this.call("PUT", "/boot-source", source);
  }

  /** `PUT /drives/{drive_id}` (pre-boot); the path id is `drive.drive_id`. */
  async putDrive(drive: Drive): Promise<void> {
    await this.call("PUT", `/drives/${encodeURIComponent(drive.drive_id)}`, drive);
  }

  /** `PATCH /drives/{drive_id}` (post-boot), e.g. to swap the backing file. */
  async patchDrive(drive: PartialDrive): Promise<void> {
    await this.call("PATCH", `/drives/${encodeURIComponent(drive.drive_id)}`, drive);
  }

  /** `PUT /network-interfaces/{iface_id}` (pre-boot). */
  async putNetworkInterface(iface: NetworkInterface): Promise<void> {
    await this.call("PUT", `/network-interfaces/${encodeURIComponent(iface.iface_id)}`, iface);
  }

  /** `PUT /vsock` (pre-boot). */
  async putVsock(vsock: Vsock): Promise<void> {
    await this.call("PUT", "/vsock", vsock);
  }

  /** `PUT /actions`. */
  async action(actionType: ActionType): Promise<void> {
    await this.call("PUT", "/actions", { action_type: actionType });
  }

  /** `PUT /actions` InstanceStart. */
  instanceStart(): Promise<void> {
    return this.action("InstanceStart");
  }

  /** `PUT /actions` SendCtrlAltDel (x86 guests reboot, which ends Firecracker with `reboot=k`). */
  sendCtrlAltDel(): Promise<void> {
    return this.action("SendCtrlAltDel");
  }

  /** `PUT /actions` FlushMetrics. */
  flushMetrics(): Promise<void> {
    return this.action("FlushMetrics");
  }

  /** `PUT /logger`. */
  async putLogger(logger: Logger): Promise<void> {
    await this.call("PUT", "/logger", logger);
  }

  /** `PUT /metrics`. */
  async putMetrics(metrics: Metrics): Promise<void> {
    await this.call("PUT", "/metrics", metrics);
  }

  /** `PUT /snapshot/create` (the VM must be paused). */
  async createSnapshot(params: SnapshotCreateParams): Promise<void> {
    await this.call("PUT", "/snapshot/create", params);
  }

  /** `PUT /snapshot/load` (fresh process only). */
  async loadSnapshot(params: SnapshotLoadParams): Promise<void> {
    await this.call("PUT", "/snapshot/load", params);
  }

  /** `PATCH /vm`: pause or resume. */
  async patchVm(state: VmState["state"]): Promise<void> {
    await this.call("PATCH", "/vm", { state });
  }

  /** `PATCH /vm` Paused. */
  pause(): Promise<void> {
    return this.patchVm("Paused");
  }

  /** `PATCH /vm` Resumed. */
  resume(): Promise<void> {
    return this.patchVm("Resumed");
  }

  private async call(method: ApiMethod, path: string, body?: unknown): Promise<string> {
    const res = await unixHttpRequest({ socketPath: this.socketPath, method, path, body, timeoutMs: this.timeoutMs });
    if (res.status >= 200 && res.status < 300) return res.body;
    const fault = faultMessage(res.body);
    throw new PyroError("guest_failure", `firecracker rejected ${method} ${path} (HTTP ${res.status}): ${fault}`, {
      hint:
        res.status === 400
          ? "firecracker refused the configuration; the fault message says which field, and firecracker.log in the VM directory has more"
          : "firecracker failed internally; see firecracker.log in the VM directory",
      details: { method, path, status: res.status, fault_message: fault },
    });
  }
}

/** The `fault_message` of an error body, or the raw body when it is not the spec's `Error`. */
export function faultMessage(body: string): string {
  try {
    const parsed = JSON.parse(body) as ApiErrorBody;
    if (parsed && typeof parsed.fault_message === "string") return parsed.fault_message;
  } catch {
    // not JSON: fall through to the raw text
  }
  return body.trim() === "" ? "(empty error body)" : body.trim().slice(0, 500);
}

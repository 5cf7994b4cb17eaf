/**
 * Request and response bodies of the Firecracker API v1.16, named after the
 * spec's `definitions` (snake_case fields, as on the wire). Only the parts pyro
 * uses are typed; the spec file in `shared/reference` is the authority.
 */

/** `TokenBucket`. */
export interface TokenBucket {
  size: number;
  refill_time: number;
  one_time_burst?: number;
}

/** `RateLimiter`. */
export interface RateLimiter {
  bandwidth?: TokenBucket;
  ops?: TokenBucket;
}

/** `MachineConfiguration` (PUT /machine-config). */
export interface MachineConfiguration {
  vcpu_count: number;
  mem_size_mib: number;
  smt?: boolean;
  track_dirty_pages?: boolean;
  huge_pages?: "None" | "2M";
  cpu_template?: "C3" | "T2" | "T2S" | "T2CL" | "T2A" | "V1N1" | "None";
}

/** `BootSource` (PUT /boot-source). */
export interface BootSource {
  kernel_image_path: string;
  boot_args?: string;
  initrd_path?: string;
}

/** `Drive` (PUT /drives/{drive_id}). */
export interface Drive {
  drive_id: string;
  is_root_device: boolean;
  path_on_host?: string;
  is_read_only?: boolean;
  partuuid?: string;
  cache_type?: "Unsafe" | "Writeback";
  io_engine?: "Sync" | "Async";
  rate_limiter?: RateLimiter;
  socket?: string;
}

/** `PartialDrive` (PATCH /drives/{drive_id}). */
export interface PartialDrive {
  drive_id: string;
  path_on_host?: string;
  rate_limiter?: RateLimiter;
}

/** `NetworkInterface` (PUT /network-interfaces/{iface_id}). */
export interface NetworkInterface {
  iface_id: string;
  host_dev_name: string;
  guest_mac?: string;
  mtu?: number;
  rx_rate_limiter?: RateLimiter;
  tx_rate_limiter?: RateLimiter;
}

/** `Vsock` (PUT /vsock). */
export interface Vsock {
  guest_cid: number;
  uds_path: string;
}

/** `InstanceActionInfo.action_type` (PUT /actions). */
export type ActionType = "InstanceStart" | "SendCtrlAltDel" | "FlushMetrics";

/** `InstanceActionInfo`. */
export interface InstanceActionInfo {
  action_type: ActionType;
}

/** `Logger` (PUT /logger). */
export interface Logger {
  log_path?: string;
  level?: "Error" | "Warning" | "Info" | "Debug" | "Trace" | "Off";
  show_level?: boolean;
  show_log_origin?: boolean;
  module?: string;
}

/** `Metrics` (PUT /metrics). */
export interface Metrics {
  metrics_path: string;
}

/** `SnapshotCreateParams` (PUT /snapshot/create). */
export interface SnapshotCreateParams {
  snapshot_path: string;
  mem_file_path: string;
  snapshot_type?: "Full" | "Diff";
}

/** `MemoryBackend`. */
export interface MemoryBackend {
  backend_type: "File" | "Uffd";
  backend_path: string;
}

/** `SnapshotLoadParams` (PUT /snapshot/load). Exactly one of `mem_file_path` / `mem_backend`. */
export interface SnapshotLoadParams {
  snapshot_path: string;
  mem_backend?: MemoryBackend;
  mem_file_path?: string;
  track_dirty_pages?: boolean;
  resume_vm?: boolean;
  network_overrides?: { iface_id: string; host_dev_name: string }[];
  vsock_override?: { uds_path: string };
  clock_realtime?: boolean;
}

/** `Vm` (PATCH /vm). */
export interface VmState {
  state: "Paused" | "Resumed";
}

/** `InstanceInfo` (GET /). */
export interface InstanceInfo {
  app_name: string;
  id: string;
  state: "Not started" | "Running" | "Paused";
  vmm_version: string;
}

/** `Error`: the body of every non-2xx answer. */
export interface ApiErrorBody {
  fault_message?: string;
}

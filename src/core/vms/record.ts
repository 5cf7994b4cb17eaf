import { machineInfo } from "../machines/limits.js";
import type { BackendName, ExecutionMode, MachineHandle } from "../../runtime/backend.js";
import type { VmState } from "../../util/vocabulary.js";
import type { AllowList } from "../../net/index.js";

/** What pyro persists about one VM (`<state>/vms/<id>/record.json`). */
export interface VmRecord {
  schema: 1;
  vm_id: string;
  environment: string;
  state: VmState;
  backend: BackendName;
  execution_mode: ExecutionMode;
  vcpu_count: number;
  mem_mib: number;
  network: boolean;
  /** Allow-lists on top of egress (absent in records made before they existed: none). */
  allow?: AllowList;
  ttl_seconds: number;
  created_at: string;
  expires_at: string;
  started_at: string | null;
  /** Present while a machine process may exist. */
  handle: MachineHandle | null;
  detail: string | null;
}

/** The public view of a record (the `vmInfo` schema). */
export function vmInfo(record: VmRecord) {
  return {
    vm_id: record.vm_id,
    state: record.state,
    ...machineInfo(record),
    network: record.network,
    ttl_seconds: record.ttl_seconds,
    created_at: record.created_at,
    expires_at: record.expires_at,
    started_at: record.started_at,
    pid: record.handle?.pid ?? null,
    detail: record.detail,
  };
}

/** Whether the record's TTL has passed at `now`. */
export function isExpired(record: { expires_at: string }, now = Date.now()): boolean {
  return Date.parse(record.expires_at) <= now;
}

import { machineInfo } from "../machines/limits.js";
import type { BackendName, ExecutionMode, MachineHandle, NetworkPolicy, PublishedPort } from "../../runtime/backend.js";
import type { SecretSource, SeedMode, WorkspaceState } from "../../util/vocabulary.js";
import type { AllowList } from "../../net/index.js";

/** How `/workspace` began. */
export interface WorkspaceSeed {
  mode: SeedMode;
  source_path: string | null;
  entries: number;
  bytes: number;
}

/** What pyro persists about one workspace (`<state>/workspaces/<id>/record.json`). Never secret values. */
export interface WorkspaceRecord {
  schema: 1;
  workspace_id: string;
  /** Human name (absent in records made before names existed: none). */
  name?: string | null;
  /** Labels, {key: value} (absent in records made before labels existed: none). */
  labels?: Record<string, string>;
  environment: string;
  state: WorkspaceState;
  backend: BackendName;
  execution_mode: ExecutionMode;
  vcpu_count: number;
  mem_mib: number;
  network_policy: NetworkPolicy;
  /** Allow-lists on top of egress (absent in records made before they existed: none). */
  allow?: AllowList;
  published_ports: PublishedPort[];
  ttl_seconds: number;
  created_at: string;
  expires_at: string;
  workspace_seed: WorkspaceSeed;
  /** Names and sources only; values live in `secrets.json` (0600). */
  secrets: Array<{ name: string; source: SecretSource }>;
  command_count: number;
  handle: MachineHandle | null;
  detail: string | null;
  /**
   * Present from the record's first write until the baseline exists: who is
   * creating it and how far it got. Left behind when that process died, it
   * tells `status` what happened and `reset` to start over.
   */
  creation?: WorkspaceCreation;
  /** The workspace it was forked from. */
  forked_from?: string;
  /** When it was paused (state `paused`: its memory is saved beside its disk; pause.ts). */
  paused_at?: string;
}

/** The progress of a workspace's creation (see {@link WorkspaceRecord.creation}). */
export interface WorkspaceCreation {
  pid: number;
  pid_start_time?: string;
  phase: "boot" | "seed" | "baseline";
}

/** The public view of a record (the `workspaceInfo` schema). */
export function workspaceInfo(record: WorkspaceRecord) {
  return {
    workspace_id: record.workspace_id,
    name: record.name ?? null,
    labels: record.labels ?? {},
    state: record.state,
    ...machineInfo(record),
    network_policy: record.network_policy,
    allow_hosts: record.allow?.hosts ?? [],
    allow_cidrs: record.allow?.cidrs ?? [],
    published_ports: record.published_ports,
    ttl_seconds: record.ttl_seconds,
    created_at: record.created_at,
    expires_at: record.expires_at,
    workspace_seed: record.workspace_seed,
    secrets: record.secrets,
    command_count: record.command_count,
    detail: record.detail,
  };
}

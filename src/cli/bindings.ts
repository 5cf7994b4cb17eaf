import type { CliBindings } from "./binding.js";
import { FILE_BINDINGS } from "./file-bindings.js";
import { countOf, formatBytes, printCommandOutput, printFields, yesNo } from "./format.js";
import { splitLabel } from "../contract/labels.js";
import { COMMAND_BINDINGS, printBackgroundStarted } from "./command-bindings.js";

const VM_ONLY = "VM lifecycle calls are SDK and MCP only (CONTRACT.md); use `pyro run` on the command line";
const workspace = { field: "workspace_id", name: "workspace-id" };
const shell = [workspace, { field: "shell_id", name: "shell-id" }];
const service = [workspace, { field: "service_name", name: "name" }];

function pairs(values: string[], what: string): Array<[string, string]> {
  return values.map((value) => {
    const at = value.indexOf("=");
    if (at <= 0) throw new Error(`${what} must look like NAME=VALUE, got ${JSON.stringify(value)}`);
    return [value.slice(0, at), value.slice(at + 1)];
  });
}

/** `--label KEY=VALUE` (repeatable) into the `labels` field; a key given twice is refused. */
function labelOption(description: string) {
  return {
    flags: "--label <KEY=VALUE>",
    description: `${description} (repeatable); splits at the first "=", so a value may contain "="`,
    repeatable: true as const,
    apply: (input: Record<string, unknown>, values: string[]) => {
      const labels: Record<string, string> = {};
      for (const [key, value] of values.map(splitLabel)) {
        if (Object.hasOwn(labels, key)) throw new Error(`--label ${key} is given twice`);
        labels[key] = value;
      }
      input.labels = labels;
    },
  };
}

/** `name`, `key=value` labels: how list shows a workspace's naming on its line. */
function naming(w: { name: string | null; labels: Record<string, string> }): string {
  const labels = Object.entries(w.labels).map(([key, value]) => `${key}=${value}`);
  return [w.name === null ? "" : ` name=${JSON.stringify(w.name)}`, labels.length > 0 ? ` labels=${JSON.stringify(w.labels)}` : ""].join("");
}

function append(input: Record<string, unknown>, field: string, items: unknown[]): void {
  input[field] = [...((input[field] as unknown[] | undefined) ?? []), ...items];
}

/** Every operation's place on the command line (CONTRACT.md "CLI"). */
export const CLI_BINDINGS: CliBindings = {
  runInVm: {
    path: ["run"],
    positionals: [{ field: "environment", name: "environment" }],
    trailingCommand: true,
    rename: { allow_hosts: "allow_host", allow_cidrs: "allow_cidr" },
    print: (result, out, how) => printCommandOutput(result, out, how.streamed),
    exitCode: (result) => result.exit_code,
  },
  createVm: { none: VM_ONLY },
  startVm: { none: VM_ONLY },
  execVm: { none: VM_ONLY },
  stopVm: { none: VM_ONLY },
  deleteVm: { none: VM_ONLY },
  statusVm: { none: VM_ONLY },
  networkInfoVm: { none: VM_ONLY },
  reapExpired: { none: VM_ONLY },
  doctor: {
    path: ["doctor"],
    print: (r, out) => {
      out.stdout(`Platform: ${r.platform}\n`);
      out.stdout(`Runtime: ${r.runtime.ok ? "PASS" : "FAIL"}\n`);
      out.stdout(`KVM: exists=${yesNo(r.kvm.exists)} readable=${yesNo(r.kvm.readable)} writable=${yesNo(r.kvm.writable)} standard_guests=${yesNo(r.kvm.standard_guests)}\n`);
      out.stdout(`Environment cache: ${r.environment_cache}\n`);
      out.stdout(`Capabilities: vm_boot=${yesNo(r.capabilities.vm_boot)} guest_exec=${yesNo(r.capabilities.guest_exec)} guest_network=${yesNo(r.capabilities.guest_network)}\n`);
      out.stdout(`Networking: tun=${yesNo(r.networking.tun)} ip_forward=${yesNo(r.networking.ip_forward)}\n`);
      for (const b of r.backends) {
        const facts = Object.entries(b.details).map(([k, v]) => `${k}=${v}`).join(" ");
        out.stdout(`Backend ${b.name}: ${b.usable ? "usable" : `unusable (${b.reason})`}${facts ? ` ${facts}` : ""}\n`);
        if (!b.usable && b.fix) out.stdout(`  fix: ${b.fix}\n`);
      }
      out.stdout(`Selected backend: ${r.selected_backend ?? "none"} (${r.selected_reason})\n`);
      out.stdout(`Pool: size=${r.pool.size} idle_seconds=${r.pool.idle_seconds} machines=${r.pool.count}\n`);
      out.stdout(`Boot slots: ${r.boot_slots.slots === 0 ? "no limit" : `${r.boot_slots.booting} of ${r.boot_slots.slots} booting`}\n`);
    },
    exitCode: (r) => (r.runtime.ok ? 0 : 1),
  },
  listEnvironments: {
    path: ["env", "list"],
    print: (r, out) => {
      out.stdout(`Catalog version: ${r.catalog_version}\n`);
      for (const e of r.environments) {
        out.stdout(`${e.name} [${e.installed ? "installed" : "not installed"}] ${e.description}\n`);
      }
    },
  },
  pullEnvironment: {
    path: ["env", "pull"],
    positionals: [{ field: "environment", name: "environment" }],
    print: (r, out) => {
      out.stdout(`${r.pulled ? "Pulled" : "Already installed"}: ${r.name}\n`);
      out.stdout(`Source: ${r.source}\nPath: ${r.path}\nSize: ${formatBytes(r.size_bytes ?? 0)}\n`);
      if (r.image) out.stdout(`Digest: ${r.image.digest}\nLayers: ${r.image.layers.length}\n`);
    },
  },
  inspectEnvironment: {
    path: ["env", "inspect"],
    positionals: [{ field: "environment", name: "environment" }],
    print: (r, out) => printFields(r, out),
  },
  pruneEnvironments: {
    path: ["env", "prune"],
    print: (r, out) => {
      if (r.removed.length === 0) out.stdout("Nothing to remove\n");
      for (const item of r.removed) out.stdout(`Removed ${item.path} (${item.reason}, ${formatBytes(item.bytes)})\n`);
      out.stdout(`Freed: ${formatBytes(r.freed_bytes)}\n`);
    },
  },
  createWorkspace: {
    path: ["workspace", "create"],
    positionals: [{ field: "environment", name: "environment" }],
    rename: { allow_hosts: "allow_host", allow_cidrs: "allow_cidr" },
    hide: ["secrets", "labels"],
    extra: [
      labelOption("A label to find the workspace by"),
      {
        flags: "--secret <NAME=VALUE>",
        description: "A literal secret (repeatable); never stored in the workspace record",
        repeatable: true,
        apply: (input, values: string[]) => append(input, "secrets", pairs(values, "--secret").map(([name, value]) => ({ name, value }))),
      },
      {
        flags: "--secret-file <NAME=PATH>",
        description: "A secret read from a host file (repeatable)",
        repeatable: true,
        apply: (input, values: string[]) =>
          append(input, "secrets", pairs(values, "--secret-file").map(([name, file_path]) => ({ name, file_path }))),
      },
    ],
    print: (r, out) => printFields(r, out),
    idOnly: (r) => r.workspace_id,
  },
  statusPool: {
    path: ["pool", "status"],
    print: (r, out) => {
      out.stdout(`Pool: size=${r.size} per shape, idle_seconds=${r.idle_seconds}, machines=${r.count}\n`);
      for (const m of r.machines) {
        const rss = m.rss_bytes === null ? "?" : formatBytes(m.rss_bytes);
        out.stdout(`${m.pool_id} ${m.state} ${m.environment} vcpus=${m.vcpu_count} mem=${m.mem_mib}MiB disk=${m.root_disk} age=${m.age_seconds}s rss=${rss} pid=${m.pid ?? "-"}\n`);
      }
    },
  },
  drainPool: {
    path: ["pool", "drain"],
    print: (r, out) => out.stdout(`Drained ${r.count} pooled machine${r.count === 1 ? "" : "s"}\n`),
  },
  pauseWorkspace: {
    path: ["workspace", "pause"],
    positionals: [workspace],
    print: (r, out) => out.stdout(`Paused ${r.workspace_id}: memory saved (${formatBytes(r.memory_bytes)}) in ${r.duration_ms} ms\n`),
  },
  resumeWorkspace: {
    path: ["workspace", "resume"],
    positionals: [workspace],
    print: (r, out) => out.stdout(`Resumed ${r.workspace_id} in ${r.duration_ms} ms (paused for ${(r.downtime_ms / 1000).toFixed(1)} s)\n`),
  },
  forkWorkspace: {
    path: ["workspace", "fork"],
    positionals: [workspace],
    print: (r, out) => out.stdout(`Forked ${r.forked_from} into ${r.workspace_id}${r.name ? ` (${r.name})` : ""} in ${r.duration_ms} ms\n`),
  },
  listWorkspaces: {
    path: ["workspace", "list"],
    hide: ["labels"],
    extra: [labelOption("Only workspaces with this label")],
    print: (r, out) => {
      if (r.workspaces.length === 0) out.stderr("No workspaces. Create one with `pyro workspace create debian:12`.\n");
      for (const w of r.workspaces) out.stdout(`${w.workspace_id} ${w.state} ${w.environment} ${w.backend} expires=${w.expires_at}${naming(w)}\n`);
    },
  },
  updateWorkspace: {
    path: ["workspace", "update"],
    positionals: [workspace],
    rename: { clear_labels: "clear_label" },
    hide: ["labels"],
    extra: [labelOption("Set a label")],
    print: (r, out) => printFields(r, out),
  },
  pushWorkspaceSync: {
    path: ["workspace", "sync", "push"],
    positionals: [workspace, { field: "source_path", name: "source" }],
    print: (r, out) => out.stdout(`Synced ${countOf(r.entries, "entry", "entries")} (${formatBytes(r.bytes)}) into ${r.dest}\n`),
  },
  execWorkspace: {
    path: ["workspace", "exec"],
    positionals: [workspace],
    trailingCommand: true,
    print: (result, out, how) => ("background" in result ? printBackgroundStarted(result, out) : printCommandOutput(result, out, how.streamed)),
    // A background start succeeded once the command runs: its own exit code comes from `workspace command wait`.
    exitCode: (result) => ("background" in result ? 0 : result.exit_code),
  },
  statusWorkspace: { path: ["workspace", "status"], positionals: [workspace], print: (r, out) => printFields(r, out) },
  logsWorkspace: {
    path: ["workspace", "logs"],
    positionals: [workspace],
    print: (r, out) => {
      if (r.entries.length === 0) out.stderr(`No commands have run in ${r.workspace_id} yet (\`pyro workspace exec ${r.workspace_id} -- CMD\` records one).\n`);
      for (const e of r.entries) out.stdout(`#${e.sequence} exit=${e.exit_code} ${e.duration_ms}ms $ ${e.command}\n${e.stdout}${e.stderr}`);
    },
  },
  deleteWorkspace: { path: ["workspace", "delete"], positionals: [workspace], print: (r, out) => out.stdout(`Deleted ${r.workspace_id}\n`) },
  diffWorkspace: {
    path: ["workspace", "diff"],
    positionals: [workspace],
    print: (r, out) => {
      if (!r.changed) out.stdout("No changes since the baseline\n");
      for (const f of r.files) out.stdout(f.diff ?? `${f.status} ${f.path}${f.binary ? " (binary)" : ""}\n`);
    },
  },
  exportWorkspace: {
    path: ["workspace", "export"],
    positionals: [workspace, { field: "path", name: "path" }],
    rename: { output_path: "output" },
    print: (r, out) => out.stdout(`Exported ${r.path} to ${r.output_path} (${countOf(r.entries, "entry", "entries")}, ${formatBytes(r.bytes)})\n`),
  },
  createSnapshot: {
    path: ["workspace", "snapshot", "create"],
    positionals: [workspace, { field: "snapshot_name", name: "name" }],
    print: (r, out) => out.stdout(`Snapshot ${r.name} created (${countOf(r.entries, "entry", "entries")})\n`),
  },
  listSnapshots: {
    path: ["workspace", "snapshot", "list"],
    positionals: [workspace],
    print: (r, out) => {
      for (const s of r.snapshots) out.stdout(`${s.name} ${s.created_at} ${countOf(s.entries, "entry", "entries")} ${formatBytes(s.bytes)}\n`);
    },
  },
  deleteSnapshot: {
    path: ["workspace", "snapshot", "delete"],
    positionals: [workspace, { field: "snapshot_name", name: "name" }],
    print: (r, out) => out.stdout(`Snapshot ${r.name} deleted\n`),
  },
  resetWorkspace: { path: ["workspace", "reset"], positionals: [workspace], print: (r, out) => printFields(r, out) },
  stopWorkspace: { path: ["workspace", "stop"], positionals: [workspace], print: (r, out) => printFields(r, out) },
  startWorkspace: { path: ["workspace", "start"], positionals: [workspace], print: (r, out) => printFields(r, out) },
  listWorkspaceDisk: {
    path: ["workspace", "disk", "list"],
    positionals: [workspace, { field: "path", name: "path", optional: true }],
    print: (r, out) => {
      if (r.entries.length === 0) out.stderr(`${r.path} is empty on the stopped disk of ${r.workspace_id}.\n`);
      for (const e of r.entries) out.stdout(`${e.mode} ${String(e.size).padStart(10)} ${e.path}\n`);
    },
  },
  readWorkspaceDisk: {
    path: ["workspace", "disk", "read"],
    positionals: [workspace, { field: "path", name: "path" }],
    print: (r, out) => {
      out.stdout(r.content);
      if (r.truncated) out.stderr(`[pyro] ${r.path} has ${r.bytes} bytes; the content was cut at --max-bytes (at most 1048576)\n`);
    },
    contentOnly: (r) => r.content,
  },
  exportWorkspaceDisk: {
    path: ["workspace", "disk", "export"],
    positionals: [workspace],
    rename: { output_path: "output" },
    print: (r, out) => out.stdout(`Exported ${formatBytes(r.bytes)} to ${r.output_path}\n`),
  },
  ...FILE_BINDINGS,
  openShell: {
    path: ["workspace", "shell", "open"],
    positionals: [workspace],
    print: (r, out) => out.stdout(`${r.shell_id}\n`),
    idOnly: (r) => r.shell_id,
  },
  readShell: {
    path: ["workspace", "shell", "read"],
    positionals: shell,
    print: (r, out) => {
      out.stdout(r.output);
      if (r.dropped_chars > 0) out.stderr(`[pyro] ${r.dropped_chars} characters were dropped before this read\n`);
      out.stderr(`[shell] next_cursor=${r.next_cursor} alive=${r.alive}\n`);
    },
  },
  writeShell: {
    path: ["workspace", "shell", "write"],
    positionals: shell,
    rename: { append_newline: "newline" },
    print: (r, out) => out.stdout(`Wrote ${r.written_chars} characters\n`),
  },
  signalShell: {
    path: ["workspace", "shell", "signal"],
    positionals: shell,
    rename: { signal_name: "signal" },
    print: (r, out) => out.stdout(`Sent ${r.signal_name}\n`),
  },
  closeShell: { path: ["workspace", "shell", "close"], positionals: shell, print: (r, out) => out.stdout(`Closed ${r.shell_id}\n`) },
  startService: {
    path: ["workspace", "service", "start"],
    positionals: service,
    trailingCommand: true,
    hide: ["readiness", "published_ports"],
    extra: [
      { flags: "--ready-file <path>", description: "Ready once this file exists (relative to --cwd)", apply: (i, v: string) => (i.readiness = { kind: "file", path: v }) },
      { flags: "--ready-tcp <host:port>", description: "Ready once this address accepts TCP", apply: (i, v: string) => (i.readiness = { kind: "tcp", address: v }) },
      { flags: "--ready-http <url>", description: "Ready once this URL answers 2xx/3xx", apply: (i, v: string) => (i.readiness = { kind: "http", url: v }) },
      { flags: "--ready-command <cmd>", description: "Ready once this command exits 0 (the escape hatch)", apply: (i, v: string) => (i.readiness = { kind: "command", command: v }) },
      {
        flags: "--publish <[HOST_PORT:]GUEST_PORT>",
        description: "Publish a guest port on 127.0.0.1 (repeatable); without HOST_PORT pyro picks a free one and reports it",
        repeatable: true,
        apply: (input, values: string[]) =>
          append(
            input,
            "published_ports",
            values.map((value) => {
              const match = /^(?:(\d+):)?(\d+)$/.exec(value);
              if (!match) throw new Error(`--publish must look like HOST_PORT:GUEST_PORT or GUEST_PORT, got ${JSON.stringify(value)}`);
              // Bounds are the contract's: out-of-range numbers fail there with the fix.
              return match[1] === undefined ? { guest_port: Number(match[2]) } : { host_port: Number(match[1]), guest_port: Number(match[2]) };
            }),
          ),
      },
    ],
    print: (r, out) => printFields(r, out),
    // A start that did not end running or ready is a failed command.
    exitCode: (r) => (r.state === "running" || r.state === "ready" ? 0 : 1),
  },
  listServices: {
    path: ["workspace", "service", "list"],
    positionals: [workspace],
    print: (r, out) => {
      if (r.services.length === 0) out.stderr(`No services in ${r.workspace_id}. Start one with \`pyro workspace service start ${r.workspace_id} NAME -- CMD\`.\n`);
      for (const s of r.services) out.stdout(`${s.service_name} ${s.state} pid=${s.pid ?? "-"} exit=${s.exit_code ?? "-"}\n`);
    },
  },
  statusService: { path: ["workspace", "service", "status"], positionals: service, print: (r, out) => printFields(r, out) },
  logsService: {
    path: ["workspace", "service", "logs"],
    positionals: service,
    print: (r, out) => {
      if (!r.stdout && !r.stderr) out.stderr(`Service ${r.service_name} of ${r.workspace_id} has written no output yet.\n`);
      out.stdout(r.stdout);
      out.stderr(r.stderr);
    },
  },
  stopService: { path: ["workspace", "service", "stop"], positionals: service, print: (r, out) => printFields(r, out) },
  ...COMMAND_BINDINGS,
};

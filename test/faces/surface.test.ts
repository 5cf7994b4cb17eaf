import { describe, expect, it } from "vitest";
import type { Command } from "commander";
import { OPERATIONS, Pyro, mcpTools } from "../../src/index.js";
import { CLI_BINDINGS } from "../../src/cli/bindings.js";
import { buildProgram } from "../../src/cli/program.js";

/** CONTRACT.md "SDK (`Pyro`)", plus the additions its issues ask for. */
const CONTRACT_SDK_METHODS = [
  "runInVm", "createVm", "startVm", "execVm", "stopVm", "deleteVm", "statusVm", "networkInfoVm", "reapExpired",
  "listEnvironments", "pullEnvironment", "inspectEnvironment", "pruneEnvironments", "createServer",
  "createWorkspace", "pushWorkspaceSync", "execWorkspace", "statusWorkspace", "logsWorkspace", "deleteWorkspace",
  "diffWorkspace", "exportWorkspace", "createSnapshot", "listSnapshots", "deleteSnapshot", "resetWorkspace",
  "openShell", "readShell", "writeShell", "signalShell", "closeShell", "startService", "listServices",
  "statusService", "logsService", "stopService", "stopWorkspace", "startWorkspace", "listWorkspaceDisk",
  "readWorkspaceDisk", "exportWorkspaceDisk",
];
/** Not in CONTRACT.md's SDK list, on purpose: `doctor` backs `pyro doctor`; `listWorkspaces` is issue 6's `workspace list`. */
const SDK_ADDITIONS = ["doctor", "listWorkspaces", "updateWorkspace", "listWorkspaceFiles", "readWorkspaceFile", "writeWorkspaceFile", "applyWorkspacePatch", "listWorkspaceCommands", "statusWorkspaceCommand", "logsWorkspaceCommand", "waitWorkspaceCommand", "killWorkspaceCommand", "statusPool", "drainPool", "pauseWorkspace", "resumeWorkspace", "forkWorkspace"];

/** CONTRACT.md "MCP tools". */
const CONTRACT_MCP_TOOLS = [
  "vm_run", "vm_list_environments", "vm_create", "vm_start", "vm_exec", "vm_stop", "vm_delete", "vm_status",
  "vm_network_info", "vm_reap_expired", "workspace_create", "workspace_sync_push", "workspace_exec",
  "workspace_export", "workspace_diff", "snapshot_create", "snapshot_list", "snapshot_delete", "workspace_reset",
  "service_start", "service_list", "service_status", "service_logs", "service_stop", "shell_open", "shell_read",
  "shell_write", "shell_signal", "shell_close", "workspace_status", "workspace_logs", "workspace_delete",
  "workspace_stop", "workspace_start", "workspace_disk_list", "workspace_disk_read", "workspace_disk_export",
];
const MCP_ADDITIONS = ["workspace_list", "workspace_update", "workspace_file_list", "workspace_file_read", "workspace_file_write", "workspace_patch_apply", "workspace_command_list", "workspace_command_status", "workspace_command_logs", "workspace_command_wait", "workspace_command_kill", "pool_status", "pool_drain", "workspace_pause", "workspace_resume", "workspace_fork"];

/** CONTRACT.md "CLI", one entry per command path. */
const CONTRACT_CLI_COMMANDS = [
  "doctor", "env list", "env pull", "env inspect", "env prune", "mcp serve", "run", "demo", "demo ollama",
  "workspace create", "workspace sync push", "workspace exec", "workspace status", "workspace logs",
  "workspace delete", "workspace diff", "workspace export", "workspace snapshot create", "workspace snapshot list",
  "workspace snapshot delete", "workspace reset", "workspace shell open", "workspace shell read",
  "workspace shell write", "workspace shell signal", "workspace shell close", "workspace service start",
  "workspace service list", "workspace service status", "workspace service logs", "workspace service stop",
  "workspace stop", "workspace start", "workspace disk list", "workspace disk read", "workspace disk export",
];
const CLI_ADDITIONS = ["workspace list", "workspace update", "workspace file list", "workspace file read", "workspace file write", "workspace patch apply", "workspace command list", "workspace command status", "workspace command logs", "workspace command wait", "workspace command kill", "pool status", "pool drain", "workspace pause", "workspace resume", "workspace fork"];

function leafCommands(command: Command, prefix: string[] = []): string[] {
  return command.commands.flatMap((child) => {
    const path = [...prefix, child.name()];
    const below = leafCommands(child, path);
    // A command with its own action (like `demo`) counts even when it has children.
    const hasAction = (child as unknown as { _actionHandler: unknown })._actionHandler !== null;
    return hasAction ? [path.join(" "), ...below] : below;
  });
}

describe("public surface", () => {
  it("has exactly the SDK methods of CONTRACT.md", () => {
    const pyro = new Pyro({ stateDir: "/nonexistent-state", cacheDir: "/nonexistent-cache" });
    const methods = [...Object.keys(OPERATIONS), "createServer"];
    expect(methods.sort()).toEqual([...CONTRACT_SDK_METHODS, ...SDK_ADDITIONS].sort());
    for (const method of methods) expect(typeof (pyro as unknown as Record<string, unknown>)[method]).toBe("function");
  });

  it("has exactly the MCP tools of CONTRACT.md", () => {
    const tools = mcpTools().map((t) => t.tool);
    expect(new Set(tools).size).toBe(tools.length);
    expect(tools.sort()).toEqual([...CONTRACT_MCP_TOOLS, ...MCP_ADDITIONS].sort());
  });

  it("has exactly the CLI commands of CONTRACT.md", () => {
    const program = buildProgram({
      version: "0.0.0",
      run: async () => 0,
      output: { stdout: () => {}, stderr: () => {} },
      extraCommands: (root) => {
        root.command("mcp").command("serve").action(() => {});
        root.command("demo").action(() => {}).command("ollama").action(() => {});
      },
    });
    expect(leafCommands(program).sort()).toEqual([...CONTRACT_CLI_COMMANDS, ...CLI_ADDITIONS].sort());
  });

  it("binds every operation on every face or says why not", () => {
    for (const [name, binding] of Object.entries(CLI_BINDINGS)) {
      if ("none" in binding) {
        expect(binding.none.length, name).toBeGreaterThan(10);
        expect(OPERATIONS[name as keyof typeof OPERATIONS].mcp, `${name} has neither CLI nor MCP`).not.toBeNull();
      }
    }
  });

  it("keeps the CONTRACT.md flags of pyro run", () => {
    const program = buildProgram({ version: "0", run: async () => 0, output: { stdout: () => {}, stderr: () => {} }, extraCommands: () => {} });
    const run = program.commands.find((c) => c.name() === "run")!;
    const flags = run.options.map((o) => o.long);
    for (const flag of ["--vcpu-count", "--mem-mib", "--timeout-seconds", "--ttl-seconds", "--network", "--allow-host-compat", "--json"]) {
      expect(flags).toContain(flag);
    }
  });
});

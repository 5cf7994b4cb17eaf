import { describe, expect, it } from "vitest";
import { OPERATIONS } from "../../src/index.js";
import { mcpToolDefinitions } from "../../src/mcp/server.js";

// Issue 14: descriptions are what a model reads to pick a tool: when to use it, units and defaults, what comes back.
describe("MCP tool descriptions, written for a model", () => {
  const tools = new Map(mcpToolDefinitions("workspace-full").map((tool) => [tool.name, tool.description ?? ""]));

  it("give every tool more than its one-line summary", () => {
    for (const operation of Object.values(OPERATIONS)) {
      if (!operation.mcp) continue;
      expect(operation.details, `${operation.mcp} has no details`).toBeTruthy();
      expect(tools.get(operation.mcp)!.length, operation.mcp).toBeGreaterThan(operation.summary.length + 20);
    }
  });

  it("say to start with vm_run and move to workspaces for repeated commands", () => {
    expect(tools.get("vm_run")).toMatch(/Start here for a one-off command/);
    expect(tools.get("vm_run")).toMatch(/repeated commands .* workspace_create and workspace_exec/);
    expect(tools.get("vm_create")).toContain("prefer vm_run");
    expect(tools.get("workspace_create")).toContain("returns workspace_id");
  });

  it("state units and defaults, and what comes back", () => {
    expect(tools.get("vm_run")).toContain("timeout_seconds (default 30)");
    expect(tools.get("vm_run")).toContain("duration_ms (milliseconds)");
    expect(tools.get("workspace_create")).toContain("ttl_seconds (default 600)");
    expect(tools.get("shell_read")).toContain("next_cursor");
    expect(tools.get("shell_read")).toContain("wait_for_idle_ms");
    expect(tools.get("service_start")).toContain("ready_timeout_seconds, default 30");
    expect(tools.get("service_logs")).toContain("default 200");
  });
});

/**
 * MCP tool profiles (the original's `pyro mcp serve --profile`): a chat host
 * that offers a model every one of pyro's tools spends its context on tools
 * the model rarely needs. A profile names the tools it serves, and may hide
 * input fields of a tool.
 */

/** The profile names, `workspace-full` (every tool) being the default. */
export const MCP_PROFILES = ["vm-run", "workspace-core", "workspace-full"] as const;
/** One of {@link MCP_PROFILES}. */
export type McpProfile = (typeof MCP_PROFILES)[number];
/** What `pyro mcp serve` and `createServer()` serve without `--profile`/`profile`. */
export const DEFAULT_MCP_PROFILE: McpProfile = "workspace-full";

/** What one profile serves. */
export interface ProfileSpec {
  /** The tool names it serves, or `all`. */
  tools: readonly string[] | "all";
  /** Input fields hidden from a tool (not in its schema, refused when sent). */
  hiddenFields?: Readonly<Record<string, readonly string[]>>;
  /** One line for `--help`. */
  summary: string;
}

/**
 * The tool sets of the original's 3.11 profiles, by tool name. The
 * workspace-core set names `workspace_file_list`, `workspace_file_read`,
 * `workspace_file_write` and `workspace_patch_apply`, which come from the
 * sibling branch that adds the file API: a name with no tool behind it is
 * simply not served, so those tools join the profile once they are merged.
 */
export const PROFILES: Readonly<Record<McpProfile, ProfileSpec>> = {
  "vm-run": { tools: ["vm_run"], summary: "vm_run only, one command in a fresh VM per call" },
  "workspace-core": {
    tools: [
      "vm_run",
      "workspace_create",
      "workspace_delete",
      "workspace_diff",
      "workspace_exec",
      "workspace_export",
      "workspace_file_list",
      "workspace_file_read",
      "workspace_file_write",
      "workspace_list",
      "workspace_logs",
      "workspace_patch_apply",
      "workspace_reset",
      "workspace_status",
      "workspace_sync_push",
      "workspace_update",
    ],
    // As the original: no networking and no secrets in the core profile. The
    // allow-lists go too, since they only apply on top of the egress policy.
    hiddenFields: { workspace_create: ["network_policy", "allow_hosts", "allow_cidrs", "secrets"] },
    summary: "vm_run and the workspace tools of an edit-and-test loop, without network, secrets, shells or services; for chat hosts",
  },
  "workspace-full": { tools: "all", summary: "every tool" },
};

/** Whether `profile` serves the tool named `tool`. */
export function profileServes(profile: McpProfile, tool: string): boolean {
  const tools = PROFILES[profile].tools;
  return tools === "all" || tools.includes(tool);
}

/** The input fields `profile` hides from `tool` (empty when none). */
export function hiddenFields(profile: McpProfile, tool: string): readonly string[] {
  return PROFILES[profile].hiddenFields?.[tool] ?? [];
}

import { z } from "zod";
import { defineOperation } from "../operation.js";
import { id } from "../common.js";
import { labelKey, labelsInput, workspaceName } from "../labels.js";
import { workspaceInfo } from "./workspaces.js";

/** `workspace update`: rename a workspace, set or remove its labels (issue 14; the original's `workspace_update`). */
export const updateWorkspace = defineOperation({
  mcp: "workspace_update",
  summary: "Set or clear a workspace's name and labels",
  details:
    "Changes only pyro's record (works on a running, stopped or dead workspace and does not touch the machine). " +
    "labels are merged into the existing ones (same key: replaced); clear_labels removes keys. Returns the workspace as workspace_status does.",
  input: z.object({
    workspace_id: id("workspace id"),
    name: workspaceName.optional(),
    clear_name: z.boolean().default(false).describe("Remove the workspace's name (default false)"),
    labels: labelsInput.optional().describe("Labels to add or replace, {key: value}; keys never contain '='"),
    clear_labels: z.array(labelKey).optional().describe("Label keys to remove (a key the workspace lacks is ignored)"),
  }),
  result: workspaceInfo,
});

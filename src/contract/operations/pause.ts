import { z } from "zod";
import { defineOperation } from "../operation.js";
import { id } from "../common.js";
import { workspaceInfo } from "./workspaces.js";
import { workspaceName } from "../labels.js";

const workspaceId = z.object({ workspace_id: id("workspace id") });

export const pauseWorkspace = defineOperation({
  mcp: "workspace_pause",
  summary: "Pause a running workspace with its memory: shells, services and background commands resume as they were",
  details:
    "qemu backend only (the sandbox answers unsupported). The machine's memory and device state are saved next to its disk and its process ends: a paused workspace costs disk space, no CPU or memory. Open TCP connections do not survive; published ports are bound again on resume. A command running during the pause is ended. stop/start keep their cold meaning.",
  input: workspaceId,
  result: z.object({
    workspace_id: z.string(),
    state: z.literal("paused"),
    paused_at: z.string(),
    memory_bytes: z.number().int().describe("size of the saved memory and device state (0 when it was already paused)"),
    duration_ms: z.number().int(),
  }),
});

export const resumeWorkspace = defineOperation({
  mcp: "workspace_resume",
  summary: "Resume a paused workspace from its saved memory (clock stepped to the host's, entropy reseeded)",
  details: "If the saved state cannot be resumed (damaged, another QEMU), the call fails and the workspace can still be started cold with workspace_start.",
  input: workspaceId,
  result: z.object({
    workspace_id: z.string(),
    state: z.string(),
    paused_at: z.string(),
    downtime_ms: z.number().int().describe("time from the pause to the end of the resume"),
    duration_ms: z.number().int().describe("how long the resume took"),
  }),
});

export const forkWorkspace = defineOperation({
  mcp: "workspace_fork",
  summary: "Fork a running workspace, disk and memory: a new workspace in which the same shells, services and processes continue, with its own id, hostname and entropy",
  details:
    "qemu backend only (the sandbox answers unsupported). The source is paused only while its memory and disk are copied (copy-on-write where the filesystem can), then runs on; writes after the fork are not shared either way. Workspaces with published ports cannot be forked.",
  input: workspaceId.extend({
    name: workspaceName.optional().describe("A name for the new workspace, 1-64 printable characters (stored in its record)"),
  }),
  result: workspaceInfo.extend({
    forked_from: z.string(),
    name: z.string().nullable(),
    duration_ms: z.number().int().describe("how long the fork took, the source's copy and the fork's resume together"),
  }),
});

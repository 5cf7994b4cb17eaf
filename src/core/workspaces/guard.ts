import type { z } from "zod";
import { checkId } from "../ids.js";
import { redactResult, withRedactedErrors } from "./redaction.js";
import { loadSecrets, type SecretValues } from "./secrets.js";
import type { WorkspaceService } from "./service.js";

/**
 * Run an operation on one workspace so that neither its result nor any
 * PyroError it throws carries that workspace's secret values: every string of
 * the result (checked against `resultSchema`) is redacted, whatever call site
 * produced it — file paths from the guest, command output, listings, errors
 * quoting guest text.
 */
export async function withWorkspaceRedaction<R>(workspaces: WorkspaceService, workspaceId: string, resultSchema: z.ZodType, fn: () => Promise<R>): Promise<R> {
  let secrets: SecretValues = {};
  try {
    secrets = await loadSecrets(workspaces.files(checkId(workspaceId, "ws", "workspace")).secrets);
  } catch {
    // A bad id or an unreadable store: `fn` reports it.
  }
  // The id is pyro's, not guest text: a short secret inside it must not make it unusable.
  return redactResult(resultSchema, await withRedactedErrors(secrets, fn), secrets, new Set([workspaceId]));
}

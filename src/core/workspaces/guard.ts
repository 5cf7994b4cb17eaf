import { checkId } from "../ids.js";
import { withRedactedErrors } from "./redaction.js";
import { loadSecrets, type SecretValues } from "./secrets.js";
import type { WorkspaceService } from "./service.js";

/**
 * Run an operation on one workspace so that any PyroError it throws is
 * redacted of that workspace's secrets (guest errors quote guest text).
 */
export async function withWorkspaceRedaction<R>(workspaces: WorkspaceService, workspaceId: string, fn: () => Promise<R>): Promise<R> {
  let secrets: SecretValues = {};
  try {
    secrets = await loadSecrets(workspaces.files(checkId(workspaceId, "ws", "workspace")).secrets);
  } catch {
    // A bad id or an unreadable store: `fn` reports it.
  }
  return withRedactedErrors(secrets, fn);
}

import type { OperationResult, ParsedInput } from "../../contract/index.js";
import { NAME_LIMITS } from "../../contract/labels.js";
import { PyroError } from "../../util/errors.js";
import { checkId } from "../ids.js";
import { workspaceInfo, type WorkspaceRecord } from "./record.js";
import { loadSecrets, type SecretValues } from "./secrets.js";
import type { WorkspaceService } from "./service.js";

/** A workspace's name and labels as its record keeps them. */
export interface WorkspaceNaming {
  name: string | null;
  labels: Record<string, string>;
}

/**
 * Refuse a name or label that contains one of the workspace's secret values.
 * Records never hold a secret (`workspace list` reads them as they are), and
 * the error names the field and the secret, never the value.
 */
export function refuseSecretsIn(naming: Partial<WorkspaceNaming>, secrets: SecretValues): void {
  const texts: Array<[string, string]> = [];
  if (naming.name) texts.push(["name", naming.name]);
  for (const [key, value] of Object.entries(naming.labels ?? {})) texts.push(["a label key", key], ["a label value", value]);
  for (const [secret, value] of Object.entries(secrets)) {
    if (value.length === 0) continue;
    const found = texts.find(([, text]) => text.includes(value));
    if (!found) continue;
    throw new PyroError("invalid_argument", `the workspace's ${found[0]} contains the value of secret ${secret}`, {
      hint: "names and labels are shown unredacted by status and list: choose text without secret values",
    });
  }
}

/** Whether a record carries every label of `wanted` with the same value. */
export function hasLabels(record: Pick<WorkspaceRecord, "labels">, wanted: Record<string, string> | undefined): boolean {
  const labels = record.labels ?? {};
  return Object.entries(wanted ?? {}).every(([key, value]) => Object.hasOwn(labels, key) && labels[key] === value);
}

/** The name and labels after an update, checked: no contradictory request, no more labels than allowed. */
export function updatedNaming(current: WorkspaceNaming, input: ParsedInput<"updateWorkspace">): WorkspaceNaming {
  if (input.name !== undefined && input.clear_name) {
    throw new PyroError("invalid_argument", "name and clear_name contradict each other", { hint: "pass a new name, or clear_name (--clear-name), not both" });
  }
  const cleared = input.clear_labels ?? [];
  const both = cleared.filter((key) => Object.hasOwn(input.labels ?? {}, key));
  if (both.length > 0) {
    throw new PyroError("invalid_argument", `label ${JSON.stringify(both[0])} is both set and cleared`, { hint: "set it (--label) or clear it (--clear-label), not both" });
  }
  if (input.name === undefined && !input.clear_name && input.labels === undefined && cleared.length === 0) {
    throw new PyroError("invalid_argument", "nothing to update: give name, clear_name, labels or clear_labels", {
      hint: "e.g. pyro workspace update WS --name api --label team=core",
    });
  }
  const labels = { ...current.labels };
  for (const key of cleared) delete labels[key];
  Object.assign(labels, input.labels ?? {});
  if (Object.keys(labels).length > NAME_LIMITS.labels) {
    throw new PyroError("limit_exceeded", `a workspace carries at most ${NAME_LIMITS.labels} labels; this update would leave ${Object.keys(labels).length}`, {
      hint: "clear some labels (--clear-label KEY) in the same update",
    });
  }
  const name = input.clear_name ? null : (input.name ?? current.name);
  return { name, labels };
}

/**
 * `workspace update`: a new name and labels for a workspace, under its
 * record's lock. Only the record changes; the machine is not touched, so it
 * works in any state but `creating`.
 */
export async function updateWorkspace(service: WorkspaceService, input: ParsedInput<"updateWorkspace">): Promise<OperationResult<"updateWorkspace">> {
  const id = checkId(input.workspace_id, "ws", "workspace");
  const secrets = await loadSecrets(service.files(id).secrets);
  const record = await service.records.update(id, (current) => {
    if (current.state === "creating") {
      throw new PyroError("failed_precondition", `workspace ${id} is still being created`, { hint: "wait until `pyro workspace status` says running" });
    }
    const naming = updatedNaming({ name: current.name ?? null, labels: current.labels ?? {} }, input);
    refuseSecretsIn(naming, secrets);
    return { ...current, ...naming };
  });
  return workspaceInfo(await service.refreshed(record));
}

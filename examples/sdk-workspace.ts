/**
 * A persistent workspace: seed it from a host directory, run commands that keep their
 * files, push later host changes, compare against the baseline, snapshot, reset, export.
 *
 *   npx tsx examples/sdk-workspace.ts
 */
import { mkdtempSync, readFileSync, rmSync, writeFileSync, mkdirSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Pyro } from "pyro-mcp";

const host = mkdtempSync(join(tmpdir(), "pyro-example-"));
mkdirSync(join(host, "repo"));
writeFileSync(join(host, "repo", "note.txt"), "hello from the host\n");
mkdirSync(join(host, "changes"));
writeFileSync(join(host, "changes", "extra.txt"), "pushed later\n");

await using pyro = new Pyro();
const ws = await pyro.createWorkspace({ environment: "debian:12", seed_path: join(host, "repo") });
try {
  console.log(`workspace ${ws.workspace_id} on ${ws.backend}`);
  const first = await pyro.execWorkspace({ workspace_id: ws.workspace_id, command: "cat note.txt && echo built > out.txt" });
  console.log(first.stdout.trim());
  await pyro.pushWorkspaceSync({ workspace_id: ws.workspace_id, source_path: join(host, "changes") });
  const diff = await pyro.diffWorkspace({ workspace_id: ws.workspace_id });
  console.log(`changed since create: ${diff.files.map((file) => file.path).sort().join(", ")}`);
  await pyro.createSnapshot({ workspace_id: ws.workspace_id, snapshot_name: "checkpoint" });
  await pyro.execWorkspace({ workspace_id: ws.workspace_id, command: "rm out.txt" });
  await pyro.resetWorkspace({ workspace_id: ws.workspace_id, snapshot: "checkpoint" });
  await pyro.exportWorkspace({ workspace_id: ws.workspace_id, path: "out.txt", output_path: join(host, "out.txt") });
  console.log(`exported after reset: ${readFileSync(join(host, "out.txt"), "utf8").trim()}`);
} finally {
  await pyro.deleteWorkspace({ workspace_id: ws.workspace_id });
  rmSync(host, { recursive: true, force: true });
}

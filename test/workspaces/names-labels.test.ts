import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { Pyro } from "../../src/index.js";
import { ensureEnvironment } from "../../src/environments/index.js";
import { SUITE_BACKENDS } from "../helpers/backends.js";
import { runCli } from "../helpers/cli.js";
import { TEST_CACHE_DIR, pyroEnv, tempStateDir } from "../helpers/env.js";
import { expectPyroError } from "../helpers/errors.js";

const sandbox = SUITE_BACKENDS.find((b) => b.name === "sandbox")!;

// Issue 14: names and labels, through the SDK, on every backend; they live in pyro's record and survive the machine.
describe.each(SUITE_BACKENDS)("workspace names and labels on $name", ({ name: backend, available, needs }) => {
  const state = tempStateDir();
  let pyro: Pyro;
  let workspaceId: string;

  beforeAll(async () => {
    if (!available) return;
    await ensureEnvironment("debian:12", { cacheDir: TEST_CACHE_DIR, kernel: backend !== "sandbox" });
    pyro = new Pyro({ stateDir: state.dir, cacheDir: TEST_CACHE_DIR });
  }, 900_000);
  afterAll(async () => {
    if (workspaceId) await pyro.deleteWorkspace({ workspace_id: workspaceId }).catch(() => undefined);
    await pyro?.close();
    state.cleanup();
  });

  it.skipIf(!available)(`are set at create, shown by status and list, and survive stop/start and reset (needs ${needs})`, async () => {
    const created = await pyro.createWorkspace({
      environment: "debian:12",
      backend,
      allow_host_compat: true,
      name: "api server",
      labels: { team: "core", ticket: "a=b" },
    });
    workspaceId = created.workspace_id;
    expect(created.name).toBe("api server");
    expect(created.labels).toEqual({ team: "core", ticket: "a=b" });

    const updated = await pyro.updateWorkspace({ workspace_id: workspaceId, name: "api v2", labels: { stage: "test" }, clear_labels: ["ticket"] });
    expect(updated.name).toBe("api v2");
    expect(updated.labels).toEqual({ team: "core", stage: "test" });

    const stopped = await pyro.stopWorkspace({ workspace_id: workspaceId });
    expect([stopped.state, stopped.name, stopped.labels]).toEqual(["stopped", "api v2", { team: "core", stage: "test" }]);
    // A stopped workspace can be renamed: only the record changes.
    expect((await pyro.updateWorkspace({ workspace_id: workspaceId, labels: { stopped_once: "yes" } })).labels.stopped_once).toBe("yes");
    const started = await pyro.startWorkspace({ workspace_id: workspaceId });
    expect([started.state, started.name]).toEqual(["running", "api v2"]);
    expect(started.labels).toEqual({ team: "core", stage: "test", stopped_once: "yes" });

    const reset = await pyro.resetWorkspace({ workspace_id: workspaceId });
    expect([reset.state, reset.name]).toEqual(["running", "api v2"]);
    expect(reset.labels).toEqual({ team: "core", stage: "test", stopped_once: "yes" });

    const status = await pyro.statusWorkspace({ workspace_id: workspaceId });
    expect([status.name, status.labels]).toEqual(["api v2", { team: "core", stage: "test", stopped_once: "yes" }]);
    const listed = (await pyro.listWorkspaces()).workspaces.find((w) => w.workspace_id === workspaceId)!;
    expect([listed.name, listed.labels]).toEqual(["api v2", { team: "core", stage: "test", stopped_once: "yes" }]);

    const cleared = await pyro.updateWorkspace({ workspace_id: workspaceId, clear_name: true });
    expect(cleared.name).toBeNull();
  }, 600_000);
});

describe("workspace names and labels: filters, bad input, secrets (sandbox)", () => {
  const state = tempStateDir();
  const env = pyroEnv(state.dir, { PYRO_BACKEND: "sandbox" });
  let pyro: Pyro;
  const ids: string[] = [];
  const create = async (input: Record<string, unknown>) => {
    const created = await pyro.createWorkspace({ environment: "debian:12", backend: "sandbox", allow_host_compat: true, ...input });
    ids.push(created.workspace_id);
    return created;
  };

  beforeAll(async () => {
    if (!sandbox.available) return;
    await ensureEnvironment("debian:12", { cacheDir: TEST_CACHE_DIR, kernel: false });
    pyro = new Pyro({ stateDir: state.dir, cacheDir: TEST_CACHE_DIR });
  }, 900_000);
  afterAll(async () => {
    for (const id of ids) await pyro.deleteWorkspace({ workspace_id: id }).catch(() => undefined);
    await pyro?.close();
    state.cleanup();
  });

  it.skipIf(!sandbox.available)(`list --label keeps the workspaces carrying every given label (needs ${sandbox.needs})`, async () => {
    const a = await create({ labels: { team: "core", env: "dev" } });
    const b = await create({ labels: { team: "core", env: "prod" } });
    const c = await create({});
    const ids = (labels?: Record<string, string>) => pyro.listWorkspaces(labels ? { labels } : {}).then((r) => r.workspaces.map((w) => w.workspace_id).sort());
    expect(await ids({ team: "core" })).toEqual([a.workspace_id, b.workspace_id].sort());
    expect(await ids({ team: "core", env: "prod" })).toEqual([b.workspace_id]);
    expect(await ids({ team: "other" })).toEqual([]);
    expect(await ids()).toEqual([a.workspace_id, b.workspace_id, c.workspace_id].sort());

    // The CLI's --label filter is the same filter; its lines show name and labels.
    const run = await runCli(["workspace", "list", "--label", "env=prod"], env);
    expect(run.code, run.stderr).toBe(0);
    expect(run.stdout.trim().split("\n")).toEqual([expect.stringContaining(`${b.workspace_id} running`)]);
    expect(run.stdout).toContain('labels={"team":"core","env":"prod"}');
  }, 120_000);

  it.skipIf(!sandbox.available)(`refuses names over 64 characters, '=' in label keys and contradictory updates, saying why (needs ${sandbox.needs})`, async () => {
    const long = await expectPyroError(create({ name: "n".repeat(65) }), "invalid_argument");
    expect(long.message).toContain("name: a workspace name is at most 64 characters");
    expect((await create({ name: "n".repeat(64) })).name).toBe("n".repeat(64));
    const equals = await expectPyroError(create({ labels: { "a=b": "c" } }), "invalid_argument");
    expect(equals.message).toContain('a label key must not contain "="');
    const workspace = await create({ name: "x" });
    await expectPyroError(pyro.updateWorkspace({ workspace_id: workspace.workspace_id, labels: { "k=": "v" } }), "invalid_argument");
    const both = await expectPyroError(pyro.updateWorkspace({ workspace_id: workspace.workspace_id, name: "y", clear_name: true }), "invalid_argument");
    expect(both.message).toContain("contradict");
    const nothing = await expectPyroError(pyro.updateWorkspace({ workspace_id: workspace.workspace_id }), "invalid_argument");
    expect(nothing.message).toContain("nothing to update");
    await expectPyroError(pyro.updateWorkspace({ workspace_id: workspace.workspace_id, name: "bad\nname" }), "invalid_argument");
    expect((await pyro.statusWorkspace({ workspace_id: workspace.workspace_id })).name).toBe("x");
  }, 120_000);

  it.skipIf(!sandbox.available)(`never stores a secret value in a name or label, and the error does not quote it (needs ${sandbox.needs})`, async () => {
    const secret = "tok-9f8e7d6c5b4a";
    const error = await expectPyroError(create({ name: `deploy ${secret}`, secrets: [{ name: "TOKEN", value: secret }] }), "invalid_argument");
    expect(error.message).toContain("secret TOKEN");
    expect(JSON.stringify(error.toJSON())).not.toContain(secret);
    const workspace = await create({ name: "fine", secrets: [{ name: "TOKEN", value: secret }] });
    const update = await expectPyroError(pyro.updateWorkspace({ workspace_id: workspace.workspace_id, labels: { note: `x${secret}x` } }), "invalid_argument");
    expect(JSON.stringify(update.toJSON())).not.toContain(secret);
    const listed = JSON.stringify(await pyro.listWorkspaces());
    expect(listed).not.toContain(secret);
    expect(listed).toContain('"fine"');
  }, 120_000);

  it.skipIf(!sandbox.available)(`CLI: --name, --label, update, --id-only on create and shell open (needs ${sandbox.needs})`, async () => {
    const created = await runCli(["workspace", "create", "debian:12", "--allow-host-compat", "--name", "cli ws", "--label", "team=core", "--label", "url=http://x/?a=b", "--id-only"], env);
    expect(created.code, created.stderr).toBe(0);
    // Only the id on stdout: made for WS=$(pyro workspace create … --id-only).
    expect(created.stdout).toMatch(/^ws-[0-9a-f]{12}\n$/);
    const id = created.stdout.trim();
    ids.push(id);
    const status = JSON.parse((await runCli(["workspace", "status", id, "--json"], env)).stdout) as { name: string; labels: Record<string, string> };
    expect([status.name, status.labels]).toEqual(["cli ws", { team: "core", url: "http://x/?a=b" }]);

    const updated = await runCli(["workspace", "update", id, "--clear-name", "--clear-label", "team", "--label", "stage=qa", "--json"], env);
    expect(updated.code, updated.stderr).toBe(0);
    const after = JSON.parse(updated.stdout) as { name: string | null; labels: Record<string, string> };
    expect([after.name, after.labels]).toEqual([null, { url: "http://x/?a=b", stage: "qa" }]);

    const shell = await runCli(["workspace", "shell", "open", id, "--id-only"], env);
    expect(shell.code, shell.stderr).toBe(0);
    expect(shell.stdout).toMatch(/^[0-9a-f]+\n$/);

    const conflict = await runCli(["workspace", "create", "debian:12", "--id-only", "--json"], env);
    expect(conflict.code).toBe(2);
    expect(conflict.stderr).toContain("'--id-only' cannot be used with option '--json'");
    const twice = await runCli(["workspace", "update", id, "--label", "a=1", "--label", "a=2"], env);
    expect(twice.code).toBe(2);
    expect(twice.stderr).toContain("--label a is given twice");
  }, 120_000);
});

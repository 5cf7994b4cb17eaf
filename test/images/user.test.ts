import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { Pyro } from "../../src/index.js";
import { SUITE_BACKENDS } from "../helpers/backends.js";
import { TEST_CACHE_DIR, tempStateDir } from "../helpers/env.js";
import { baseRootfs, configOf, layerOf, manifestOf, pushImage } from "../helpers/oci-image.js";
import { startRegistry, type TestRegistry } from "../helpers/registry.js";

const sandbox = SUITE_BACKENDS.find((b) => b.name === "sandbox")!;
const qemu = SUITE_BACKENDS.find((b) => b.name === "qemu")!;

/**
 * Two images whose config sets a non-root User, pushed by a plain v2 client:
 * `User: "app"` (a name from its /etc/passwd, with a supplementary group
 * `staff` from its /etc/group) and `User: "1000:1000"`.
 */
async function pushUserImages(registry: TestRegistry): Promise<{ named: string; numeric: string }> {
  const base = layerOf(baseRootfs());
  const groups = layerOf([{ path: "etc/group", data: "root:x:0:\napp:x:1000:\nstaff:x:50:app\n" }]);
  const named = configOf({ env: ["PATH=/bin:/usr/bin"], user: "app", layers: [base, groups] });
  await pushImage(registry.host, "team/as-app", "v1", [named, base, groups], manifestOf(named, [base, groups]));
  const numeric = configOf({ env: ["PATH=/bin:/usr/bin"], user: "1000:1000", layers: [base] });
  await pushImage(registry.host, "team/as-uid", "v1", [numeric, base], manifestOf(numeric, [base]));
  return { named: `${registry.host}/team/as-app:v1`, numeric: `${registry.host}/team/as-uid:v1` };
}

async function until<T>(probe: () => Promise<T>, done: (value: T) => boolean, what: string, timeoutMs = 60_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe();
    if (done(value)) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}; last: ${JSON.stringify(value)}`);
    await new Promise((resolve) => setTimeout(resolve, 300));
  }
}

const NEW_FILE_PATCH = "--- /dev/null\n+++ b/patched.txt\n@@ -0,0 +1 @@\n+patched\n";

/**
 * Inside a describe: a loopback registry holding the two User images, and a
 * `Pyro` on a state dir of its own, set up before its tests and torn down after.
 */
function userImageFixture(): { stateDir: string; pyro: () => Pyro; refs: () => { named: string; numeric: string } } {
  const state = tempStateDir();
  let registry: TestRegistry | undefined;
  let pyro: Pyro | undefined;
  let refs: { named: string; numeric: string } | undefined;
  beforeAll(async () => {
    registry = await startRegistry();
    refs = await pushUserImages(registry);
    pyro = new Pyro({ stateDir: state.dir, cacheDir: TEST_CACHE_DIR });
  }, 300_000);
  afterAll(async () => {
    await registry?.stop();
    state.cleanup();
  });
  return { stateDir: state.dir, pyro: () => pyro!, refs: () => refs! };
}

describe.skipIf(!qemu.available)(`a workspace from an image with a non-root User on qemu (needs ${qemu.needs})`, () => {
  const fixture = userImageFixture();
  const host = mkdtempSync(join(tmpdir(), "pyro-image-user-"));
  let pyro: Pyro;
  let refs: { named: string; numeric: string };
  beforeAll(() => {
    pyro = fixture.pyro();
    refs = fixture.refs();
  });
  afterAll(() => rmSync(host, { recursive: true, force: true }));

  it("exec, shells, services and background commands run as the User; what pyro writes is the User's; reset keeps it", async () => {
    const seed = join(host, "seed");
    mkdirSync(join(seed, "src"), { recursive: true });
    writeFileSync(join(seed, "note.txt"), "seeded\n");
    writeFileSync(join(seed, "src", "main.txt"), "main\n");
    const ws = await pyro.createWorkspace({
      environment: refs.named,
      backend: "qemu",
      seed_path: seed,
      secrets: [{ name: "TOKEN", value: "user-secret-value" }],
    });
    const id = ws.workspace_id;
    const exec = async (command: string) => {
      const result = await pyro.execWorkspace({ workspace_id: id, command, timeout_seconds: 60 });
      expect(result.stderr).toBe("");
      expect(result.exit_code).toBe(0);
      return result.stdout;
    };

    // Exec: uid, gid, the supplementary group from /etc/group, HOME from /etc/passwd.
    expect(await exec("id -u; id -g; id -G; echo $HOME")).toBe("1000\n1000\n1000 50\n/home/app\n");
    // /workspace and the seed are the User's, and the User edits them.
    expect(await exec("stat -c %u:%g /workspace note.txt src src/main.txt; echo edited >> note.txt; mkdir made; cat note.txt")).toBe(
      "1000:1000\n1000:1000\n1000:1000\n1000:1000\nseeded\nedited\n",
    );
    // Secrets: the User's (directory 0700, file 0400), nobody else's.
    expect(await exec("stat -c %a:%u:%g /run/pyro-secrets /run/pyro-secrets/TOKEN; wc -c < /run/pyro-secrets/TOKEN")).toBe("700:1000:1000\n400:1000:1000\n17\n");

    // workspace_file_write: a new file and its new parents.
    await pyro.writeWorkspaceFile({ workspace_id: id, path: "new/deep/written.txt", text: "written\n" });
    // sync push into a new directory.
    const changes = join(host, "changes");
    mkdirSync(join(changes, "sub"), { recursive: true });
    writeFileSync(join(changes, "sub", "synced.txt"), "synced\n");
    await pyro.pushWorkspaceSync({ workspace_id: id, source_path: changes, dest: "/workspace/pushed" });
    // patch apply: a new file.
    await pyro.applyWorkspacePatch({ workspace_id: id, patch: NEW_FILE_PATCH });
    expect(
      await exec(
        "stat -c %u:%g new new/deep new/deep/written.txt pushed pushed/sub pushed/sub/synced.txt patched.txt; " +
          "echo more >> new/deep/written.txt && echo more >> pushed/sub/synced.txt && echo more >> patched.txt && cat new/deep/written.txt pushed/sub/synced.txt patched.txt",
      ),
    ).toBe(`${"1000:1000\n".repeat(7)}written\nmore\nsynced\nmore\npatched\nmore\n`);

    // A shell.
    const shell = await pyro.openShell({ workspace_id: id });
    await pyro.writeShell({ workspace_id: id, shell_id: shell.shell_id, input: 'echo "shell-$(id -u):$(id -g)-$HOME"' });
    let cursor = 0;
    let text = "";
    await until(
      async () => {
        const chunk = await pyro.readShell({ workspace_id: id, shell_id: shell.shell_id, cursor });
        cursor = chunk.next_cursor;
        text += chunk.output;
        return text;
      },
      (seen) => seen.includes("shell-1000:1000-/home/app"),
      "the shell's id",
    );
    await pyro.closeShell({ workspace_id: id, shell_id: shell.shell_id });

    // A service: it writes as the User, and its file is the User's.
    await pyro.startService({ workspace_id: id, service_name: "who", command: "id -u > /workspace/service.txt; sleep 120" });
    await until(() => pyro.execWorkspace({ workspace_id: id, command: "cat service.txt 2>/dev/null; true" }), (r) => r.stdout === "1000\n", "the service's id");
    expect(await exec("stat -c %u:%g service.txt")).toBe("1000:1000\n");
    await pyro.stopService({ workspace_id: id, service_name: "who" });

    // A background command.
    const started = await pyro.execWorkspace({ workspace_id: id, command: "id -u; id -g", background: true });
    const done = await pyro.waitWorkspaceCommand({ workspace_id: id, command_id: started.command_id as string, timeout_seconds: 60 });
    expect(done).toMatchObject({ finished: true, exit_code: 0, output: "1000\n1000\n" });

    // Snapshot, break, reset: restored files (and /workspace) are the User's again, and editable.
    await pyro.createSnapshot({ workspace_id: id, snapshot_name: "checkpoint" });
    await exec("rm -r pushed note.txt");
    await pyro.resetWorkspace({ workspace_id: id, snapshot: "checkpoint" });
    expect(await exec("stat -c %u:%g /workspace note.txt made pushed/sub/synced.txt; echo after >> pushed/sub/synced.txt; stat -c %a:%u /run/pyro-secrets/TOKEN")).toBe(
      `${"1000:1000\n".repeat(4)}400:1000\n`,
    );
    // Reset to the baseline: the seed as created, the User's.
    await pyro.resetWorkspace({ workspace_id: id, snapshot: "baseline" });
    expect(await exec("stat -c %u:%g /workspace note.txt src/main.txt; cat note.txt; touch again")).toBe("1000:1000\n1000:1000\n1000:1000\nseeded\n");

    // Export and diff are unaffected.
    await exec("echo changed > note.txt");
    const out = join(host, "exported.txt");
    await pyro.exportWorkspace({ workspace_id: id, path: "note.txt", output_path: out });
    expect(readFileSync(out, "utf8")).toBe("changed\n");
    const diff = await pyro.diffWorkspace({ workspace_id: id });
    expect(diff.summary).toEqual({ added: 1, modified: 1, deleted: 0 });

    await pyro.deleteWorkspace({ workspace_id: id });
  }, 1_200_000);

  it("User 1000:1000: exec runs as it, /workspace and written files are its; a one-shot run too", async () => {
    const ws = await pyro.createWorkspace({ environment: refs.numeric, backend: "qemu" });
    const id = ws.workspace_id;
    await pyro.writeWorkspaceFile({ workspace_id: id, path: "w.txt", text: "w\n" });
    const probe = await pyro.execWorkspace({ workspace_id: id, command: "id -u; id -g; stat -c %u:%g /workspace w.txt; echo more >> w.txt && touch made && stat -c %u made" });
    expect(probe).toMatchObject({ exit_code: 0, stderr: "", stdout: "1000\n1000\n1000:1000\n1000:1000\n1000\n" });
    await pyro.deleteWorkspace({ workspace_id: id });
    const run = await pyro.runInVm({ environment: refs.numeric, backend: "qemu", command: "id -u; id -g", timeout_seconds: 120 });
    expect(run).toMatchObject({ exit_code: 0, stdout: "1000\n1000\n" });
  }, 900_000);
});

describe.skipIf(!sandbox.available)(`an image with a non-root User on the sandbox (needs ${sandbox.needs})`, () => {
  const fixture = userImageFixture();
  let pyro: Pyro;
  let refs: { named: string; numeric: string };
  beforeAll(() => {
    pyro = fixture.pyro();
    refs = fixture.refs();
  });

  // The sandbox's user namespace maps root only: it refuses rather than run the image as root (docs/images.md).
  it("refuses a workspace create and a one-shot run with unsupported, naming qemu, and leaves nothing behind", async () => {
    for (const environment of [refs.named, refs.numeric]) {
      const refusal = { code: "unsupported", message: expect.stringContaining("the sandbox backend can run only as root"), hint: expect.stringContaining("--backend qemu") };
      await expect(pyro.createWorkspace({ environment, backend: "sandbox", allow_host_compat: true })).rejects.toMatchObject(refusal);
      await expect(pyro.runInVm({ environment, backend: "sandbox", allow_host_compat: true, command: "id -u" })).rejects.toMatchObject(refusal);
    }
    expect((await pyro.listWorkspaces({})).workspaces).toEqual([]);
    // Refused before any record or machine directory was made.
    for (const kind of ["vms", "workspaces"]) expect(existsSync(join(fixture.stateDir, kind)) ? readdirSync(join(fixture.stateDir, kind)) : []).toEqual([]);
  }, 300_000);
});

import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { CATALOG_VERSION } from "../../src/environments/catalog.js";
import { ensureEnvironment } from "../../src/environments/index.js";
import { SUITE_BACKENDS } from "../helpers/backends.js";
import { runCli } from "../helpers/cli.js";
import { REPO_ROOT, TEST_CACHE_DIR, pyroEnv, tempStateDir } from "../helpers/env.js";

const sandbox = SUITE_BACKENDS.find((b) => b.name === "sandbox")!;

// Issue 20: human output says something when a list is empty; counts say what the user pushed;
// --version names the package and the catalog; env inspect lists the packages.
describe("CLI human output (issue 20)", () => {
  const state = tempStateDir();
  const env = pyroEnv(state.dir, { PYRO_BACKEND: "sandbox" });
  const host = mkdtempSync(join(tmpdir(), "pyro-cli-empty-"));
  afterAll(() => {
    state.cleanup();
    rmSync(host, { recursive: true, force: true });
  });

  it("--version prints the package version and the catalog version", async () => {
    const version = (JSON.parse(readFileSync(join(REPO_ROOT, "package.json"), "utf8")) as { version: string }).version;
    const result = await runCli(["--version"], env);
    expect(result.code).toBe(0);
    expect(result.stdout).toBe(`pyro ${version} (environment catalog ${CATALOG_VERSION})\n`);
  });

  it("an empty workspace list says so on stderr, leaving stdout to the items", async () => {
    const result = await runCli(["workspace", "list"], env);
    expect(result.code).toBe(0);
    expect(result.stdout).toBe("");
    expect(result.stderr).toContain("No workspaces. Create one with `pyro workspace create debian:12`.");
  });

  it("env inspect lists an environment's Debian packages", async () => {
    const result = await runCli(["env", "inspect", "debian:12"], env);
    expect(result.code).toBe(0);
    expect(result.stdout).toContain('packages: ["git","ca-certificates","python3"]\n');
    expect(result.stdout).toContain("suite: bookworm\n");
  });

  describe.skipIf(!sandbox.available)(`in a workspace (needs ${sandbox.needs})`, () => {
    let id = "";
    beforeAll(async () => {
      await ensureEnvironment("debian:12", { cacheDir: TEST_CACHE_DIR, kernel: false });
      const seed = join(host, "seed");
      mkdirSync(seed);
      writeFileSync(join(seed, "note.txt"), "seeded\n");
      const created = await runCli(["workspace", "create", "debian:12", "--seed-path", seed, "--json"], env);
      expect(created.code, created.stderr).toBe(0);
      const record = JSON.parse(created.stdout) as { workspace_id: string; workspace_seed: { entries: number } };
      id = record.workspace_id;
      // One file seeded: one entry (the archive's root is /workspace itself).
      expect(record.workspace_seed.entries).toBe(1);
    }, 900_000);
    afterAll(async () => {
      if (id) await runCli(["workspace", "delete", id], env);
    });

    it("logs, service list and a silent service's logs say they are empty", async () => {
      const logs = await runCli(["workspace", "logs", id], env);
      expect(logs.code).toBe(0);
      expect(logs.stdout).toBe("");
      expect(logs.stderr).toContain(`No commands have run in ${id} yet`);
      // (snapshot list always holds the baseline.)
      const services = await runCli(["workspace", "service", "list", id], env);
      expect(services.stderr).toContain(`No services in ${id}.`);
      const started = await runCli(["workspace", "service", "start", id, "quiet", "--", "sleep", "600"], env);
      expect(started.code, started.stderr).toBe(0);
      const quiet = await runCli(["workspace", "service", "logs", id, "quiet"], env);
      expect(quiet.code).toBe(0);
      expect(quiet.stdout).toBe("");
      expect(quiet.stderr).toContain(`Service quiet of ${id} has written no output yet.`);
      expect((await runCli(["workspace", "service", "stop", id, "quiet"], env)).code).toBe(0);
    });

    it("syncing and exporting one file both say 1 entry", async () => {
      const changes = join(host, "changes");
      mkdirSync(changes);
      writeFileSync(join(changes, "note.txt"), "changed\n");
      const synced = await runCli(["workspace", "sync", "push", id, changes], env);
      expect(synced.code, synced.stderr).toBe(0);
      expect(synced.stdout).toMatch(/^Synced 1 entry \(8 B\) into \/workspace\n$/);
      const exported = await runCli(["workspace", "export", id, "note.txt", "--output", join(host, "note.txt")], env);
      expect(exported.code, exported.stderr).toBe(0);
      expect(exported.stdout).toContain("(1 entry, 8 B)");
      expect(readFileSync(join(host, "note.txt"), "utf8")).toBe("changed\n");
    });
  });
});

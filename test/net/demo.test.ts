import { spawn, spawnSync, type ChildProcess } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { DEMO_NETWORK_REPO, demoCommand } from "../../src/cli/demo.js";
import { ensureEnvironment } from "../../src/environments/index.js";
import { SUITE_BACKENDS } from "../helpers/backends.js";
import { runCli } from "../helpers/cli.js";
import { TEST_CACHE_DIR, tempStateDir } from "../helpers/env.js";
import { createNetLab, LAB, NETLAB_AVAILABLE, type NetLab } from "../helpers/netlab.js";
import { pidsMentioning } from "../helpers/processes.js";

const sandbox = SUITE_BACKENDS.find((b) => b.name === "sandbox")!;
const ok = sandbox.available && NETLAB_AVAILABLE && spawnSync("sh", ["-c", "command -v git"]).status === 0;
/** Where the lab's wan serves the demo's git repository (the wan's other servers use LAB.port). */
const GIT_PORT = LAB.port + 1;

// A static file server: enough for git's "dumb" HTTP protocol.
const STATIC_SERVER = `
const http = require("node:http"), fs = require("node:fs"), path = require("node:path");
const [root, host, port] = process.argv.slice(1);
http.createServer((q, r) => {
  const file = path.join(root, decodeURIComponent(new URL(q.url, "http://x").pathname));
  if (!file.startsWith(root + "/")) return r.writeHead(403).end();
  fs.readFile(file, (e, d) => (e ? r.writeHead(404).end() : r.writeHead(200).end(d)));
}).listen(Number(port), host);
`;

function git(args: string[]): void {
  const run = spawnSync("git", ["-c", "user.name=pyro", "-c", "user.email=pyro@example.invalid", "-c", "init.defaultBranch=main", ...args], { encoding: "utf8" });
  if (run.status !== 0) throw new Error(`git ${args.join(" ")}: ${run.stderr}`);
}

// Issue 13: `pyro demo --network` as the seeds show it. By design it lists a
// public repository over HTTPS; here --repo-url points it at a repository the
// lab's wan namespace serves, and pyro runs inside the lab, so no packet of
// this test leaves the namespaces it made.
describe("pyro demo --network", () => {
  const state = tempStateDir();
  const host = mkdtempSync(join(tmpdir(), "pyro-demo-"));
  const env = { ...process.env, PYRO_STATE_DIR: state.dir, PYRO_ENVIRONMENT_CACHE_DIR: TEST_CACHE_DIR, PYRO_BACKEND: "sandbox" };
  let lab: NetLab;
  let server: ChildProcess | undefined;
  const pyro = (args: string[]) => runCli(args, env, { timeoutMs: 300_000, wrap: lab.inOuter });

  beforeAll(async () => {
    if (!ok) return;
    await ensureEnvironment("debian:12", { cacheDir: TEST_CACHE_DIR, kernel: false });
    git(["init", "-q", join(host, "work")]);
    git(["-C", join(host, "work"), "commit", "-q", "--allow-empty", "-m", "hello"]);
    git(["clone", "-q", "--bare", join(host, "work"), join(host, "hello.git")]);
    git(["-C", join(host, "hello.git"), "update-server-info"]);
    lab = await createNetLab();
    server = spawn("ip", ["netns", "exec", lab.wan, process.execPath, "-e", STATIC_SERVER, host, LAB.wan, String(GIT_PORT)], { stdio: "ignore" });
    for (let i = 0; i < 100; i += 1) {
      const probe = spawnSync("ip", ["netns", "exec", lab.outer, "git", "ls-remote", `http://${LAB.wan}:${GIT_PORT}/hello.git`], { timeout: 5000 });
      if (probe.status === 0) return;
      await new Promise((r) => setTimeout(r, 50));
    }
    throw new Error("the lab's git server did not come up");
  }, 900_000);
  afterAll(() => {
    server?.kill("SIGKILL");
    lab?.cleanup();
    state.cleanup();
    rmSync(host, { recursive: true, force: true });
  });

  it("lists a public repository over HTTPS by default, and nothing without --network", () => {
    expect(demoCommand(true)).toBe(`git --version && git ls-remote --exit-code '${DEMO_NETWORK_REPO}' HEAD`);
    expect(demoCommand(false)).toBe("git --version");
    expect(demoCommand(true, "http://x/it's.git")).toContain(`'http://x/it'\\''s.git'`);
  });

  it.skipIf(!ok)("reaches the repository from inside a networked guest, prints the one-shot result and leaves nothing (needs bwrap, root, ip, slirp4netns, nft, git)", async () => {
    const run = await pyro(["demo", "--network", "--allow-host-compat", "--repo-url", `http://${LAB.wan}:${GIT_PORT}/hello.git`]);
    expect(run.code, run.stderr + run.stdout).toBe(0);
    const result = JSON.parse(run.stdout) as { exit_code: number; stdout: string; environment: string; cleanup: { deleted: boolean; reason: string } };
    expect(result.environment).toBe("debian:12");
    expect(result.stdout).toMatch(/^git version .*\n[0-9a-f]{40}\tHEAD\n$/);
    expect(result.cleanup).toMatchObject({ deleted: true, reason: "post_exec_cleanup" });
    expect(pidsMentioning(state.dir)).toEqual([]);
  });

  it.skipIf(!ok)("fails, with the guest's error, when the repository cannot be reached", async () => {
    // The private address behind the wan is refused by the egress filter: a failure, never a quiet success.
    const run = await pyro(["demo", "--network", "--allow-host-compat", "--repo-url", `http://${LAB.privateAddress}:${LAB.port}/hello.git`]);
    expect(run.code).not.toBe(0);
    const result = JSON.parse(run.stdout) as { exit_code: number; stderr: string };
    expect(result.exit_code).not.toBe(0);
    expect(result.stderr).toMatch(/unable to access|Failed to connect|Connection refused/i);
  });

  it.skipIf(!ok)("refuses --repo-url without --network, and a URL that is not one", async () => {
    const alone = await pyro(["demo", "--repo-url", `http://${LAB.wan}:${GIT_PORT}/hello.git`]);
    expect(alone.code).toBe(2);
    expect(alone.stderr).toContain("--repo-url is used only by the network demo");
    const bad = await pyro(["demo", "--network", "--repo-url", "not a url"]);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toContain("--repo-url must be an http(s):// or git:// URL");
  });
});

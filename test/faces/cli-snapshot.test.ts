import { spawn, spawnSync } from "node:child_process";
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, readFileSync, readlinkSync, realpathSync, renameSync, rmSync, statSync, symlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { Client } from "@modelcontextprotocol/sdk/client/index.js";
import { StdioClientTransport } from "@modelcontextprotocol/sdk/client/stdio.js";
import { REPO_ROOT } from "../helpers/env.js";

// The bin (dist/cli.js, scripts/cli-loader.mjs) as a shell script starts the `node` on PATH from the CLI's
// startup snapshot when dist/cli-snapshot.key says it is valid, else itself as a module (the code cache).
// PYRO_LOADER_TRACE=1 makes each path say on stderr which one ran.
const pathNode = spawnSync("sh", ["-c", "command -v node"], { encoding: "utf8" }).stdout.trim();
const sameNode = pathNode !== "" && realpathSync(pathNode) === realpathSync(process.execPath);
const SNAPSHOT = "[pyro] loader: startup snapshot\n";
const CODE_CACHE = "[pyro] loader: code cache\n";

describe.skipIf(!sameNode)(`the bin's startup snapshot (needs PATH's node to be the Node running the tests: ${pathNode || "none"} vs ${process.execPath})`, () => {
  let root: string;
  let dist: string;
  let bin: string;
  beforeEach(() => {
    // A copy of the package's CLI files, so the snapshot this builds and damages is the test's own.
    root = mkdtempSync(join(tmpdir(), "pyro-snap-"));
    dist = join(root, "dist");
    bin = join(dist, "cli.js");
    mkdirSync(dist);
    copyFileSync(join(REPO_ROOT, "package.json"), join(root, "package.json"));
    for (const file of ["cli.js", "cli-bundle.cjs", "cli-snapshot-build.cjs"]) copyFileSync(join(REPO_ROOT, "dist", file), join(dist, file));
  });
  afterEach(() => rmSync(root, { recursive: true, force: true }));

  const build = () => spawnSync(process.execPath, [join(dist, "cli-snapshot-build.cjs")], { encoding: "utf8" });
  const run = (file: string, args: string[], env: Record<string, string> = {}) =>
    spawnSync(file, args, { encoding: "utf8", env: { ...process.env, NODE_OPTIONS: "", PYRO_LOADER_TRACE: "1", ...env } });
  const fromCodeCache = (args: string[]) => spawnSync(process.execPath, [bin, ...args], { encoding: "utf8", env: { ...process.env, PYRO_SNAPSHOT: "0" } });

  it("is used when valid, and a command's words, stdout, stderr and exit status are the code cache path's", () => {
    const built = build();
    expect(built.status, built.stderr).toBe(0);
    expect(statSync(join(dist, "cli-snapshot.blob")).size).toBeGreaterThan(1_000_000);
    for (const args of [["--version"], ["nosuchcmd", "--flag"], ["run", "--help"]]) {
      const snap = run(bin, args);
      const cached = fromCodeCache(args);
      expect(snap.stderr.startsWith(SNAPSHOT), snap.stderr).toBe(true);
      expect(snap.stdout).toBe(cached.stdout);
      expect(snap.stderr.slice(SNAPSHOT.length)).toBe(cached.stderr);
      expect(snap.status).toBe(cached.status);
    }
    expect(run(bin, ["nosuchcmd"]).status).toBe(2);
  });

  it("an npm-style symlink to the bin finds the snapshot beside its target", () => {
    expect(build().status).toBe(0);
    const links = join(root, "bin");
    mkdirSync(links);
    symlinkSync(bin, join(links, "pyro"));
    const linked = run(join(links, "pyro"), ["--version"]);
    expect(linked.stderr).toBe(SNAPSHOT);
    expect(linked.stdout).toMatch(/^pyro \d+\.\d+\.\d+ /);
  });

  it("serves MCP over stdio from the snapshot (stdin and stdout are Node's own), and SIGINT reaches its handler", async () => {
    expect(build().status).toBe(0);
    const stateDir = join(root, "state");
    const transport = new StdioClientTransport({ command: bin, args: ["mcp", "serve"], env: { ...(process.env as Record<string, string>), NODE_OPTIONS: "", PYRO_LOADER_TRACE: "1", PYRO_STATE_DIR: stateDir }, stderr: "pipe" });
    let stderr = "";
    transport.stderr?.on("data", (chunk: Buffer) => (stderr += chunk.toString()));
    const client = new Client({ name: "pyro-snapshot-test", version: "1.0.0" });
    await client.connect(transport);
    try {
      const { tools } = await client.listTools();
      expect(tools.map((t) => t.name)).toContain("vm_run");
      expect(stderr).toContain(SNAPSHOT);
    } finally {
      await client.close();
    }
    // The launcher execs: the process is node itself, started from the blob, so a signal is Node's to handle.
    const server = spawn(bin, ["mcp", "serve"], { env: { ...process.env, NODE_OPTIONS: "", PYRO_STATE_DIR: stateDir }, stdio: ["pipe", "pipe", "pipe"] });
    let cmdline = "";
    for (let i = 0; i < 100 && !cmdline.includes("--snapshot-blob"); i++) {
      await new Promise((r) => setTimeout(r, 50));
      cmdline = readFileSync(`/proc/${server.pid}/cmdline`, "utf8").split("\0").join(" ");
    }
    expect(cmdline).toContain(`--snapshot-blob ${join(dist, "cli-snapshot.blob")} -- ${bin} mcp serve`);
    expect(realpathSync(readlinkSync(`/proc/${server.pid}/exe`))).toBe(realpathSync(process.execPath));
    const exited = new Promise<[number | null, string | null]>((resolve) => server.on("exit", (code, signal) => resolve([code, signal])));
    // Once it answers, its SIGINT handler is set (src/mcp/stdio.ts): the handler ends it cleanly, exit 0, not death by the signal.
    const answered = new Promise((resolve) => server.stdout.once("data", resolve));
    server.stdin.write(`${JSON.stringify({ jsonrpc: "2.0", id: 1, method: "initialize", params: { protocolVersion: "2024-11-05", capabilities: {}, clientInfo: { name: "t", version: "1" } } })}\n`);
    await answered;
    server.kill("SIGINT");
    expect(await exited).toEqual([0, null]);
  });

  /** Wait for the background build a fallback run started to end (its lock gone), so it does not outlive the test's directory. */
  const rebuilt = async () => {
    for (let i = 0; i < 300 && existsSync(join(dist, "cli-snapshot.lock")); i++) await new Promise((r) => setTimeout(r, 100));
  };

  it("a damaged blob, or another Node's, is not used: the command runs from the code cache, and the next valid snapshot is built in the background", async () => {
    expect(build().status).toBe(0);
    const blob = join(dist, "cli-snapshot.blob");
    // Damaged in place, same size (a bad disk, a hand edit): Node would crash on it, the launcher never passes it.
    const size = statSync(blob).size;
    writeFileSync(blob, Buffer.alloc(size, 0x5a));
    const damaged = run(bin, ["--version"]);
    expect(damaged.stderr).toBe(CODE_CACHE);
    expect(damaged.stdout).toMatch(/^pyro \d+\.\d+\.\d+ /);
    expect(damaged.status).toBe(0);
    // That run's exit started a rebuild: the bin soon starts from a snapshot again.
    let again = run(bin, ["--version"]);
    for (let i = 0; i < 200 && again.stderr !== SNAPSHOT; i++) {
      await new Promise((r) => setTimeout(r, 100));
      again = run(bin, ["--version"]);
    }
    expect(again.stderr).toBe(SNAPSHOT);
    expect(existsSync(join(dist, "cli-snapshot.lock"))).toBe(false);
    // A blob put in its place (another Node's, another package's): a different file, so not this key's.
    writeFileSync(join(root, "other.js"), "require('node:v8').startupSnapshot.setDeserializeMainFunction(() => process.stdout.write('wrong blob\\n'));\n");
    expect(spawnSync(process.execPath, ["--snapshot-blob", join(root, "other.blob"), "--build-snapshot", join(root, "other.js")]).status).toBe(0);
    renameSync(join(root, "other.blob"), blob);
    const foreign = run(bin, ["--version"]);
    expect(foreign.stderr).toBe(CODE_CACHE);
    expect(foreign.stdout).toMatch(/^pyro \d+\.\d+\.\d+ /);
    await rebuilt();
  }, 60_000);

  it("another node first on PATH (an upgrade, a version manager) is not handed this one's blob: it runs the code cache, and builds its own", async () => {
    expect(build().status).toBe(0);
    // A copy is another file (inode, times): to the launcher, another Node.
    const other = join(root, "other-node");
    mkdirSync(other);
    copyFileSync(process.execPath, join(other, "node"));
    spawnSync("chmod", ["755", join(other, "node")]);
    const path = `${other}:${process.env.PATH ?? ""}`;
    const first = run(bin, ["--version"], { PATH: path });
    expect(first.stderr).toBe(CODE_CACHE);
    expect(first.stdout).toMatch(/^pyro \d+\.\d+\.\d+ /);
    let later = run(bin, ["--version"], { PATH: path });
    for (let i = 0; i < 200 && later.stderr !== SNAPSHOT; i++) {
      await new Promise((r) => setTimeout(r, 100));
      later = run(bin, ["--version"], { PATH: path });
    }
    expect(later.stderr).toBe(SNAPSHOT);
    expect(readFileSync(join(dist, "cli-snapshot.key"), "utf8").split("\n")[0]).toMatch(new RegExp(`^\\d+:${statSync(join(other, "node")).ino}:`));
    // The key now names the other node: this one falls back in turn (and starts its own build again).
    expect(run(bin, ["--version"]).stderr).toBe(CODE_CACHE);
    await rebuilt();
  }, 60_000);

  it("a bundle whose top level reads the building process's state gets no snapshot: the build says what was read, is not retried, and the bin keeps to the code cache", async () => {
    // src/cli.ts's last statement, as esbuild writes it; the probe reads HOME at the top level, before the guard settles.
    const bundle = join(dist, "cli-bundle.cjs");
    const hook = "startupSnapshot.isBuildingSnapshot())prepareSnapshot();";
    const text = readFileSync(bundle, "utf8");
    expect(text).toContain(hook);
    writeFileSync(bundle, text.replace(hook, "startupSnapshot.isBuildingSnapshot())void process.env.HOME,prepareSnapshot();"));
    const built = build();
    expect(built.status).toBe(1);
    expect(built.stderr).toMatch(/pyro: no startup snapshot .*read process\.env\.HOME \(line \d+\)/);
    for (const file of ["cli-snapshot.blob", "cli-snapshot.key", "cli-snapshot.lock"]) expect(existsSync(join(dist, file)), file).toBe(false);
    const failed = statSync(join(dist, "cli-snapshot.failed")).mtimeMs;
    const fallback = run(bin, ["--version"]);
    expect(fallback.stderr).toBe(CODE_CACHE);
    expect(fallback.stdout).toMatch(/^pyro \d+\.\d+\.\d+ /);
    // Recorded as failed for this node and bundle: no background build starts.
    await new Promise((r) => setTimeout(r, 1000));
    expect(existsSync(join(dist, "cli-snapshot.lock"))).toBe(false);
    expect(statSync(join(dist, "cli-snapshot.failed")).mtimeMs).toBe(failed);
  });

  it("a read-only install, as another user finds a global one: no build is tried without a snapshot, and one built by root serves", async () => {
    spawnSync("chmod", ["a-w,go+rx", dist]);
    spawnSync("chmod", ["go+rx", root]);
    const asNobody = () => spawnSync("setpriv", ["--reuid=65534", "--regid=65534", "--clear-groups", bin, "--version"], { encoding: "utf8", env: { ...process.env, NODE_OPTIONS: "", PYRO_LOADER_TRACE: "1" } });
    try {
      const bare = asNobody();
      expect(bare.stderr).toBe(CODE_CACHE);
      expect(bare.stdout).toMatch(/^pyro \d+\.\d+\.\d+ /);
      expect(bare.status).toBe(0);
      await new Promise((r) => setTimeout(r, 500));
      for (const file of ["cli-snapshot.blob", "cli-snapshot.lock", "cli-snapshot.failed"]) expect(existsSync(join(dist, file)), file).toBe(false);
      spawnSync("chmod", ["u+w", dist]);
      expect(build().status).toBe(0);
      spawnSync("chmod", ["a-w,go+rx", dist]);
      const served = asNobody();
      expect(served.stderr).toBe(SNAPSHOT);
      expect(served.stdout).toBe(bare.stdout);
    } finally {
      spawnSync("chmod", ["u+w", dist]);
    }
  });

  it("NODE_OPTIONS (flags a snapshot was not built with) or PYRO_SNAPSHOT=0 keep to the code cache; a missing builder only costs the snapshot", () => {
    expect(build().status).toBe(0);
    expect(run(bin, ["--version"], { NODE_OPTIONS: "--no-warnings" }).stderr).toBe(CODE_CACHE);
    expect(run(bin, ["--version"], { PYRO_SNAPSHOT: "0" }).stderr).toBe(CODE_CACHE);
    rmSync(join(dist, "cli-snapshot.key"));
    rmSync(join(dist, "cli-snapshot-build.cjs"));
    const bare = run(bin, ["--version"]);
    expect(bare.stderr).toBe(CODE_CACHE);
    expect(bare.status).toBe(0);
  });
});

describe.skipIf(!sameNode)("the package's own build", () => {
  // `npm run build` builds the snapshot; it fails (and the bin falls back) when a module's top level reads
  // the building process's state (src/cli-snapshot-guard.ts): this test is where that shows.
  it("left a valid startup snapshot in dist/, which the bin uses", () => {
    const run = spawnSync(join(REPO_ROOT, "dist", "cli.js"), ["--version"], { encoding: "utf8", env: { ...process.env, NODE_OPTIONS: "", PYRO_LOADER_TRACE: "1" } });
    expect(existsSync(join(REPO_ROOT, "dist", "cli-snapshot.failed")), "the build recorded a failure: its reason was printed by npm run build").toBe(false);
    expect(run.stderr).toBe(SNAPSHOT);
    expect(run.status).toBe(0);
  });
});

import { spawn, spawnSync, type ChildProcess } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";

/** A running Debian `docker-registry` (CNCF distribution) on loopback. */
export interface TestRegistry {
  /** `127.0.0.1:PORT`, usable as PYRO_OCI_REGISTRY. */
  host: string;
  /** Filesystem storage root of the registry. */
  storageDir: string;
  /** Path of a stored blob's data file (to tamper with it). */
  blobPath(digest: string): string;
  stop(): Promise<void>;
}

/** A TCP port that was free a moment ago. */
export function freePort(): Promise<number> {
  return new Promise((resolvePromise, reject) => {
    const server = createServer();
    server.once("error", reject);
    server.listen(0, "127.0.0.1", () => {
      const address = server.address();
      const port = typeof address === "object" && address ? address.port : 0;
      server.close(() => resolvePromise(port));
    });
  });
}

async function waitReady(host: string, child: ChildProcess, log: () => string, ready = [200]): Promise<void> {
  const deadline = Date.now() + 20_000;
  while (Date.now() < deadline) {
    if (child.exitCode !== null) throw new Error(`docker-registry exited (${child.exitCode}): ${log()}`);
    try {
      const response = await fetch(`http://${host}/v2/`);
      if (ready.includes(response.status)) return;
    } catch {
      // not listening yet
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`docker-registry did not become ready: ${log()}`);
}

/** A bcrypt htpasswd line for `user:password` (libcrypt through python3's crypt; null when that is unavailable). */
export function htpasswdLine(user: string, password: string): string | null {
  const made = spawnSync("python3", ["-W", "ignore", "-c", "import crypt,sys; print(crypt.crypt(sys.argv[1], crypt.mksalt(crypt.METHOD_BLOWFISH)))", password], { encoding: "utf8" });
  const hash = made.stdout?.trim() ?? "";
  return made.status === 0 && hash.startsWith("$2") ? `${user}:${hash}` : null;
}

/**
 * Start `docker-registry serve` with filesystem storage in a temp dir,
 * deletes enabled; no auth, or basic auth from an htpasswd line.
 */
export async function startRegistry(options: { htpasswd?: string } = {}): Promise<TestRegistry> {
  const root = mkdtempSync(join(tmpdir(), "pyro-registry-"));
  const storageDir = join(root, "storage");
  const port = await freePort();
  const host = `127.0.0.1:${port}`;
  const config = join(root, "config.yml");
  writeFileSync(
    config,
    [
      "version: 0.1",
      "log:",
      "  level: warn",
      "storage:",
      "  filesystem:",
      `    rootdirectory: ${storageDir}`,
      "  delete:",
      "    enabled: true",
      ...(options.htpasswd ? ["auth:", "  htpasswd:", "    realm: pyro-test", `    path: ${join(root, "htpasswd")}`] : []),
      "http:",
      `  addr: ${host}`,
      "",
    ].join("\n"),
  );
  if (options.htpasswd) writeFileSync(join(root, "htpasswd"), `${options.htpasswd}\n`);
  const child = spawn("docker-registry", ["serve", config], { stdio: ["ignore", "ignore", "pipe"] });
  let output = "";
  child.stderr?.setEncoding("utf8").on("data", (chunk: string) => {
    output = (output + chunk).slice(-4000);
  });
  await waitReady(host, child, () => output, options.htpasswd ? [401] : [200]);
  return {
    host,
    storageDir,
    blobPath: (digest) => {
      const hex = digest.replace(/^sha256:/, "");
      return join(storageDir, "docker", "registry", "v2", "blobs", "sha256", hex.slice(0, 2), hex, "data");
    },
    stop: async () => {
      if (child.exitCode === null) {
        const exited = new Promise((r) => child.once("exit", r));
        child.kill("SIGTERM");
        await exited;
      }
      rmSync(root, { recursive: true, force: true });
    },
  };
}

import { execFileSync, spawn, type ChildProcess } from "node:child_process";
import { mkdtempSync, readdirSync, rmSync, statSync } from "node:fs";
import { createConnection, type Socket } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";

/** The agent's Go module. */
export const AGENT_DIR = fileURLToPath(new URL("../../agent/", import.meta.url));
/** The binary `npm run build:agent` produces. */
export const AGENT_BIN = join(AGENT_DIR, "dist", "pyro-agent");

function newestSource(dir: string): number {
  let newest = 0;
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    if (entry.name === "dist" || entry.name.startsWith(".")) continue;
    const path = join(dir, entry.name);
    if (entry.isDirectory()) newest = Math.max(newest, newestSource(path));
    else if (/\.go$|^go\.(mod|sum)$/.test(entry.name)) newest = Math.max(newest, statSync(path).mtimeMs);
  }
  return newest;
}

/** Build agent/dist/pyro-agent when it is missing or older than its sources. */
export function ensureAgentBuilt(): string {
  let built = 0;
  try {
    built = statSync(AGENT_BIN).mtimeMs;
  } catch {
    built = 0;
  }
  if (built < newestSource(AGENT_DIR)) {
    execFileSync("go", ["build", "-trimpath", "-o", "dist/pyro-agent", "./cmd/pyro-agent"], {
      cwd: AGENT_DIR,
      env: { ...process.env, CGO_ENABLED: "0" },
      stdio: ["ignore", "inherit", "inherit"],
    });
  }
  return AGENT_BIN;
}

/** A real agent serving on a Unix socket in a temp dir. */
export interface RunningAgent {
  process: ChildProcess;
  dir: string;
  socketPath: string;
  /** Everything the agent wrote to stderr so far. */
  stderr(): string;
  /** Open a new connection to the agent. */
  connect(): Promise<Socket>;
  /** Kill the agent and remove its dir. */
  stop(): Promise<void>;
}

/** Options of {@link startAgent}. */
export interface StartAgentOptions {
  /** More agent flags. */
  args?: string[];
  /** A command and its arguments to run the agent under (e.g. `unshare …`). */
  wrapper?: string[];
}

/** Start `pyro-agent --listen unix:…` and wait for its READY line. */
export async function startAgent(options: StartAgentOptions = {}): Promise<RunningAgent> {
  const bin = ensureAgentBuilt();
  const dir = mkdtempSync(join(tmpdir(), "pyro-agent-test-"));
  const socketPath = join(dir, "agent.sock");
  const argv = [...(options.wrapper ?? []), bin, "--listen", `unix:${socketPath}`, ...(options.args ?? [])];
  const child = spawn(argv[0]!, argv.slice(1), { stdio: ["ignore", "pipe", "pipe"] });
  let stderr = "";
  child.stderr!.on("data", (chunk: Buffer) => (stderr += chunk.toString()));
  await new Promise<void>((resolve, reject) => {
    let out = "";
    const timer = setTimeout(() => reject(new Error(`agent not ready after 10 s; stderr: ${stderr}`)), 10_000);
    child.stdout!.on("data", (chunk: Buffer) => {
      out += chunk.toString();
      if (out.includes("READY\n")) {
        clearTimeout(timer);
        resolve();
      }
    });
    child.once("exit", (code) => {
      clearTimeout(timer);
      reject(new Error(`agent exited with ${code} before READY; stderr: ${stderr}`));
    });
  });
  return {
    process: child,
    dir,
    socketPath,
    stderr: () => stderr,
    connect: () =>
      new Promise<Socket>((resolve, reject) => {
        const socket = createConnection(socketPath, () => {
          socket.off("error", reject);
          resolve(socket);
        });
        socket.once("error", reject);
      }),
    stop: async () => {
      if (child.exitCode === null && child.signalCode === null) {
        const exited = new Promise((r) => child.once("exit", r));
        child.kill("SIGKILL");
        await exited;
      }
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

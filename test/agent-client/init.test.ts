import { spawn, spawnSync } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { Readable } from "node:stream";
import { afterEach, describe, expect, it } from "vitest";
import { AgentClient } from "../../src/agent-client/index.js";
import { ensureAgentBuilt, startAgent, type RunningAgent } from "../helpers/agent.js";

const MiB = 1024 * 1024;
// New PID, mount and UTS namespaces: the agent is PID 1 there, and its
// hostname cannot touch the host's.
const UNSHARE = ["unshare", "--pid", "--fork", "--mount-proc", "--uts", "--kill-child"];
const canUnshare =
  process.getuid?.() === 0 && spawnSync(UNSHARE[0]!, [...UNSHARE.slice(1), "true"], { stdio: "ignore" }).status === 0;

const agents: RunningAgent[] = [];
afterEach(async () => {
  for (const a of agents.splice(0)) await a.stop();
});

function exited(agent: RunningAgent): Promise<number | null> {
  if (agent.process.exitCode !== null) return Promise.resolve(agent.process.exitCode);
  return new Promise((resolve) => agent.process.once("exit", (code) => resolve(code)));
}

describe("agent shutdown without init duties", () => {
  it("answers shutdown, then exits 0", async () => {
    const agent = await startAgent({ args: ["--sandbox"] });
    agents.push(agent);
    const client = await AgentClient.connect(await agent.connect(), { helloTimeoutMs: 5000 });
    expect(client.has("shutdown")).toBe(true);
    await client.request("sync");
    await client.request("shutdown", { action: "poweroff" });
    expect(await exited(agent)).toBe(0);
  });
});

describe.skipIf(!canUnshare)("agent as PID 1 of a sandbox", () => {
  it("sets the hostname, reaps orphans, and exits on shutdown", async () => {
    const agent = await startAgent({ wrapper: UNSHARE, args: ["--sandbox", "--hostname", "pyro-test-box"] });
    agents.push(agent);
    const client = await AgentClient.connect(await agent.connect(), { helloTimeoutMs: 5000 });
    // The worker is init's child, not PID 1 itself.
    expect(client.hello.pid).toBeGreaterThan(1);
    expect(client.hello.hostname).toBe("pyro-test-box");

    // Orphans (the shell exits at once, its background children live on)
    // are re-parented to init and must be reaped there.
    await client.exec({ argv: ["sh", "-c", "for i in 1 2 3 4 5; do (sleep 0.2 &) ; done"] }, { maxBufferedBytes: MiB });
    await new Promise((r) => setTimeout(r, 700));
    const ps = await client.exec(
      { argv: ["sh", "-c", "cat /proc/[0-9]*/stat 2>/dev/null | awk '{print $3}' | sort | uniq -c"] },
      { maxBufferedBytes: MiB },
    );
    expect(ps.exit_code).toBe(0);
    expect(ps.stdout).not.toMatch(/\bZ\b/);

    // Exec's own exit statuses are not stolen by the reaper.
    for (let i = 0; i < 20; i++) {
      const r = await client.exec({ argv: ["sh", "-c", `exit ${i}`] }, { maxBufferedBytes: MiB });
      expect(r.exit_code).toBe(i);
    }

    await client.request("shutdown");
    expect(await exited(agent)).toBe(0);
  });

  it("restarts a crashed worker", async () => {
    const agent = await startAgent({ wrapper: UNSHARE, args: ["--sandbox"] });
    agents.push(agent);
    const client = await AgentClient.connect(await agent.connect(), { helloTimeoutMs: 5000 });
    const outcome = client.exec({ argv: ["sh", "-c", "kill -KILL $PPID; sleep 5"] }, { maxBufferedBytes: MiB }).then(
      () => null,
      (e: unknown) => e,
    );
    expect(await outcome).toMatchObject({ code: "guest_failure" });
    let again: AgentClient | null = null;
    for (let i = 0; i < 50 && again === null; i++) {
      await new Promise((r) => setTimeout(r, 100));
      again = await agent.connect().then(
        (s) => AgentClient.connect(s, { helloTimeoutMs: 2000 }),
        () => null,
      );
    }
    expect(again).not.toBeNull();
    await again!.ping();
    await again!.close();
  });
});

/**
 * Run the agent with fd 3 a pipe; resolve with what fd 3 carried, once it
 * carried READY and, when `eof`, once it was closed.
 */
async function readyFdOutput(wrapper: string[], eof: boolean): Promise<string> {
  const dir = mkdtempSync(join(tmpdir(), "pyro-ready-fd-"));
  const argv = [...wrapper, ensureAgentBuilt(), "--listen", `unix:${join(dir, "a.sock")}`, "--sandbox", "--ready-fd", "3"];
  const child = spawn(argv[0]!, argv.slice(1), { stdio: ["ignore", "ignore", "inherit", "pipe"] });
  try {
    let text = "";
    const fd3 = child.stdio[3] as Readable;
    await new Promise<void>((resolve, reject) => {
      fd3.on("data", (c: Buffer) => {
        text += c.toString();
        if (!eof && text.includes("\n")) resolve();
      });
      fd3.once("end", resolve);
      setTimeout(() => reject(new Error(`fd 3 carried ${JSON.stringify(text)} and stayed open`)), 10_000);
    });
    return text;
  } finally {
    child.kill("SIGKILL");
    rmSync(dir, { recursive: true, force: true });
  }
}

describe("--ready-fd", () => {
  it("writes READY and closes the fd", async () => {
    expect(await readyFdOutput([], true)).toBe("READY\n");
  });

  // unshare's own process keeps its copy of fd 3 open: no EOF to wait for.
  it.skipIf(!canUnshare)("works through the init supervisor", async () => {
    expect(await readyFdOutput(UNSHARE, false)).toBe("READY\n");
  });
});

import { mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { Readable, Writable } from "node:stream";
import { afterEach, describe, expect, it } from "vitest";
import { AgentClient, deadlineFor } from "../../src/agent-client/index.js";
import { PyroError } from "../../src/util/errors.js";
import { startAgent, type RunningAgent } from "../helpers/agent.js";

// Host-side bounds of agent requests (src/agent-client/deadline.ts), against
// the real agent made unresponsive the only honest way: SIGSTOP. A stopped
// process keeps its socket open and never answers.

const MiB = 1024 * 1024;
const agents: RunningAgent[] = [];

async function fresh(stallMs?: number): Promise<{ agent: RunningAgent; client: AgentClient }> {
  const agent = await startAgent();
  agents.push(agent);
  return { agent, client: await AgentClient.connect(await agent.connect(), { helloTimeoutMs: 5000, ...(stallMs ? { stallMs } : {}) }) };
}

afterEach(async () => {
  for (const a of agents.splice(0)) await a.stop();
});

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

/** Settle `promise`, returning its error (or null) and how long it took. */
async function timed(promise: Promise<unknown>): Promise<{ error: unknown; ms: number }> {
  const start = Date.now();
  const error = await promise.then(
    () => null,
    (e: unknown) => e,
  );
  return { error, ms: Date.now() - start };
}

describe("host-side deadlines of agent requests", () => {
  it("an exec whose agent stops answering fails with timeout at its timeout plus the margin; the agent then kills the command", async () => {
    const { agent, client } = await fresh();
    let pid = 0;
    const started = Date.now();
    const pending = timed(
      client.exec({ argv: ["sleep", "60"], timeout_ms: 500 }, { maxBufferedBytes: MiB, onStarted: (p) => (pid = p) }),
    );
    while (pid === 0) await new Promise((r) => setTimeout(r, 10));
    agent.process.kill("SIGSTOP");
    const { error } = await pending;
    const elapsed = Date.now() - started;
    expect(deadlineFor(500)).toBe(10_500);
    expect(elapsed).toBeGreaterThanOrEqual(10_400);
    expect(elapsed).toBeLessThan(13_000);
    expect(error).toBeInstanceOf(PyroError);
    expect(error).toMatchObject({ code: "timeout", message: expect.stringMatching(/did not answer exec within 10\.5 s/) });
    expect((error as PyroError).hint).toMatch(/wedged.*reset the workspace/);
    expect(client.closed).toBe(true);
    // The session was torn down: once the agent runs again it sees the disconnect and kills the session's command.
    expect(alive(pid)).toBe(true);
    agent.process.kill("SIGCONT");
    for (let i = 0; i < 100 && alive(pid); i++) await new Promise((r) => setTimeout(r, 20));
    expect(alive(pid)).toBe(false);
  }, 30_000);

  it("a request without a timeout of its own fails once it stalls; others on the session learn why", async () => {
    const { agent, client } = await fresh(400);
    agent.process.kill("SIGSTOP");
    const [ping, exec] = await Promise.all([timed(client.ping()), timed(client.exec({ argv: ["true"], timeout_ms: 60_000 }, { maxBufferedBytes: MiB }))]);
    expect(ping.ms).toBeGreaterThanOrEqual(390);
    expect(ping.ms).toBeLessThan(3000);
    expect(ping.error).toMatchObject({ code: "timeout", message: expect.stringMatching(/made no progress on ping for 0\.4 s/) });
    expect(exec.error).toMatchObject({ code: "timeout", message: expect.stringMatching(/torn down while exec was running.*ping/) });
  });

  it("an upload into a stopped agent fails once the transport stops taking bytes", async () => {
    const { agent, client } = await fresh(500);
    agent.process.kill("SIGSTOP");
    // Endless zeros: only the stall bound can end this upload.
    const zeros = Readable.from(
      (function* () {
        for (;;) yield Buffer.alloc(64 * 1024);
      })(),
    );
    const { error, ms } = await timed(client.putArchive("/tmp/never", zeros, 1024 * MiB));
    zeros.destroy();
    expect(error).toMatchObject({ code: "timeout", message: expect.stringMatching(/no progress on put_archive/) });
    expect(ms).toBeLessThan(5000);
  });

  it("time the host holds the transport for a slow sink is not a stall", async () => {
    const { agent, client } = await fresh(300);
    mkdirSync(join(agent.dir, "tree"));
    writeFileSync(join(agent.dir, "tree", "big.bin"), Buffer.alloc(4 * MiB, 1));
    let first = true;
    let bytes = 0;
    const sink = new Writable({
      highWaterMark: 1,
      write(chunk: Buffer, _encoding, callback) {
        bytes += chunk.length;
        // One long hold, past the stall bound: the client pauses the transport meanwhile.
        if (first) {
          first = false;
          setTimeout(callback, 1200);
        } else callback();
      },
    });
    const { error, ms } = await timed(client.getArchive(join(agent.dir, "tree"), sink, 64 * MiB));
    expect(error).toBeNull();
    expect(ms).toBeGreaterThanOrEqual(1200);
    expect(bytes).toBeGreaterThan(4 * MiB);
  });

  it("a silent exec within its deadline is not a stall", async () => {
    const { client } = await fresh(200);
    const result = await client.exec({ argv: ["sleep", "1"], timeout_ms: 5000 }, { maxBufferedBytes: MiB });
    expect(result).toMatchObject({ exit_code: 0, timed_out: false });
    expect(client.closed).toBe(false);
    await client.close();
  });
});

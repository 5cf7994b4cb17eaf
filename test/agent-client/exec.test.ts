import { PassThrough } from "node:stream";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { AgentClient } from "../../src/agent-client/index.js";
import { PyroError } from "../../src/util/errors.js";
import { startAgent, type RunningAgent } from "../helpers/agent.js";

let agent: RunningAgent;
let client: AgentClient;

beforeAll(async () => {
  agent = await startAgent();
  client = await AgentClient.connect(await agent.connect(), { helloTimeoutMs: 5000 });
}, 120_000);

afterAll(async () => {
  await client?.close();
  await agent?.stop();
});

const MiB = 1024 * 1024;

describe("AgentClient against the real agent", () => {
  it("says hello with capabilities", () => {
    expect(client.hello.protocol_version).toBe(1);
    expect(client.has("exec")).toBe(true);
    expect(client.has("exec.stdin")).toBe(true);
    expect(client.hello.pid).toBe(agent.process.pid);
    expect(client.hello.agent_version).toMatch(/^\d+\.\d+\.\d+/);
  });

  it("pings", async () => {
    await client.ping();
  });

  it("runs a command and reports output and exit code", async () => {
    const chunks: string[] = [];
    let pid = 0;
    const r = await client.exec(
      { argv: ["/bin/sh", "-c", "echo hello; echo oops >&2; exit 7"], env: { A: "b" } },
      { maxBufferedBytes: MiB, onStdout: (c) => chunks.push(c.toString()), onStarted: (p) => (pid = p) },
    );
    expect(r).toMatchObject({ exit_code: 7, signal: null, timed_out: false, stdout: "hello\n", stderr: "oops\n" });
    expect(r.stdout_truncated).toBe(false);
    expect(chunks.join("")).toBe("hello\n");
    expect(pid).toBeGreaterThan(0);
    expect(r.duration_ms).toBeGreaterThanOrEqual(0);
  });

  it("reports a death by signal", async () => {
    const r = await client.exec({ argv: ["sh", "-c", "kill -TERM $$"] }, { maxBufferedBytes: MiB });
    expect(r).toMatchObject({ exit_code: 143, signal: "TERM", timed_out: false });
  });

  it("kills a command at its timeout, children included", async () => {
    const started = Date.now();
    const r = await client.exec({ argv: ["sh", "-c", "sleep 30 & sleep 31"], timeout_ms: 300 }, { maxBufferedBytes: MiB });
    expect(r).toMatchObject({ exit_code: 124, timed_out: true, signal: "KILL" });
    expect(Date.now() - started).toBeLessThan(5000);
  });

  it("decodes invalid UTF-8 lossily", async () => {
    const r = await client.exec({ argv: ["printf", "a\\377b"] }, { maxBufferedBytes: MiB });
    expect(r.stdout).toBe("a\uFFFDb");
  });

  it("truncates in the agent at max_output_bytes", async () => {
    const r = await client.exec({ argv: ["sh", "-c", "head -c 100000 /dev/zero"], max_output_bytes: 1000 }, { maxBufferedBytes: MiB });
    expect(r.stdout.length).toBe(1000);
    expect(r.stdout_truncated).toBe(true);
    expect(r.stdout_bytes).toBe(100000);
  });

  it("bounds 50 MB of output on the host without holding it", async () => {
    const total = 50 * MiB;
    let streamed = 0;
    let peak = 0;
    const before = process.memoryUsage();
    const r = await client.exec(
      { argv: ["head", "-c", String(total), "/dev/zero"], max_output_bytes: 64 * MiB, timeout_ms: 60_000 },
      {
        maxBufferedBytes: MiB,
        onStdout: (c) => {
          streamed += c.length;
          if ((streamed & (4 * MiB - 1)) < c.length) peak = Math.max(peak, process.memoryUsage().rss);
        },
      },
    );
    expect(streamed).toBe(total);
    expect(r.stdout.length).toBe(MiB);
    expect(r.stdout_truncated).toBe(true);
    expect(r.stdout_bytes).toBe(total);
    expect(r.exit_code).toBe(0);
    // Holding the output would cost 50 MiB or more; bounded, it stays far below.
    expect(peak - before.rss).toBeLessThan(40 * MiB);
  });

  it("feeds stdin from a string and from a stream", async () => {
    const r1 = await client.exec({ argv: ["tr", "a-z", "A-Z"] }, { maxBufferedBytes: MiB, stdin: "hello world\n" });
    expect(r1.stdout).toBe("HELLO WORLD\n");
    const source = new PassThrough();
    const pending = client.exec({ argv: ["wc", "-c"] }, { maxBufferedBytes: MiB, stdin: source });
    const block = Buffer.alloc(MiB, 0x61);
    for (let i = 0; i < 5; i++) source.write(block);
    source.end();
    const r2 = await pending;
    expect(r2.stdout.trim()).toBe(String(5 * MiB));
  });

  it("sends a signal when aborted", async () => {
    const controller = new AbortController();
    const pending = client.exec(
      { argv: ["sleep", "30"] },
      { maxBufferedBytes: MiB, signal: controller.signal, abortSignal: "INT", onStarted: () => controller.abort() },
    );
    await expect(pending).resolves.toMatchObject({ exit_code: 130, signal: "INT", timed_out: false });
    await expect(client.exec({ argv: ["true"] }, { maxBufferedBytes: MiB, signal: controller.signal })).rejects.toThrow(PyroError);
  });

  it("runs execs concurrently on one connection", async () => {
    const started = Date.now();
    const results = await Promise.all(
      Array.from({ length: 10 }, (_, i) =>
        client.exec({ argv: ["sh", "-c", `sleep 0.5; echo run-${i}; exit ${i}`] }, { maxBufferedBytes: MiB }),
      ),
    );
    results.forEach((r, i) => expect(r).toMatchObject({ exit_code: i, stdout: `run-${i}\n` }));
    expect(Date.now() - started).toBeLessThan(4000);
  });

  it("maps agent errors to PyroError codes", async () => {
    await expect(client.exec({ argv: ["no-such-command-xyz"] }, { maxBufferedBytes: MiB })).rejects.toMatchObject({
      code: "not_found",
    });
    await expect(client.exec({ argv: ["true"], cwd: "/no/such/dir" }, { maxBufferedBytes: MiB })).rejects.toMatchObject({
      code: "not_found",
    });
    await expect(client.exec({ argv: [] }, { maxBufferedBytes: MiB })).rejects.toMatchObject({ code: "invalid_argument" });
    await expect(client.request("frobnicate")).rejects.toMatchObject({ code: "unsupported" });
  });

  it("runs a command on a PTY", async () => {
    const r = await client.exec({ argv: ["sh", "-c", "stty size; tty"], pty: { cols: 91, rows: 33 } }, { maxBufferedBytes: MiB });
    expect(r.stdout).toContain("33 91");
    expect(r.stdout).toContain("/dev/pts/");
    expect(r.exit_code).toBe(0);
  });
});

import { afterEach, describe, expect, it } from "vitest";
import { AgentClient } from "../../src/agent-client/index.js";
import { PyroError } from "../../src/util/errors.js";
import { startAgent, type RunningAgent } from "../helpers/agent.js";

const MiB = 1024 * 1024;
const agents: RunningAgent[] = [];

async function fresh(): Promise<{ agent: RunningAgent; client: AgentClient }> {
  const agent = await startAgent();
  agents.push(agent);
  return { agent, client: await AgentClient.connect(await agent.connect(), { helloTimeoutMs: 5000 }) };
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

describe("AgentClient lifecycle", () => {
  it("rejects pending execs with a clear error when the agent dies", async () => {
    const { agent, client } = await fresh();
    const pending = client.exec({ argv: ["sleep", "30"] }, { maxBufferedBytes: MiB, onStarted: () => agent.process.kill("SIGKILL") });
    const error = await pending.then(
      () => null,
      (e: unknown) => e,
    );
    expect(error).toBeInstanceOf(PyroError);
    expect((error as PyroError).code).toBe("guest_failure");
    expect((error as PyroError).message).toMatch(/the guest agent connection closed while exec was running/);
    expect(client.closed).toBe(true);
    await expect(client.ping()).rejects.toMatchObject({ code: "guest_failure" });
  });

  it("kills a session's execs when the client closes", async () => {
    const { client } = await fresh();
    let pid = 0;
    const outcome = client
      .exec({ argv: ["sleep", "30"] }, { maxBufferedBytes: MiB, onStarted: (p) => (pid = p) })
      .then(() => null, (e: unknown) => e);
    while (pid === 0) await new Promise((r) => setTimeout(r, 10));
    await client.close();
    expect(await outcome).toMatchObject({ code: "guest_failure", message: expect.stringMatching(/closed by the host while exec/) });
    for (let i = 0; i < 100 && alive(pid); i++) await new Promise((r) => setTimeout(r, 20));
    expect(alive(pid)).toBe(false);
  });

  it("serves several connections, and a new one after a dropped one", async () => {
    const { agent, client } = await fresh();
    const second = await AgentClient.connect(await agent.connect(), { helloTimeoutMs: 5000 });
    const [a, b] = await Promise.all([
      client.exec({ argv: ["echo", "one"] }, { maxBufferedBytes: MiB }),
      second.exec({ argv: ["echo", "two"] }, { maxBufferedBytes: MiB }),
    ]);
    expect(a.stdout + b.stdout).toBe("one\ntwo\n");
    (await agent.connect()).destroy();
    await second.close();
    const third = await AgentClient.connect(await agent.connect(), { helloTimeoutMs: 5000 });
    await third.ping();
    await third.close();
    await client.close();
  });

  it("refuses an agent older than the minimum protocol version", async () => {
    const { agent } = await fresh();
    const error = await AgentClient.connect(await agent.connect(), { helloTimeoutMs: 5000, minProtocolVersion: 2 }).then(
      () => null,
      (e: unknown) => e,
    );
    expect(error).toBeInstanceOf(PyroError);
    expect((error as PyroError).code).toBe("guest_failure");
    expect((error as PyroError).message).toMatch(/protocol version 1, but this pyro needs at least 2/);
    expect((error as PyroError).hint).toMatch(/pyro env pull/);
  });
});

import { createServer, createConnection, type Server, type Socket } from "node:net";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { AgentClient } from "../../src/agent-client/index.js";
import { FrameKind, HEADER_SIZE, MAX_PAYLOAD, SYNC_MARKER, encodeControl, parseControl } from "../../src/protocol/index.js";

const servers: Array<{ server: Server; dir: string }> = [];
afterEach(() => {
  for (const s of servers.splice(0)) {
    s.server.close();
    rmSync(s.dir, { recursive: true, force: true });
  }
});

/**
 * An agent on a serial port whose previous session is stuck inside a frame:
 * it swallows `staleBytes` as the rest of that frame, then reads frames as the
 * agent does (an unknown kind ends the session), and a new session skips to
 * `PYROSYNC` and answers the hello that follows. Records every nonce answered.
 */
async function staleSerialAgent(staleBytes: number): Promise<{ path: string; answered: string[] }> {
  const dir = mkdtempSync(join(tmpdir(), "pyro-resync-"));
  const path = join(dir, "s");
  const answered: string[] = [];
  const server = createServer((socket: Socket) => {
    let buf = Buffer.alloc(0);
    let stale = staleBytes;
    let inSession = true; // the old session, mid-frame
    socket.on("data", (chunk: Buffer) => {
      buf = Buffer.concat([buf, chunk]);
      for (;;) {
        if (stale > 0) {
          const eaten = Math.min(stale, buf.length);
          stale -= eaten;
          buf = buf.subarray(eaten);
          if (stale > 0) return;
        }
        if (inSession) {
          if (buf.length < HEADER_SIZE) return;
          const length = buf.readUInt32BE(0);
          const kind = buf.readUInt8(4);
          if (kind < FrameKind.CONTROL || kind > FrameKind.STDERR || length > MAX_PAYLOAD) {
            inSession = false; // protocol error: the session ends, the port's buffer stays
            continue;
          }
          if (buf.length < HEADER_SIZE + length) return;
          buf = buf.subarray(HEADER_SIZE + length); // a frame of the dead session: dropped
          continue;
        }
        const at = buf.indexOf(Buffer.from(SYNC_MARKER));
        if (at < 0) {
          buf = buf.subarray(Math.max(0, buf.length - SYNC_MARKER.length));
          return;
        }
        const start = at + SYNC_MARKER.length;
        if (buf.length < start + HEADER_SIZE) return;
        const length = buf.readUInt32BE(start);
        if (buf.length < start + HEADER_SIZE + length) return;
        const hello = parseControl(buf.subarray(start + HEADER_SIZE, start + HEADER_SIZE + length));
        buf = buf.subarray(start + HEADER_SIZE + length);
        inSession = true;
        answered.push(String(hello.nonce));
        socket.write(
          Buffer.concat([
            Buffer.from(SYNC_MARKER),
            encodeControl(0, { type: "hello", protocol_version: 1, agent_version: "9.9.9", nonce: hello.nonce, capabilities: [], pid: 1, hostname: "stale" }),
          ]),
        );
      }
    });
  });
  await new Promise<void>((resolve) => server.listen(path, resolve));
  servers.push({ server, dir });
  return { path, answered };
}

function connectTo(path: string): Promise<Socket> {
  return new Promise((resolve, reject) => {
    const socket = createConnection(path, () => resolve(socket));
    socket.once("error", reject);
  });
}

describe("hello resynchronisation on serial transports", () => {
  it("flushes a stale half frame and answers the second hello only", async () => {
    const agent = await staleSerialAgent(700 * 1024);
    const client = await AgentClient.connect(await connectTo(agent.path), { helloTimeoutMs: 5_000, resyncAfterMs: 200 });
    expect(client.hello.hostname).toBe("stale");
    // The first hello was swallowed as stale payload; only the hello after the flush got an answer.
    expect(agent.answered).toHaveLength(1);
    await client.close();
  });

  it("without resync, a stale half frame makes the hello time out (why serial transports opt in)", async () => {
    const agent = await staleSerialAgent(700 * 1024);
    await expect(AgentClient.connect(await connectTo(agent.path), { helloTimeoutMs: 600 })).rejects.toMatchObject({ code: "guest_failure" });
    expect(agent.answered).toHaveLength(0);
  });
});

import { createServer, createConnection, type Server, type Socket } from "node:net";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { AgentClient } from "../../src/agent-client/index.js";
import { HelloScanner } from "../../src/agent-client/hello.js";
import { FrameDecoder, FrameKind, SYNC_MARKER, encodeControl, encodeFrame, type Frame } from "../../src/protocol/index.js";
import { PyroError } from "../../src/util/errors.js";

const MiB = 1024 * 1024;

/** A scripted agent: `onFrame` sees every host frame after the hello. */
interface Fake {
  server: Server;
  path: string;
  dir: string;
}

const fakes: Fake[] = [];
afterEach(() => {
  for (const f of fakes.splice(0)) {
    f.server.close();
    rmSync(f.dir, { recursive: true, force: true });
  }
});

function helloReply(nonce: string, version = 1): Buffer {
  return encodeControl(0, {
    type: "hello",
    protocol_version: version,
    agent_version: "9.9.9",
    nonce,
    capabilities: ["exec"],
    pid: 42,
    hostname: "fake",
  });
}

/** Start a fake agent. `script` gets the socket, the host's nonce, and every later frame. */
async function fakeAgent(script: (socket: Socket, nonce: string, frames: AsyncIterable<Frame>) => Promise<void> | void): Promise<Socket> {
  const dir = mkdtempSync(join(tmpdir(), "pyro-fake-agent-"));
  const path = join(dir, "s");
  const server = createServer((socket) => {
    const queue: Frame[] = [];
    let wake: (() => void) | null = null;
    let nonce: string | null = null;
    let synced = false;
    let buffered = Buffer.alloc(0);
    const decoder = new FrameDecoder((f) => {
      if (nonce === null) {
        nonce = String(f.control?.nonce);
        void script(socket, nonce, frames());
        return;
      }
      queue.push(f);
      wake?.();
    });
    async function* frames(): AsyncIterable<Frame> {
      for (;;) {
        while (queue.length > 0) yield queue.shift()!;
        await new Promise<void>((r) => (wake = r));
      }
    }
    socket.on("data", (chunk: Buffer) => {
      if (!synced) {
        buffered = Buffer.concat([buffered, chunk]);
        const at = buffered.indexOf(Buffer.from(SYNC_MARKER));
        if (at < 0) return;
        synced = true;
        chunk = buffered.subarray(at + SYNC_MARKER.length);
      }
      try {
        decoder.push(chunk);
      } catch {
        socket.destroy();
      }
    });
    socket.on("error", () => undefined);
  });
  await new Promise<void>((r) => server.listen(path, r));
  fakes.push({ server, path, dir });
  return new Promise((resolve) => {
    const s = createConnection(path, () => resolve(s));
  });
}

async function nextFrame(frames: AsyncIterable<Frame>): Promise<Frame> {
  for await (const f of frames) return f;
  throw new Error("no frame");
}

describe("AgentClient against a hostile or broken agent", () => {
  it("skips stale bytes and answers with a wrong nonce before the real hello", async () => {
    const socket = await fakeAgent((s, nonce) => {
      s.write(Buffer.from("boot noise\nPYROSY"));
      s.write(Buffer.concat([Buffer.from(SYNC_MARKER), helloReply("stale-nonce")]));
      s.write(Buffer.concat([Buffer.from(SYNC_MARKER), encodeFrame(FrameKind.STDOUT, 0, Buffer.from("junk"))]));
      s.write(Buffer.concat([Buffer.from(SYNC_MARKER), helloReply(nonce)]));
    });
    const client = await AgentClient.connect(socket, { helloTimeoutMs: 5000 });
    expect(client.hello).toMatchObject({ agent_version: "9.9.9", hostname: "fake", capabilities: ["exec"] });
    await client.close();
  });

  it("times out on a silent agent", async () => {
    const socket = await fakeAgent(() => undefined);
    const started = Date.now();
    // The fake only answers what its script writes: here, nothing.
    await expect(AgentClient.connect(socket, { helloTimeoutMs: 300 })).rejects.toMatchObject({
      code: "guest_failure",
      message: expect.stringMatching(/did not answer within 300 ms/),
    });
    expect(Date.now() - started).toBeLessThan(3000);
  });

  it("bounds what a guest sends beyond max_output_bytes", async () => {
    const socket = await fakeAgent(async (s, nonce, frames) => {
      s.write(Buffer.concat([Buffer.from(SYNC_MARKER), helloReply(nonce)]));
      const req = await nextFrame(frames);
      const junk = Buffer.alloc(MiB, 0x78);
      for (let i = 0; i < 20; i++) s.write(encodeFrame(FrameKind.STDOUT, req.stream, junk));
      s.write(
        encodeControl(req.stream, {
          type: "result",
          exit_code: 0,
          signal: null,
          timed_out: false,
          stdout_bytes: 5,
          stderr_bytes: 0,
          stdout_truncated: false,
          stderr_truncated: false,
          duration_ms: 1,
        }),
      );
    });
    const client = await AgentClient.connect(socket, { helloTimeoutMs: 5000 });
    let streamed = 0;
    const r = await client.exec({ argv: ["x"], max_output_bytes: 2 * MiB }, { maxBufferedBytes: MiB / 2, onStdout: (c) => (streamed += c.length) });
    expect(streamed).toBe(2 * MiB);
    expect(r.stdout.length).toBe(MiB / 2);
    expect(r.stdout_truncated).toBe(true);
    await client.close();
  });

  it("rejects pending requests when the guest breaks the protocol", async () => {
    const socket = await fakeAgent(async (s, nonce, frames) => {
      s.write(Buffer.concat([Buffer.from(SYNC_MARKER), helloReply(nonce)]));
      await nextFrame(frames);
      const bad = Buffer.alloc(9);
      bad.writeUInt32BE(MiB + 1, 0);
      bad.writeUInt8(FrameKind.STDOUT, 4);
      s.write(bad);
    });
    const client = await AgentClient.connect(socket, { helloTimeoutMs: 5000 });
    const error = await client.exec({ argv: ["x"] }, { maxBufferedBytes: MiB }).then(
      () => null,
      (e: unknown) => e,
    );
    expect(error).toBeInstanceOf(PyroError);
    expect((error as PyroError).code).toBe("guest_failure");
    expect((error as PyroError).details).toMatchObject({ reason: "frame_too_large" });
    expect(client.closed).toBe(true);
  });

  it("rejects a malformed exec result", async () => {
    const socket = await fakeAgent(async (s, nonce, frames) => {
      s.write(Buffer.concat([Buffer.from(SYNC_MARKER), helloReply(nonce)]));
      const req = await nextFrame(frames);
      s.write(encodeControl(req.stream, { type: "result", exit_code: "zero" }));
    });
    const client = await AgentClient.connect(socket, { helloTimeoutMs: 5000 });
    await expect(client.exec({ argv: ["x"] }, { maxBufferedBytes: MiB })).rejects.toMatchObject({
      code: "guest_failure",
      message: expect.stringMatching(/malformed result/),
    });
    await client.close();
  });
});

describe("HelloScanner", () => {
  const nonce = "abc123";
  const good = Buffer.concat([Buffer.from(SYNC_MARKER), helloReply(nonce), encodeFrame(FrameKind.STDOUT, 1, Buffer.from("next"))]);

  it("finds the hello byte by byte and returns what follows it", () => {
    const scanner = new HelloScanner(nonce);
    const stream = Buffer.concat([Buffer.from("garbage PYROSYNC\x00\x00"), good]);
    let found: ReturnType<HelloScanner["push"]> = null;
    for (let i = 0; i < stream.length && found === null; i++) found = scanner.push(stream.subarray(i, i + 1));
    expect(found?.hello.nonce).toBe(nonce);
    // The rest is what arrived with the last byte; feeding continues with the decoder.
    expect(found?.rest.length).toBe(0);
  });

  it("returns the bytes after the hello frame in the same chunk", () => {
    const found = new HelloScanner(nonce).push(good);
    const frames: Frame[] = [];
    new FrameDecoder((f) => frames.push(f)).push(found!.rest);
    expect(frames[0]?.payload.toString()).toBe("next");
  });

  it("keeps only a few bytes of garbage", () => {
    const scanner = new HelloScanner(nonce);
    for (let i = 0; i < 1000; i++) expect(scanner.push(Buffer.alloc(64 * 1024, 0x41))).toBeNull();
    expect((scanner as unknown as { buf: Buffer }).buf.length).toBeLessThan(8);
  });
});

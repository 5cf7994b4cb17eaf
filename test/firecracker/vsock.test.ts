import { createServer, type Server, type Socket } from "node:net";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { connectVsock } from "../../src/runtime/firecracker/vsock.js";
import { PyroError } from "../../src/util/errors.js";
import { tempDir } from "./helpers.js";

/** A Unix socket server whose per-connection behaviour the test decides. */
function listen(path: string, onConnection: (socket: Socket, request: string) => void): Promise<Server> {
  const server = createServer((socket) => {
    let buffer = "";
    const onData = (chunk: Buffer): void => {
      buffer += chunk.toString("latin1");
      const nl = buffer.indexOf("\n");
      if (nl < 0) return;
      socket.off("data", onData);
      onConnection(socket, buffer.slice(0, nl));
    };
    socket.on("data", onData);
    socket.on("error", () => undefined);
  });
  return new Promise((resolve) => server.listen(path, () => resolve(server)));
}

function readExactly(socket: Socket, n: number): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    let got = Buffer.alloc(0);
    const onData = (chunk: Buffer): void => {
      got = Buffer.concat([got, chunk]);
      if (got.length >= n) {
        socket.off("data", onData);
        resolve(got.subarray(0, n));
      }
    };
    socket.on("data", onData);
    socket.once("error", reject);
  });
}

describe("connectVsock (Firecracker host-initiated vsock handshake)", () => {
  let tmp: ReturnType<typeof tempDir>;
  let server: Server | undefined;
  let path: string;
  beforeEach(() => {
    tmp = tempDir();
    path = join(tmp.dir, "v.sock");
  });
  afterEach(async () => {
    await new Promise<void>((resolve) => (server ? server.close(() => resolve()) : resolve()));
    server = undefined;
    tmp.remove();
  });

  it("sends CONNECT <port>, accepts OK <n>, and keeps bytes sent after the OK line", async () => {
    let seen = "";
    server = await listen(path, (socket, request) => {
      seen = request;
      socket.write("OK 1073741824\nPYROSYNC-early");
      socket.pipe(socket);
    });
    const socket = await connectVsock(path, 10000);
    expect(seen).toBe("CONNECT 10000");
    expect((await readExactly(socket, 14)).toString()).toBe("PYROSYNC-early");
    socket.write("ping");
    expect((await readExactly(socket, 4)).toString()).toBe("ping");
    socket.destroy();
  });

  it("keeps protocol bytes that arrive in the same chunk split oddly", async () => {
    server = await listen(path, (socket) => {
      socket.write("O");
      setTimeout(() => socket.write("K 5\nab"), 10);
      setTimeout(() => socket.write("cd"), 20);
    });
    const socket = await connectVsock(path, 52);
    expect((await readExactly(socket, 4)).toString()).toBe("abcd");
    socket.destroy();
  });

  it("reports a refusal when Firecracker closes the connection (nothing listens on the port)", async () => {
    server = await listen(path, (socket) => socket.end());
    const error = (await connectVsock(path, 10000).catch((e: unknown) => e)) as PyroError;
    expect(error).toBeInstanceOf(PyroError);
    expect(error.code).toBe("guest_failure");
    expect(error.message).toMatch(/nothing in the guest accepted vsock port 10000/);
    expect(error.details?.reason).toBe("refused");
    expect(error.hint).toMatch(/agent/);
  });

  it("rejects a garbage answer", async () => {
    server = await listen(path, (socket) => socket.write("HTTP/1.1 400 Bad Request\r\n\r\n"));
    const error = (await connectVsock(path, 10000).catch((e: unknown) => e)) as PyroError;
    expect(error.code).toBe("guest_failure");
    expect(error.message).toMatch(/unexpected answer to CONNECT 10000/);
    expect(error.details?.reason).toBe("garbage");
  });

  it("rejects an over-long answer without a newline", async () => {
    server = await listen(path, (socket) => socket.write("x".repeat(200)));
    const error = (await connectVsock(path, 10000).catch((e: unknown) => e)) as PyroError;
    expect(error.details?.reason).toBe("garbage");
  });

  it("times out when no answer comes", async () => {
    server = await listen(path, () => undefined);
    const started = Date.now();
    const error = (await connectVsock(path, 10000, { timeoutMs: 150 }).catch((e: unknown) => e)) as PyroError;
    expect(error.code).toBe("timeout");
    expect(Date.now() - started).toBeLessThan(2000);
  });

  it("is unavailable when the socket file does not exist", async () => {
    const error = (await connectVsock(path, 10000).catch((e: unknown) => e)) as PyroError;
    expect(error.code).toBe("unavailable");
    expect(error.message).toMatch(/ENOENT/);
  });
});

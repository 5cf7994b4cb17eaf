import { createHash, randomBytes } from "node:crypto";
import { readFileSync } from "node:fs";
import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import { createServer as createTcpServer, type Socket } from "node:net";
import { join } from "node:path";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { RegistryClient } from "../../src/environments/oci/client.js";
import { RegistryError } from "../../src/environments/oci/errors.js";
import { tempDir } from "./fixture.js";

// Not a multiple of the download's 2 MiB write batches, so the last one is partial.
const BLOB = randomBytes(9 * 1024 * 1024 + 12_345);
const DIGEST = `sha256:${createHash("sha256").update(BLOB).digest("hex")}`;

type Handler = (req: IncomingMessage, res: ServerResponse, index: number) => void;

/** Serve `BLOB`, or the part a `Range: bytes=N-` header asks for. */
function serveBlob(req: IncomingMessage, res: ServerResponse, body: Buffer = BLOB): void {
  const start = Number(/^bytes=(\d+)-$/.exec(req.headers.range ?? "")?.[1] ?? "0");
  res.writeHead(start > 0 ? 206 : 200, { "content-length": String(body.length - start) });
  res.end(body.subarray(start));
}

describe("RegistryClient.downloadBlob against a scripted server", () => {
  let server: Server;
  let other: Server;
  let host: string;
  let otherHost: string;
  let handler: Handler;
  let otherHandler: Handler;
  const requests: IncomingMessage[] = [];
  const dir = tempDir("pyro-blob-download-");
  const dest = join(dir.dir, "blob");

  const listen = async (serve: () => Handler): Promise<[Server, string]> => {
    const s = createServer((req, res) => serve()(req, res, requests.length));
    await new Promise<void>((resolve) => s.listen(0, "127.0.0.1", resolve));
    const address = s.address();
    return [s, `127.0.0.1:${typeof address === "object" && address ? address.port : 0}`];
  };

  beforeAll(async () => {
    // `index` counts this test's requests to the registry.
    [server, host] = await listen(() => (req, res, index) => {
      requests.push(req);
      handler(req, res, index);
    });
    [other, otherHost] = await listen(() => otherHandler);
  });

  afterEach(() => {
    requests.length = 0;
  });

  afterAll(async () => {
    await new Promise((resolve) => server.close(resolve));
    await new Promise((resolve) => other.close(resolve));
    dir.cleanup();
  });

  const client = (options: ConstructorParameters<typeof RegistryClient>[1] = {}) =>
    new RegistryClient({ registry: host, scheme: "http", repository: "pyro/test" }, { attempts: 3, ...options });

  const failure = (promise: Promise<unknown>) => promise.then(() => undefined, (error: unknown) => error as RegistryError);

  it("downloads, verifies and reports progress up to the full size", async () => {
    handler = (req, res) => serveBlob(req, res);
    const progress: number[] = [];
    await client().downloadBlob(DIGEST, BLOB.length, dest, (done, total) => {
      expect(total).toBe(BLOB.length);
      progress.push(done);
    });
    expect(readFileSync(dest).equals(BLOB)).toBe(true);
    expect(progress.at(-1)).toBe(BLOB.length);
    expect(progress).toEqual([...progress].sort((a, b) => a - b));
  });

  it("resumes with Range after a dropped connection, keeping the verified prefix", async () => {
    handler = (req, res, index) => {
      if (index === 0) {
        // Send a third of the blob, then cut the connection.
        res.writeHead(200, { "content-length": String(BLOB.length) });
        res.write(BLOB.subarray(0, Math.floor(BLOB.length / 3)), () => setTimeout(() => res.socket?.destroy(), 50));
        return;
      }
      serveBlob(req, res);
    };
    await client().downloadBlob(DIGEST, BLOB.length, dest);
    expect(readFileSync(dest).equals(BLOB)).toBe(true);
    expect(requests.length).toBe(2);
    expect(requests[1]?.headers.range).toMatch(/^bytes=[1-9]\d*-$/);
  });

  it("starts over when the server ignores Range", async () => {
    handler = (req, res, index) => {
      if (index === 0) {
        res.writeHead(200, { "content-length": String(BLOB.length) });
        res.write(BLOB.subarray(0, 5 * 1024 * 1024), () => setTimeout(() => res.socket?.destroy(), 50));
        return;
      }
      res.writeHead(200, { "content-length": String(BLOB.length) });
      res.end(BLOB);
    };
    await client().downloadBlob(DIGEST, BLOB.length, dest);
    expect(readFileSync(dest).equals(BLOB)).toBe(true);
    expect(requests[1]?.headers.range).toBeDefined();
  });

  it("retries server errors and gives up on them as unreachable", async () => {
    handler = (req, res, index) => {
      if (index === 0) {
        res.writeHead(503).end();
        return;
      }
      serveBlob(req, res);
    };
    await client().downloadBlob(DIGEST, BLOB.length, dest);
    expect(requests.length).toBe(2);

    handler = (_req, res) => res.writeHead(500).end();
    const error = await failure(client({ attempts: 2 }).downloadBlob(DIGEST, BLOB.length, dest));
    expect(error?.failure).toBe("unreachable");
  });

  it("refuses content that does not match its digest", async () => {
    const bad = Buffer.from(BLOB);
    bad.writeUInt8(bad.readUInt8(bad.length >> 1) ^ 1, bad.length >> 1);
    handler = (req, res) => serveBlob(req, res, bad);
    const error = await failure(client().downloadBlob(DIGEST, BLOB.length, dest));
    expect(error).toBeInstanceOf(RegistryError);
    expect(error?.failure).toBe("integrity");
    expect(error?.message).toMatch(/sha256 verification/);
    expect(requests.length).toBe(1);
  });

  it("refuses a body larger than the declared size without retrying", async () => {
    handler = (req, res) => serveBlob(req, res, Buffer.concat([BLOB, Buffer.alloc(10)]));
    const error = await failure(client().downloadBlob(DIGEST, BLOB.length, dest));
    expect(error?.failure).toBe("integrity");
    expect(error?.message).toMatch(/larger than its declared/);
    expect(requests.length).toBe(1);
  });

  it("maps 404 to missing and 403 to denied, without retrying", async () => {
    handler = (_req, res) => res.writeHead(404).end();
    expect((await failure(client().downloadBlob(DIGEST, BLOB.length, dest)))?.failure).toBe("missing");
    handler = (_req, res) => res.writeHead(403).end();
    expect((await failure(client().downloadBlob(DIGEST, BLOB.length, dest)))?.failure).toBe("denied");
    expect(requests.length).toBe(2);
  });

  it("answers a bearer challenge, and keeps the token from another origin it is redirected to", async () => {
    otherHandler = (req, res) => {
      expect(req.headers.authorization).toBeUndefined();
      serveBlob(req, res);
    };
    handler = (req, res) => {
      if (req.url?.startsWith("/token")) {
        expect(new URL(req.url, "http://x").searchParams.get("scope")).toBe("repository:pyro/test:pull");
        res.writeHead(200, { "content-type": "application/json" }).end(JSON.stringify({ token: "t0k3n" }));
        return;
      }
      if (req.headers.authorization !== "Bearer t0k3n") {
        res.writeHead(401, { "www-authenticate": `Bearer realm="http://${host}/token",service="test"` }).end();
        return;
      }
      res.writeHead(307, { location: `http://${otherHost}/storage/blob` }).end();
    };
    await client().downloadBlob(DIGEST, BLOB.length, dest);
    expect(readFileSync(dest).equals(BLOB)).toBe(true);
  });

  it("gives up on a stalled body after the idle timeout", async () => {
    handler = (_req, res) => {
      res.writeHead(200, { "content-length": String(BLOB.length) });
      res.write(BLOB.subarray(0, 1024));
    };
    const started = Date.now();
    const error = await failure(client({ attempts: 2, requestTimeoutMs: 300 }).downloadBlob(DIGEST, BLOB.length, dest));
    expect(error?.failure).toBe("unreachable");
    // Each piece is written as it arrives, so the stalled attempt keeps its 1024 bytes.
    expect(error?.message).toMatch(/interrupted at 1024 bytes/);
    expect(Date.now() - started).toBeLessThan(10_000);
  });

  it("is unreachable when nothing listens", async () => {
    const dead = new RegistryClient({ registry: "127.0.0.1:9", scheme: "http", repository: "pyro/test" }, { attempts: 2 });
    const error = await failure(dead.downloadBlob(DIGEST, BLOB.length, dest));
    expect(error?.failure).toBe("unreachable");
    expect(error?.message).toMatch(/unreachable \(ECONNREFUSED\)/);
  });

  it("reads a chunked body (through node:http)", async () => {
    handler = (_req, res) => {
      res.writeHead(200, { "transfer-encoding": "chunked" });
      for (let at = 0; at < BLOB.length; at += 1_000_000) res.write(BLOB.subarray(at, at + 1_000_000));
      res.end();
    };
    const progress: number[] = [];
    await client().downloadBlob(DIGEST, BLOB.length, dest, (done) => progress.push(done));
    expect(readFileSync(dest).equals(BLOB)).toBe(true);
    expect(progress.at(-1)).toBe(BLOB.length);
    // The plain-HTTP reader asked first, then node:http.
    expect(requests.length).toBe(2);
  });

  describe("with a raw TCP server", () => {
    const rawServer = async (respond: (socket: Socket) => void): Promise<[ReturnType<typeof createTcpServer>, RegistryClient]> => {
      const s = createTcpServer((socket) => socket.once("data", () => respond(socket)));
      await new Promise<void>((resolve) => s.listen(0, "127.0.0.1", resolve));
      const address = s.address();
      const port = typeof address === "object" && address ? address.port : 0;
      return [s, new RegistryClient({ registry: `127.0.0.1:${port}`, scheme: "http", repository: "pyro/test" }, { attempts: 2 })];
    };

    it("reads a head split across packets after an interim 100, and a body without Content-Length", async () => {
      const [s, c] = await rawServer((socket) => {
        const parts = [Buffer.from("HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 200 OK\r\nX-A: 1\r\nConnec"), Buffer.from("tion: close\r\n\r\n"), BLOB];
        const next = (): void => {
          const part = parts.shift();
          if (!part) return void socket.end();
          socket.write(part, () => setTimeout(next, 20));
        };
        next();
      });
      try {
        await c.downloadBlob(DIGEST, BLOB.length, dest);
        expect(readFileSync(dest).equals(BLOB)).toBe(true);
      } finally {
        s.close();
      }
    });

    it("refuses a response that is not HTTP as unreachable", async () => {
      const [s, c] = await rawServer((socket) => socket.end("SSH-2.0-OpenSSH\r\n\r\n"));
      try {
        const error = await failure(c.downloadBlob(DIGEST, BLOB.length, dest));
        expect(error?.failure).toBe("unreachable");
        expect(error?.message).toMatch(/EPROTO/);
      } finally {
        s.close();
      }
    });
  });

  it("treats a full disk as final", async () => {
    handler = (req, res) => serveBlob(req, res);
    const error = (await failure(client().downloadBlob(DIGEST, BLOB.length, "/dev/full"))) as unknown as NodeJS.ErrnoException;
    expect(error?.code).toBe("ENOSPC");
    expect(requests.length).toBe(1);
  });
});

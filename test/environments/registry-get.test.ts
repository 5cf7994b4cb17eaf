import { createHash } from "node:crypto";
import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { RegistryClient } from "../../src/environments/oci/client.js";
import type { RegistryError } from "../../src/environments/oci/errors.js";

const CONFIG = Buffer.from(JSON.stringify({ name: "debian:12" }));
const CONFIG_DIGEST = `sha256:${createHash("sha256").update(CONFIG).digest("hex")}`;
const MANIFEST = Buffer.from(
  JSON.stringify({
    schemaVersion: 2,
    mediaType: "application/vnd.oci.image.manifest.v1+json",
    config: { mediaType: "application/vnd.pyro.environment.config.v1+json", digest: CONFIG_DIGEST, size: CONFIG.length },
    layers: [{ mediaType: "application/vnd.oci.image.layer.v1.tar+gzip", digest: CONFIG_DIGEST, size: CONFIG.length }],
  }),
);

describe("RegistryClient manifest and config reads (getStream, not fetch)", () => {
  let server: Server;
  let host: string;
  let handler: (req: IncomingMessage, res: ServerResponse) => void;

  beforeAll(async () => {
    server = createServer((req, res) => handler(req, res));
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
    const address = server.address();
    host = `127.0.0.1:${typeof address === "object" && address ? address.port : 0}`;
  });
  afterAll(async () => {
    await new Promise((resolve) => server.close(resolve));
  });

  const client = () => new RegistryClient({ registry: host, scheme: "http", repository: "pyro/debian" }, { attempts: 2 });
  const failure = (promise: Promise<unknown>) => promise.then(() => undefined, (error: unknown) => error as RegistryError);

  it("answers a bearer challenge, then reads and verifies the manifest and the config", async () => {
    handler = (req, res) => {
      if (req.url?.startsWith("/token")) return void res.writeHead(200).end(JSON.stringify({ token: "t" }));
      if (req.headers.authorization !== "Bearer t") {
        return void res.writeHead(401, { "www-authenticate": `Bearer realm="http://${host}/token",service="s"` }).end();
      }
      if (req.url === "/v2/pyro/debian/manifests/12") return void res.writeHead(200, { "content-type": "application/json" }).end(MANIFEST);
      if (req.url === `/v2/pyro/debian/blobs/${CONFIG_DIGEST}`) return void res.writeHead(200).end(CONFIG);
      res.writeHead(404).end();
    };
    const c = client();
    const { manifest, digest } = await c.getManifest("12");
    expect(digest).toBe(`sha256:${createHash("sha256").update(MANIFEST).digest("hex")}`);
    expect((await c.getSmallBlob(manifest.config.digest, manifest.config.size)).equals(CONFIG)).toBe(true);
    expect((await failure(c.getManifest("13")))?.failure).toBe("missing");
  });

  it("refuses a manifest that is too large, and one that is not JSON", async () => {
    handler = (_req, res) => {
      res.writeHead(200);
      res.end(Buffer.alloc(5 * 1024 * 1024, 0x20));
    };
    const error = await failure(client().getManifest("12"));
    expect(error?.failure).toBe("protocol");
    expect(error?.message).toMatch(/too large|larger than/);
    handler = (_req, res) => void res.writeHead(200).end("<html>");
    expect((await failure(client().getManifest("12")))?.message).toMatch(/not JSON/);
  });

  it("refuses a config blob that does not match its digest", async () => {
    handler = (_req, res) => void res.writeHead(200).end(Buffer.from("{}"));
    const error = await failure(client().getSmallBlob(CONFIG_DIGEST, 2));
    expect(error?.failure).toBe("integrity");
  });
});

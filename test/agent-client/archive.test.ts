import { createReadStream, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { PassThrough, Readable } from "node:stream";
import { createGunzip } from "node:zlib";
import * as tar from "tar";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { AgentClient } from "../../src/agent-client/index.js";
import { startAgent, type RunningAgent } from "../helpers/agent.js";
import { rawTar } from "../helpers/tar.js";

const MiB = 1024 * 1024;
let agent: RunningAgent;
let client: AgentClient;
let work: string;

beforeAll(async () => {
  work = mkdtempSync(join(tmpdir(), "pyro-archive-test-"));
  agent = await startAgent({ args: ["--run-dir", join(work, "run")] });
  client = await AgentClient.connect(await agent.connect(), { helloTimeoutMs: 5000 });
}, 120_000);

afterAll(async () => {
  await client?.close();
  await agent?.stop();
  rmSync(work, { recursive: true, force: true });
});

describe("archives through the real agent", () => {
  it("uploads a tree and downloads it back", async () => {
    expect(client.has("files.tar")).toBe(true);
    const src = join(work, "src");
    mkdirSync(join(src, "project", "sub"), { recursive: true });
    writeFileSync(join(src, "project", "a.txt"), "alpha\n");
    writeFileSync(join(src, "project", "sub", "big.bin"), Buffer.alloc(3 * MiB, 7));
    const dest = join(work, "guest");
    const put = await client.putArchive(dest, tar.c({ cwd: src }, ["project"]), 16 * MiB);
    expect(put.entries).toBeGreaterThanOrEqual(4);
    expect(put.bytes).toBe(3 * MiB + 6);
    expect(readFileSync(join(dest, "project", "a.txt"), "utf8")).toBe("alpha\n");

    const out = join(work, "out");
    mkdirSync(out);
    const got = await client.getArchive(join(dest, "project"), tar.x({ cwd: out }), 16 * MiB);
    expect(got.kind).toBe("directory");
    expect(statSync(join(out, "project", "sub", "big.bin")).size).toBe(3 * MiB);
  });

  it("refuses an upload past maxBytes on the host", async () => {
    const source = Readable.from([Buffer.alloc(MiB), Buffer.alloc(MiB)]);
    await expect(client.putArchive(join(work, "limited"), source, MiB + 10)).rejects.toMatchObject({ code: "limit_exceeded" });
    await client.ping();
  });

  it("refuses an upload whose source fails instead of taking it as an empty archive", async () => {
    // What a corrupt .tar.gz gives: the decompressor errors before any tar byte.
    const garbage = join(work, "garbage.tar.gz");
    writeFileSync(garbage, "this is not gzip at all\n");
    const fromGarbage = createGunzip();
    createReadStream(garbage).pipe(fromGarbage);
    await expect(client.putArchive(join(work, "from-garbage"), fromGarbage, MiB)).rejects.toMatchObject({
      code: "invalid_argument",
      message: expect.stringMatching(/the archive could not be read: incorrect header check/),
    });
    // A source failing mid-way, after a whole entry went through.
    async function* cut(): AsyncGenerator<Buffer> {
      yield rawTar([{ name: "whole.txt", body: "x" }]).subarray(0, 1024);
      throw new Error("disk went away");
    }
    await expect(client.putArchive(join(work, "from-cut"), cut(), MiB)).rejects.toMatchObject({ code: "invalid_argument", message: expect.stringContaining("disk went away") });
    await client.ping();
  });

  it("maps the agent's download limit to limit_exceeded", async () => {
    const big = join(work, "big");
    mkdirSync(big);
    writeFileSync(join(big, "f"), Buffer.alloc(2 * MiB));
    const sink = new PassThrough();
    sink.resume();
    await expect(client.getArchive(big, sink, MiB)).rejects.toMatchObject({ code: "limit_exceeded" });
    await expect(client.getArchive(join(work, "missing"), new PassThrough(), MiB)).rejects.toMatchObject({ code: "not_found" });
    await client.ping();
  });

  it("puts secrets and runs a service", async () => {
    const r = await client.request("secrets_put", { files: { TOKEN: Buffer.from("t0k3n").toString("base64") } });
    expect(r.count).toBe(1);
    expect(readFileSync(join(work, "run", "pyro-secrets", "TOKEN"), "utf8")).toBe("t0k3n");
    const state = await client.request("service_start", {
      name: "echo",
      argv: ["sh", "-c", "echo started; exec sleep 30"],
      cwd: work,
      readiness: { kind: "command", command: "true" },
    });
    expect(state.state).toBe("ready");
    const stopped = await client.request("service_stop", { name: "echo", grace_ms: 500 });
    expect(stopped.state).toBe("stopped");
  });
});

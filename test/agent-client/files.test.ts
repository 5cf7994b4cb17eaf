import { mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { crc32 } from "node:zlib";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { AgentClient, applyGuestChanges, listGuestFiles, readGuestFile, writeGuestFile } from "../../src/agent-client/index.js";
import { startAgent, type RunningAgent } from "../helpers/agent.js";

const MiB = 1024 * 1024;
let agent: RunningAgent;
let client: AgentClient;
let work: string;

beforeAll(async () => {
  work = mkdtempSync(join(tmpdir(), "pyro-files-client-"));
  agent = await startAgent({ args: ["--run-dir", join(work, "run")] });
  client = await AgentClient.connect(await agent.connect(), { helloTimeoutMs: 5000 });
}, 120_000);

afterAll(async () => {
  await client?.close();
  await agent?.stop();
  rmSync(work, { recursive: true, force: true });
});

// The host side of the file ops against the real agent (a host process, its root a temp dir).
describe("file ops through the real agent", () => {
  it("moves 4 MiB each way across many frames, and reads at most what it asked for", async () => {
    const data = Buffer.alloc(4 * MiB);
    for (let i = 0; i < data.length; i++) data[i] = (i * 7) % 251;
    const written = await writeGuestFile(client, work, "big/blob.bin", data);
    expect(written).toEqual({ path: "big/blob.bin", bytes_written: 4 * MiB, size_bytes: 4 * MiB, created: true });
    expect(readFileSync(join(work, "big/blob.bin")).equals(data)).toBe(true);
    const whole = await readGuestFile(client, work, "big/blob.bin", 4 * MiB);
    expect(whole.content.equals(data)).toBe(true);
    expect(whole.truncated).toBe(false);
    const cut = await readGuestFile(client, work, "big/blob.bin", 1000);
    expect(cut).toMatchObject({ size_bytes: 4 * MiB, truncated: true, path: "big/blob.bin" });
    expect(cut.content.equals(data.subarray(0, 1000))).toBe(true);
  });

  it("lists with paths relative to the root, and refuses a symlink out", async () => {
    symlinkSync("/etc", join(work, "etc-link"));
    const listing = await listGuestFiles(client, work, "", false, 100);
    expect(listing.path).toBe("");
    expect(listing.entries.map((e) => [e.path, e.kind, e.link_target])).toEqual(
      expect.arrayContaining([
        ["big", "directory", null],
        ["etc-link", "symlink", "/etc"],
      ]),
    );
    await expect(readGuestFile(client, work, "etc-link/hostname", 10)).rejects.toMatchObject({ code: "invalid_argument", message: expect.stringMatching(/leads outside/) });
    await expect(listGuestFiles(client, work, "etc-link", false, 100)).rejects.toMatchObject({ code: "invalid_argument" });
  });

  it("applies a change set as one, and refuses all of it when one target changed since it was read", async () => {
    writeFileSync(join(work, "keep.txt"), "v1\n");
    const changes = (expected: Buffer) => [
      { path: "added.txt", action: "write" as const, content: Buffer.from("new\n"), expect: null },
      { path: "keep.txt", action: "write" as const, content: Buffer.alloc(700 * 1024, 120), expect: { size: expected.length, crc32: crc32(expected) } },
    ];
    await expect(applyGuestChanges(client, work, changes(Buffer.from("v0\n")))).rejects.toMatchObject({ code: "already_exists", message: expect.stringMatching(/keep.txt changed since it was read/) });
    expect(() => readFileSync(join(work, "added.txt"))).toThrow();
    expect(readFileSync(join(work, "keep.txt"), "utf8")).toBe("v1\n");
    await applyGuestChanges(client, work, changes(Buffer.from("v1\n")));
    expect(readFileSync(join(work, "added.txt"), "utf8")).toBe("new\n");
    expect(readFileSync(join(work, "keep.txt")).length).toBe(700 * 1024);
  });
});

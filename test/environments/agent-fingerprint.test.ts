import { spawnSync } from "node:child_process";
import { copyFileSync, mkdirSync, mkdtempSync, readFileSync, rmSync, utimesSync, writeFileSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createHash } from "node:crypto";
import { afterAll, describe, expect, it } from "vitest";
import { writeTranspiledModules } from "../helpers/transpiled.js";

// The agent's sha256 decides whether an environment's injected agent is current. Each one-shot
// CLI run is a new process, so the fingerprint is kept in the environment cache: proven here
// across real processes (the in-process memo would hide a broken file memo).
const root = mkdtempSync(join(tmpdir(), "pyro-agent-fp-"));
afterAll(() => rmSync(root, { recursive: true, force: true }));

/** The real modules, transpiled (plain node cannot load .ts), and a child that prints loadAgentBinary's result. */
function childScript(): string {
  const dir = join(root, "mod");
  writeTranspiledModules(dir, ["environments/agent", "util/atomic-file", "util/errors", "util/config", "util/paths", "util/vocabulary"]);
  const child = join(dir, "child.mjs");
  writeFileSync(
    child,
    `import { loadAgentBinary } from "./environments/agent.js";
const [bin, cacheDir] = process.argv.slice(2);
console.log(JSON.stringify(await loadAgentBinary({ agent: { bin, version: "9.9.9" } }, cacheDir)));
`,
  );
  return child;
}

describe("the agent binary's fingerprint, kept across processes in the environment cache", () => {
  const child = childScript();
  const cacheDir = join(root, "cache");
  mkdirSync(cacheDir, { recursive: true });
  const bin = join(root, "pyro-agent");
  copyFileSync("/bin/true", bin);
  const load = () => {
    const run = spawnSync(process.execPath, [child, bin, cacheDir], { encoding: "utf8" });
    expect(run.status, run.stderr).toBe(0);
    return JSON.parse(run.stdout) as { sha256: string; sizeBytes: number };
  };
  const sha = (path: string) => `sha256:${createHash("sha256").update(readFileSync(path)).digest("hex")}`;

  it("is hashed once, then read back by the next process (a planted digest for the same file proves the read)", () => {
    expect(load().sha256).toBe(sha(bin));
    const kept = join(cacheDir, "agent-fingerprint.json");
    const memo = JSON.parse(readFileSync(kept, "utf8")) as { binary: { sha256: string } };
    memo.binary.sha256 = "sha256:planted";
    writeFileSync(kept, JSON.stringify(memo));
    // Same inode, size, mtime and ctime: the kept digest is trusted without hashing.
    expect(load().sha256).toBe("sha256:planted");
  });

  it("is hashed again when the binary changed, even with its size and mtime put back", () => {
    const kept = join(cacheDir, "agent-fingerprint.json");
    // A whole-second mtime, so it can be put back exactly; kept as the current fingerprint.
    utimesSync(bin, 1_700_000_000, 1_700_000_000);
    expect(load().sha256).toBe(sha(bin));
    const before = statSync(bin);
    // Same length, other bytes, mtime restored: only ctime (and the content) tell.
    const bytes = readFileSync(bin);
    bytes[bytes.length - 1] = bytes[bytes.length - 1]! ^ 0xff;
    writeFileSync(bin, bytes);
    utimesSync(bin, 1_700_000_000, 1_700_000_000);
    expect(statSync(bin).mtimeMs).toBe(before.mtimeMs);
    expect(statSync(bin).size).toBe(before.size);
    expect(load().sha256).toBe(sha(bin));
    expect((JSON.parse(readFileSync(kept, "utf8")) as { binary: { sha256: string } }).binary.sha256).toBe(sha(bin));
  });

  it("a garbled or foreign kept file only costs a hash", () => {
    const kept = join(cacheDir, "agent-fingerprint.json");
    writeFileSync(kept, "{not json");
    expect(load().sha256).toBe(sha(bin));
    writeFileSync(kept, JSON.stringify({ path: "/elsewhere", key: "x", binary: { path: "/elsewhere", sha256: "sha256:other", version: "1", sizeBytes: 1 } }));
    expect(load().sha256).toBe(sha(bin));
  });
});

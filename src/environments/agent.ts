import { createHash } from "node:crypto";
import { readFile, stat } from "node:fs/promises";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { writeFileAtomic } from "../util/atomic-file.js";
import { PyroError } from "../util/errors.js";
import { resolveConfig, type PyroConfig } from "../util/config.js";
import { packageRoot } from "../util/paths.js";

/** The guest agent binary to inject, with what the manifest records about it. */
export interface AgentBinary {
  path: string;
  /** The pyro package version the agent was built with (agent and host ship together). */
  version: string;
  sha256: string;
  sizeBytes: number;
}

let cachedVersion: string | undefined;

function packageVersion(): string {
  cachedVersion ??= readPackageVersion();
  return cachedVersion;
}

function readPackageVersion(): string {
  try {
    const pkg = JSON.parse(readFileSync(join(packageRoot(), "package.json"), "utf8")) as { version?: string };
    return pkg.version ?? "unknown";
  } catch {
    return "unknown";
  }
}

// Hashing 3 MB on every run costs more than the rest of a sandbox one-shot's setup;
// a binary whose inode, size, mtime and ctime are unchanged has the same digest
// (ctime cannot be set back: any write or `touch -d` moves it).
const fingerprints = new Map<string, { key: string; binary: AgentBinary }>();

/** The file in an environment cache that keeps the last fingerprint across processes (each one-shot CLI run is one). */
const FINGERPRINT_FILE = "agent-fingerprint.json";

/**
 * Locate and fingerprint the configured agent binary; PyroError `unavailable`
 * when it was never built. With `cacheDir`, the fingerprint is also kept in
 * that environment cache, so the next process need not hash it again.
 */
export async function loadAgentBinary(config: Pick<PyroConfig, "agent"> = resolveConfig(), cacheDir?: string): Promise<AgentBinary> {
  const { bin: path, version } = config.agent;
  const info = await stat(path).catch(() => undefined);
  const key = info ? `${info.ino}:${info.size}:${info.mtimeMs}:${info.ctimeMs}:${version ?? ""}` : "";
  const cached = fingerprints.get(path) ?? (info && cacheDir ? await readKept(cacheDir, path) : undefined);
  if (info && cached?.key === key) {
    fingerprints.set(path, cached);
    return cached.binary;
  }
  const binary = await fingerprint(path, version);
  if (info) {
    fingerprints.set(path, { key, binary });
    if (cacheDir) await keep(cacheDir, { path, key, binary });
  }
  return binary;
}

/** The fingerprint kept in `cacheDir` for the binary at `path`, if that is the binary it names. */
async function readKept(cacheDir: string, path: string): Promise<{ key: string; binary: AgentBinary } | undefined> {
  try {
    const kept = JSON.parse(await readFile(join(cacheDir, FINGERPRINT_FILE), "utf8")) as { path?: unknown; key?: unknown; binary?: AgentBinary };
    const binary = kept.binary;
    const wellFormed = binary && binary.path === path && typeof binary.sha256 === "string" && typeof binary.version === "string" && typeof binary.sizeBytes === "number";
    return kept.path === path && typeof kept.key === "string" && wellFormed ? { key: kept.key, binary } : undefined;
  } catch {
    return undefined;
  }
}

/** Keep a fingerprint in `cacheDir` (best effort: a read-only or missing cache only costs the next process a hash). */
async function keep(cacheDir: string, kept: { path: string; key: string; binary: AgentBinary }): Promise<void> {
  try {
    await writeFileAtomic(join(cacheDir, FINGERPRINT_FILE), JSON.stringify(kept), { durable: false });
  } catch {
    // Best effort (above).
  }
}

async function fingerprint(path: string, version: string | undefined): Promise<AgentBinary> {
  let bytes: Buffer;
  try {
    bytes = await readFile(path);
  } catch (error) {
    throw new PyroError("unavailable", `the pyro guest agent binary is missing (${path})`, {
      hint: "build it with `npm run build:agent` (needs Go), or set PYRO_AGENT_BIN to a static pyro-agent binary",
      cause: error,
    });
  }
  // ELF magic: injecting a script or a truncated file would only fail much later, at boot.
  if (bytes.length < 4 || bytes.readUInt32BE(0) !== 0x7f454c46) {
    throw new PyroError("unavailable", `the pyro guest agent at ${path} is not an ELF binary`, {
      hint: "rebuild it with `npm run build:agent`, or point PYRO_AGENT_BIN at the static pyro-agent binary",
    });
  }
  return {
    path,
    version: version ?? packageVersion(),
    sha256: `sha256:${createHash("sha256").update(bytes).digest("hex")}`,
    sizeBytes: bytes.length,
  };
}

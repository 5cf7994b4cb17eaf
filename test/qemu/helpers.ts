import { spawnSync } from "node:child_process";
import { mkdirSync, readdirSync, readFileSync, writeFileSync } from "node:fs";
import { dirname, join, relative } from "node:path";
import ts from "typescript";
import { AgentClient } from "../../src/agent-client/index.js";
import { ensureEnvironment, getInstalledEnvironment } from "../../src/environments/index.js";
import { ensureKernel } from "../../src/environments/kernel/index.js";
import type { InstalledEnvironment } from "../../src/environments/types.js";
import type { Backend, MachineHandle, MachineSpec } from "../../src/runtime/backend.js";
import { PyroError } from "../../src/util/errors.js";
import { REPO_ROOT, TEST_CACHE_DIR } from "../helpers/env.js";

function has(tool: string): boolean {
  return spawnSync("sh", ["-c", `command -v ${tool}`]).status === 0;
}

/** Real-VM suites need QEMU (system emulator and qemu-img). */
export const QEMU_AVAILABLE = has("qemu-system-x86_64") && has("qemu-img");
/** The condition, as the skip message states it. */
export const QEMU_NEEDS = "qemu-system-x86_64 and qemu-img on PATH";

const progress = (line: string): void => void process.stderr.write(`${line}\n`);

/**
 * `debian:12-base` from the shared test cache with the guest kernel. When the
 * agent binary cannot be built here yet, the installed image is used as it is.
 */
export async function debianBase(): Promise<InstalledEnvironment> {
  try {
    return await ensureEnvironment("debian:12-base", { cacheDir: TEST_CACHE_DIR, onProgress: progress });
  } catch (error) {
    if (!(error instanceof PyroError) || error.code !== "unavailable") throw error;
    const installed = await getInstalledEnvironment("debian:12-base", TEST_CACHE_DIR);
    return { ...installed, kernel: installed.kernel ?? (await ensureKernel(TEST_CACHE_DIR, progress)) };
  }
}

/** A machine spec in `dir` with test defaults. */
export function machineSpec(dir: string, environment: InstalledEnvironment, extra: Partial<MachineSpec> = {}): MachineSpec {
  return {
    id: "qemu-test",
    dir,
    environment,
    vcpuCount: 2,
    memMib: 512,
    network: "off",
    publishedPorts: [],
    hostname: "pyro-qemu-test",
    ...extra,
  };
}

/** Run `argv` in the guest over a fresh agent connection; the connection is closed afterwards. */
export async function guestExec(backend: Backend, spec: MachineSpec, handle: MachineHandle, argv: string[], timeoutMs = 60_000) {
  const client = await AgentClient.connect(await backend.connect(spec, handle), { helloTimeoutMs: 30_000 });
  try {
    return await client.exec({ argv, timeout_ms: timeoutMs }, { maxBufferedBytes: 1 << 20 });
  } finally {
    await client.close();
  }
}

/**
 * Transpile `src/` and `test/qemu/fixtures/` to plain ESM under
 * node_modules/.cache (so bare imports still resolve), for child processes
 * that must run pyro code outside vitest. Returns the output root.
 */
export function transpileForChildren(): string {
  const out = join(REPO_ROOT, "node_modules", ".cache", "pyro-qemu-test");
  const walk = (dir: string): string[] =>
    readdirSync(dir, { withFileTypes: true }).flatMap((e) => (e.isDirectory() ? walk(join(dir, e.name)) : e.name.endsWith(".ts") ? [join(dir, e.name)] : []));
  for (const file of [...walk(join(REPO_ROOT, "src")), ...walk(join(REPO_ROOT, "test", "qemu", "fixtures"))]) {
    const { outputText } = ts.transpileModule(readFileSync(file, "utf8"), {
      compilerOptions: { module: ts.ModuleKind.ESNext, target: ts.ScriptTarget.ES2022 },
      fileName: file,
    });
    const target = join(out, relative(REPO_ROOT, file)).replace(/\.ts$/, ".js");
    mkdirSync(dirname(target), { recursive: true });
    writeFileSync(target, outputText);
  }
  writeFileSync(join(out, "package.json"), '{ "type": "module" }\n');
  return out;
}

// Issue 15's benchmark, in one run: time to the first byte of a streamed
// `workspace exec` (SDK `onStdout`, and the CLI's stdout) against the full round
// trip of `exec true` through the same face, interleaved run by run so machine
// noise hits both alike. The streamed command prints at once, then sleeps: its
// first byte must not wait for its end. Target: first byte ≤ 1.2× exec true.
import { spawn } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { performance } from "node:perf_hooks";
import { Pyro } from "../dist/index.js";
import { report } from "./lib.mjs";

const cacheDir = process.env.PYRO_ENVIRONMENT_CACHE_DIR ?? "/var/tmp/pyro-test-cache";
const backends = (process.env.BENCH_STREAM_BACKENDS ?? "sandbox,qemu").split(",");
const runs = Number(process.env.BENCH_RUNS ?? 15);
const cli = new URL("../dist/cli.js", import.meta.url).pathname;
const STREAMED = "echo first; sleep 0.5; echo second";

/** Milliseconds until the SDK's first stdout chunk (the call is then awaited, untimed). */
async function sdkFirstByte(pyro, workspace_id) {
  const start = performance.now();
  let first = null;
  await pyro.execWorkspace({ workspace_id, command: STREAMED }, { onStdout: () => (first ??= performance.now() - start) });
  return first;
}

async function sdkRoundTrip(pyro, workspace_id) {
  const start = performance.now();
  await pyro.execWorkspace({ workspace_id, command: "true" });
  return performance.now() - start;
}

/** A `pyro` process: milliseconds to its first stdout byte (or to its exit, with `toExit`). */
function cliTime(args, env, toExit) {
  return new Promise((resolve, reject) => {
    const start = performance.now();
    let first = null;
    const child = spawn(process.execPath, [cli, ...args], { env, stdio: ["ignore", "pipe", "ignore"] });
    child.stdout.on("data", () => (first ??= performance.now() - start));
    child.on("error", reject);
    child.on("close", (code) => (code === 0 ? resolve(toExit ? performance.now() - start : first) : reject(new Error(`pyro ${args.join(" ")} exited ${code}`))));
  });
}

for (const backend of backends) {
  const root = mkdtempSync(join(tmpdir(), "pyro-bench-stream-"));
  const env = { ...process.env, PYRO_STATE_DIR: join(root, "state"), PYRO_ENVIRONMENT_CACHE_DIR: cacheDir };
  const pyro = new Pyro({ stateDir: join(root, "state"), cacheDir, warmSpares: false });
  try {
    const { workspace_id } = await pyro.createWorkspace({ environment: "debian:12", backend, allow_host_compat: true });
    const rows = {
      sdkTrue: { name: `SDK exec true, full round trip (${backend})`, samples: [] },
      sdkFirst: { name: `SDK streamed exec, first stdout byte (${backend})`, samples: [] },
      cliTrue: { name: `pyro workspace exec -- true, whole process (${backend})`, samples: [] },
      cliFirst: { name: `pyro workspace exec streamed, first stdout byte (${backend})`, samples: [] },
    };
    // Two untimed warm-up rounds, then interleaved samples.
    for (let i = -2; i < runs; i += 1) {
      const sample = [
        await sdkRoundTrip(pyro, workspace_id),
        await sdkFirstByte(pyro, workspace_id),
        await cliTime(["workspace", "exec", workspace_id, "--", "true"], env, true),
        await cliTime(["workspace", "exec", workspace_id, "--", STREAMED], env, false),
      ];
      if (i < 0) continue;
      [rows.sdkTrue, rows.sdkFirst, rows.cliTrue, rows.cliFirst].forEach((row, k) => row.samples.push(sample[k]));
    }
    report(`time to first byte of a streamed exec vs exec true (${backend}, warm workspace)`, Object.values(rows), [
      [rows.sdkFirst.name, rows.sdkTrue.name, 1.2],
      [rows.cliFirst.name, rows.cliTrue.name, 1.2],
    ]);
    await pyro.deleteWorkspace({ workspace_id });
  } finally {
    await pyro.close();
    rmSync(root, { recursive: true, force: true });
  }
}

// Issue 14's benchmark, in one run: `file read` and `file write` of a 64 KiB file on a
// running workspace against the warm `workspace exec cat` round trip of the same file
// (in-process SDK calls), and the same three as whole `pyro` processes.
import { spawnSync } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Pyro } from "../dist/index.js";
import { pyroBin, report, timeAsync, timeCommand } from "./lib.mjs";

const cacheDir = process.env.PYRO_ENVIRONMENT_CACHE_DIR ?? "/var/tmp/pyro-test-cache";
const backend = process.env.BENCH_BACKEND ?? "sandbox";
const runs = Number(process.env.BENCH_RUNS ?? 30);
const cliRuns = Number(process.env.BENCH_CLI_RUNS ?? 5);
const SIZE = 64 * 1024;

const root = mkdtempSync(join(tmpdir(), "pyro-bench-files-"));
const stateDir = join(root, "state");
const pyro = new Pyro({ stateDir, cacheDir });
const { workspace_id } = await pyro.createWorkspace({ environment: "debian:12", backend, allow_host_compat: true });
// 64 KiB of text lines, so read returns it as content (not binary).
const text = "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcde\n".repeat(SIZE / 64);
await pyro.writeWorkspaceFile({ workspace_id, path: "bench.txt", text });

const check = (ok, what) => {
  if (!ok) throw new Error(`bench sanity check failed: ${what}`);
};
const rows = [
  {
    name: `warm workspace exec cat 64 KiB (${backend})`,
    samples: await timeAsync(async () => check((await pyro.execWorkspace({ workspace_id, command: "cat bench.txt" })).stdout.length === SIZE, "exec cat"), { runs }),
  },
  {
    name: `file read 64 KiB (${backend})`,
    samples: await timeAsync(async () => check((await pyro.readWorkspaceFile({ workspace_id, path: "bench.txt" })).content.length === SIZE, "file read"), { runs }),
  },
  {
    name: `file write 64 KiB (${backend})`,
    samples: await timeAsync(async () => check((await pyro.writeWorkspaceFile({ workspace_id, path: "written.txt", text })).bytes_written === SIZE, "file write"), { runs }),
  },
];
report(`64 KiB file read and write against the exec cat round trip, in-process (${runs} runs)`, rows, [
  [rows[1].name, rows[0].name, 1.5],
  [rows[2].name, rows[0].name, 1.5],
]);

const cli = join(new URL("..", import.meta.url).pathname, "dist", "cli.js");
const env = { ...process.env, PYRO_STATE_DIR: stateDir, PYRO_ENVIRONMENT_CACHE_DIR: cacheDir };
const hostFile = join(root, "bench.txt");
spawnSync("sh", ["-c", `head -c ${SIZE} /dev/zero | tr '\\0' 'a' > "${hostFile}"`]);
const cliRows = [
  { name: `pyro workspace exec -- cat (${backend})`, samples: timeCommand([...pyroBin(cli), "workspace", "exec", workspace_id, "--", "cat", "bench.txt"], { runs: cliRuns, warmup: 1, env }) },
  { name: `pyro workspace file read (${backend})`, samples: timeCommand([...pyroBin(cli), "workspace", "file", "read", workspace_id, "bench.txt"], { runs: cliRuns, warmup: 1, env }) },
  {
    name: `pyro workspace file write --text-file (${backend})`,
    samples: timeCommand([...pyroBin(cli), "workspace", "file", "write", workspace_id, "written.txt", "--text-file", hostFile], { runs: cliRuns, warmup: 1, env }),
  },
];
report(`the same as whole pyro processes (${cliRuns} runs)`, cliRows, [
  [cliRows[1].name, cliRows[0].name, 1.5],
  [cliRows[2].name, cliRows[0].name, 1.5],
]);

await pyro.deleteWorkspace({ workspace_id });
await pyro.close();
rmSync(root, { recursive: true, force: true });

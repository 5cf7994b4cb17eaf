// Issue 2's benchmark, in one run: Pyro.runInVm in-process on the sandbox backend
// against a bare `bwrap … /bin/true` over the same rootfs, and `pyro run` as a whole
// process against `node -e 0`. The in-process run is measured as a long-lived
// caller (an agent, the MCP server) gets it: with a warm spare started in the
// background after each run, with 100 ms between calls (untimed) so the spare
// is ready; back to back, where each run still waits for its spare to finish
// starting; and cold (warmSpares: false: every run starts its own sandbox).
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Pyro } from "../dist/index.js";
import { ensureEnvironment } from "../dist/environments/index.js";
import { pyroBin, report, timeAsync, timeCommand } from "./lib.mjs";

const cacheDir = process.env.PYRO_ENVIRONMENT_CACHE_DIR ?? "/var/tmp/pyro-test-cache";
const runs = Number(process.env.BENCH_RUNS ?? 20);
const environment = await ensureEnvironment("debian:12", { cacheDir, kernel: false });
const stateDir = mkdtempSync(join(tmpdir(), "pyro-bench-"));
const pyro = new Pyro({ stateDir, cacheDir });
const coldPyro = new Pyro({ stateDir, cacheDir, warmSpares: false });
const cli = new URL("../dist/cli.js", import.meta.url).pathname;
const env = { ...process.env, PYRO_STATE_DIR: stateDir, PYRO_ENVIRONMENT_CACHE_DIR: cacheDir };

const rows = [
  {
    name: "bare bwrap --unshare-all /bin/true (same rootfs)",
    samples: timeCommand(
      ["bwrap", "--ro-bind", environment.rootfsDir, "/", "--proc", "/proc", "--dev", "/dev", "--unshare-all", "/bin/true"],
      { runs },
    ),
  },
  {
    name: "Pyro.runInVm sandbox `true` (in-process)",
    samples: await timeAsync(
      () => pyro.runInVm({ environment: "debian:12", command: "true", backend: "sandbox", allow_host_compat: true }),
      { runs, pauseMs: 100 },
    ),
  },
  {
    name: "Pyro.runInVm sandbox `true`, back to back",
    samples: await timeAsync(
      () => pyro.runInVm({ environment: "debian:12", command: "true", backend: "sandbox", allow_host_compat: true }),
      { runs },
    ),
  },
  {
    name: "Pyro.runInVm sandbox `true`, cold (warmSpares: false)",
    samples: await timeAsync(
      () => coldPyro.runInVm({ environment: "debian:12", command: "true", backend: "sandbox", allow_host_compat: true }),
      { runs },
    ),
  },
  { name: "node -e 0", samples: timeCommand([process.execPath, "-e", "0"], { runs }) },
  {
    name: "pyro run --backend sandbox debian:12 -- true (process)",
    samples: timeCommand([...pyroBin(cli), "run", "--allow-host-compat", "--backend", "sandbox", "debian:12", "--", "true"], { runs, env }),
  },
];
report("sandbox one-shot run", rows, [
  ["Pyro.runInVm sandbox `true` (in-process)", "bare bwrap --unshare-all /bin/true (same rootfs)", 3],
  ["Pyro.runInVm sandbox `true`, back to back", "bare bwrap --unshare-all /bin/true (same rootfs)"],
  ["Pyro.runInVm sandbox `true`, cold (warmSpares: false)", "bare bwrap --unshare-all /bin/true (same rootfs)"],
  ["pyro run --backend sandbox debian:12 -- true (process)", "node -e 0"],
]);
rmSync(stateDir, { recursive: true, force: true });

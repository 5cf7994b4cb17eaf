// Soak (issue 19): SOAK_EXECS `workspace exec` calls (default 1000) and
// SOAK_RUNS `vm_run` calls (default 200) in one long-lived caller, twice: a
// `Pyro` in this process, and `pyro mcp serve` driven by the official MCP SDK
// client over stdio. Reports the host RSS and open fds of the long-lived
// process (this one; the server) at the start, after each quarter and at the
// end, the guest agent's RSS (the guest's PID 1) before and after the execs,
// and fails (exit 1) when a call fails or RSS / fds grow past the bounds:
// RSS +64 MiB, fds +16 from the first quarter to the end (the first quarter
// absorbs warm-up: JIT, module loading, the warm spare), guest agent +16 MiB.
// SOAK_BACKEND picks the backend (default sandbox).
import { readFileSync, readdirSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Client } from "@modelcontextprotocol/sdk/client/index.js";
import { StdioClientTransport } from "@modelcontextprotocol/sdk/client/stdio.js";
import { Pyro } from "../dist/index.js";
import { median } from "./lib.mjs";

const cacheDir = process.env.PYRO_ENVIRONMENT_CACHE_DIR ?? "/var/tmp/pyro-test-cache";
const EXECS = Number(process.env.SOAK_EXECS ?? 1000);
const RUNS = Number(process.env.SOAK_RUNS ?? 200);
const backend = process.env.SOAK_BACKEND ?? "sandbox";
const RSS_BOUND_MIB = 64;
const FD_BOUND = 16;
const GUEST_BOUND_MIB = 16;

function rssMib(pid) {
  const line = readFileSync(`/proc/${pid}/status`, "utf8").split("\n").find((l) => l.startsWith("VmRSS:"));
  return Math.round(Number(line.split(/\s+/)[1]) / 1024);
}
const fds = (pid) => readdirSync(`/proc/${pid}/fd`).length;
const sample = (pid) => ({ rss_mib: rssMib(pid), fds: fds(pid) });

/** Run the soak through `call(name, input)`, sampling `pid`. */
async function soak(label, pid, call) {
  const ws = await call("createWorkspace", { environment: "debian:12", backend, allow_host_compat: true });
  // The guest agent's own RSS (PID 1 of the guest on every backend): a sandbox's /proc/meminfo is the host's.
  const guestMem = async () => Number((await call("execWorkspace", { workspace_id: ws.workspace_id, command: "awk '/VmRSS/ {print int($2/1024)}' /proc/1/status" })).stdout.trim());
  const samples = [{ at: "start", ...sample(pid) }];
  const guestStart = await guestMem();
  const execMs = [];
  for (let i = 1; i <= EXECS; i += 1) {
    const t = performance.now();
    const r = await call("execWorkspace", { workspace_id: ws.workspace_id, command: `echo ${i}` });
    execMs.push(performance.now() - t);
    if (r.exit_code !== 0 || r.stdout.trim() !== String(i)) throw new Error(`${label}: exec ${i} returned ${JSON.stringify(r)}`);
    if (i % (EXECS / 4) === 0) samples.push({ at: `exec ${i}`, ...sample(pid) });
  }
  const guestEnd = await guestMem();
  const runMs = [];
  for (let i = 1; i <= RUNS; i += 1) {
    const t = performance.now();
    const r = await call("runInVm", { environment: "debian:12", backend, allow_host_compat: true, command: "true" });
    runMs.push(performance.now() - t);
    if (r.exit_code !== 0) throw new Error(`${label}: vm_run ${i} returned ${JSON.stringify(r)}`);
    if (i % (RUNS / 4) === 0) samples.push({ at: `vm_run ${i}`, ...sample(pid) });
  }
  await call("deleteWorkspace", { workspace_id: ws.workspace_id });
  const q1 = samples[1];
  const end = samples[samples.length - 1];
  const p95 = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length * 0.95)];
  const result = {
    label,
    backend,
    samples,
    guest_agent_rss_mib: { start: guestStart, after_execs: guestEnd },
    exec_ms: { median: Math.round(median(execMs)), p95: Math.round(p95(execMs)) },
    vm_run_ms: { median: Math.round(median(runMs)), p95: Math.round(p95(runMs)) },
    rss_growth_mib: end.rss_mib - q1.rss_mib,
    fd_growth: end.fds - q1.fds,
  };
  result.flat = result.rss_growth_mib <= RSS_BOUND_MIB && result.fd_growth <= FD_BOUND && guestEnd - guestStart <= GUEST_BOUND_MIB;
  return result;
}

const stateDir = mkdtempSync(join(tmpdir(), "pyro-soak-"));
const results = [];
try {
  // 1. A long-lived Pyro in this process.
  const pyro = new Pyro({ stateDir, cacheDir });
  results.push(await soak("Pyro (in-process)", process.pid, (name, input) => pyro[name](input)));
  await pyro.close();

  // 2. pyro mcp serve, through the official MCP client.
  const transport = new StdioClientTransport({
    command: process.execPath,
    args: [new URL("../dist/cli.js", import.meta.url).pathname, "mcp", "serve"],
    env: { ...process.env, PYRO_STATE_DIR: stateDir, PYRO_ENVIRONMENT_CACHE_DIR: cacheDir },
    stderr: "ignore",
  });
  const client = new Client({ name: "pyro-soak", version: "1" });
  await client.connect(transport);
  const TOOLS = { createWorkspace: "workspace_create", execWorkspace: "workspace_exec", deleteWorkspace: "workspace_delete", runInVm: "vm_run" };
  const call = async (name, input) => {
    const r = await client.callTool({ name: TOOLS[name], arguments: input }, undefined, { timeout: 300_000 });
    if (r.isError) throw new Error(`${TOOLS[name]}: ${JSON.stringify(r.content)}`);
    return r.structuredContent;
  };
  results.push(await soak("pyro mcp serve", transport.pid, call));
  await client.close();
} finally {
  rmSync(stateDir, { recursive: true, force: true });
}

for (const r of results) {
  console.log(`\n${r.label} (${r.backend}): ${EXECS} workspace exec, ${RUNS} vm_run, every call succeeded`);
  console.log("  at            RSS MiB   fds");
  for (const s of r.samples) console.log(`  ${s.at.padEnd(12)} ${String(s.rss_mib).padStart(8)} ${String(s.fds).padStart(5)}`);
  console.log(`  growth after the first quarter: RSS ${r.rss_growth_mib} MiB (bound ${RSS_BOUND_MIB}), fds ${r.fd_growth} (bound ${FD_BOUND})`);
  console.log(`  guest agent RSS: ${r.guest_agent_rss_mib.start} MiB at start, ${r.guest_agent_rss_mib.after_execs} MiB after the execs (bound +${GUEST_BOUND_MIB} MiB)`);
  console.log(`  workspace exec: median ${r.exec_ms.median} ms, p95 ${r.exec_ms.p95} ms; vm_run: median ${r.vm_run_ms.median} ms, p95 ${r.vm_run_ms.p95} ms`);
  console.log(`  ${r.flat ? "FLAT" : "GREW"}`);
}
console.log(`\nJSON ${JSON.stringify(results)}`);
if (!results.every((r) => r.flat)) process.exit(1);

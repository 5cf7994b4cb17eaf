import { existsSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { Pyro } from "../../src/index.js";
import { ensureEnvironment } from "../../src/environments/index.js";
import { SUITE_BACKENDS } from "../helpers/backends.js";
import { expectPyroError } from "../helpers/errors.js";
import { TEST_CACHE_DIR, tempStateDir } from "../helpers/env.js";
import { pidsMentioning } from "../helpers/processes.js";

describe.each(SUITE_BACKENDS)("one-shot runs and the VM lifecycle on $name", ({ name: backend, available, needs }) => {
  const state = tempStateDir();
  let pyro: Pyro;
  const base = { environment: "debian:12", backend, allow_host_compat: true } as const;

  beforeAll(async () => {
    if (!available) return;
    await ensureEnvironment("debian:12", { cacheDir: TEST_CACHE_DIR, kernel: backend !== "sandbox", onProgress: (l) => process.stderr.write(`${l}\n`) });
    pyro = new Pyro({ stateDir: state.dir, cacheDir: TEST_CACHE_DIR });
  }, 900_000);
  afterAll(() => state.cleanup());

  it.skipIf(!available)(`runs git in a Debian guest (needs ${needs})`, async () => {
    const result = await pyro.runInVm({ ...base, command: "git --version" });
    expect(result.exit_code).toBe(0);
    expect(result.stdout).toMatch(/^git version \d/);
    expect(result.backend).toBe(backend);
    expect(result.execution_mode).toBe(backend === "sandbox" ? "host_compat" : "guest_serial");
    expect(result.cleanup).toEqual({ deleted: true, reason: "post_exec_cleanup", vm_id: result.vm_id });
    expect(existsSync(join(state.dir, "vms", result.vm_id))).toBe(false);
  });

  it.skipIf(!available)("isolates the guest: Debian 12, own pid namespace and hostname, no host files", async () => {
    const marker = join(state.dir, "host-only-marker");
    writeFileSync(marker, "host");
    const result = await pyro.runInVm({
      ...base,
      command: `cat /etc/os-release; echo "pid1=$(tr '\\0' ' ' < /proc/1/cmdline)"; hostname; test -e ${marker} && echo LEAK || echo no-host-files`,
    });
    expect(result.exit_code).toBe(0);
    expect(result.stdout).toContain('VERSION_ID="12"');
    expect(result.stdout).toMatch(/pid1=\S*pyro-(agent|init)/);
    expect(result.stdout).toContain(result.vm_id);
    expect(result.stdout).toContain("no-host-files");
  });

  it.skipIf(!available)("passes the guest exit code and stderr through", async () => {
    const result = await pyro.runInVm({ ...base, command: "echo oops >&2; exit 7" });
    expect(result.exit_code).toBe(7);
    expect(result.stderr).toBe("oops\n");
  });

  it.skipIf(!available)("kills a command that never exits at its timeout", async () => {
    const started = Date.now();
    const result = await pyro.runInVm({ ...base, command: "sleep 1000 & sleep 1000", timeout_seconds: 2 });
    expect(result.timed_out).toBe(true);
    expect(result.exit_code).toBe(124);
    expect(Date.now() - started).toBeLessThan(60_000);
  });

  // Truncation is the agent's and the client's job, the same on every backend; under
  // software emulation a full GiB costs minutes of CI, so guests print 64 MiB.
  const floodBytes = backend === "sandbox" ? 1024 ** 3 : 64 * 1024 ** 2;
  it.skipIf(!available)(`bounds a ${floodBytes / 1024 ** 2} MiB output without blowing up host memory`, async () => {
    const before = process.memoryUsage().rss;
    const result = await pyro.runInVm({ ...base, command: `head -c ${floodBytes} /dev/zero`, timeout_seconds: 600 });
    expect(result.exit_code).toBe(0);
    expect(result.stdout_truncated).toBe(true);
    expect(result.stdout.length).toBeLessThanOrEqual(1024 * 1024);
    expect(result.stdout.length).toBeGreaterThan(1000);
    expect(process.memoryUsage().rss - before).toBeLessThan(256 * 1024 * 1024);
  }, 900_000);

  it.skipIf(!available)("walks create → start → status → exec (deletes) and reports cleanup", async () => {
    const vm = await pyro.createVm(base);
    expect(vm.state).toBe("created");
    const started = await pyro.startVm({ vm_id: vm.vm_id });
    expect(started.state).toBe("running");
    expect(started.pid).toBeGreaterThan(0);
    expect((await pyro.statusVm({ vm_id: vm.vm_id })).state).toBe("running");
    const network = await pyro.networkInfoVm({ vm_id: vm.vm_id });
    expect(network.network_enabled).toBe(false);
    const result = await pyro.execVm({ vm_id: vm.vm_id, command: "echo hi" });
    expect(result.stdout).toBe("hi\n");
    expect(result.cleanup.deleted).toBe(true);
    await expectPyroError(pyro.statusVm({ vm_id: vm.vm_id }), "not_found");
  });

  it.skipIf(!available)("stops and deletes a VM, leaving no processes", async () => {
    const vm = await pyro.createVm(base);
    await pyro.startVm({ vm_id: vm.vm_id });
    const stopped = await pyro.stopVm({ vm_id: vm.vm_id });
    expect(stopped.state).toBe("stopped");
    expect(pidsMentioning(vm.vm_id)).toEqual([]);
    expect(await pyro.deleteVm({ vm_id: vm.vm_id })).toEqual({ vm_id: vm.vm_id, deleted: true });
    expect(existsSync(join(state.dir, "vms", vm.vm_id))).toBe(false);
  });

  it.skipIf(!available)("reports a killed machine as dead; delete cleans up without orphans", async () => {
    const vm = await pyro.createVm(base);
    const started = await pyro.startVm({ vm_id: vm.vm_id });
    process.kill(started.pid!, "SIGKILL");
    await new Promise((resolve) => setTimeout(resolve, 500));
    const status = await pyro.statusVm({ vm_id: vm.vm_id });
    expect(status.state).toBe("dead");
    expect(status.detail).toMatch(/exited unexpectedly/);
    const error = await expectPyroError(pyro.execVm({ vm_id: vm.vm_id, command: "true" }), "failed_precondition");
    expect(error.message).toContain("dead");
    await pyro.deleteVm({ vm_id: vm.vm_id });
    expect(pidsMentioning(vm.vm_id)).toEqual([]);
  });

  it.skipIf(!available)("reaps VMs whose TTL has passed", async () => {
    const vm = await pyro.createVm(base);
    await pyro.startVm({ vm_id: vm.vm_id });
    const recordPath = join(state.dir, "vms", vm.vm_id, "record.json");
    const record = JSON.parse(readFileSync(recordPath, "utf8"));
    writeFileSync(recordPath, JSON.stringify({ ...record, expires_at: new Date(Date.now() - 1000).toISOString() }));
    const reaped = await pyro.reapExpired();
    expect(reaped.reaped_vms).toContain(vm.vm_id);
    expect(pidsMentioning(vm.vm_id)).toEqual([]);
    await expectPyroError(pyro.statusVm({ vm_id: vm.vm_id }), "not_found");
  });

  it.skipIf(!available)("refuses bad input with clear errors", async () => {
    await expectPyroError(pyro.runInVm({ ...base, environment: "debian:99", command: "true" }), "not_found");
    await expectPyroError(pyro.statusVm({ vm_id: "vm-000000000000" }), "not_found");
    await expectPyroError(pyro.statusVm({ vm_id: "../../etc" }), "not_found");
    await expectPyroError(pyro.runInVm({ ...base, command: "   " }), "invalid_argument");
    await expectPyroError(pyro.runInVm({ ...base, command: "true", timeout_seconds: -5 }), "invalid_argument");
    await expectPyroError(pyro.runInVm({ ...base, command: "true", timeout_seconds: 10_000_000 }), "invalid_argument");
  });
});

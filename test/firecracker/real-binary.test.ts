import { spawnSync } from "node:child_process";
import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { afterEach, beforeAll, beforeEach, describe, expect, it } from "vitest";
import type { MachineSpec } from "../../src/runtime/backend.js";
import { FirecrackerBackend, type FirecrackerHandle } from "../../src/runtime/firecracker/backend.js";
import { FirecrackerApiClient } from "../../src/runtime/firecracker/api-client.js";
import { VM_FILES } from "../../src/runtime/firecracker/constants.js";
import { vmLayout, type VmLayout } from "../../src/runtime/firecracker/layout.js";
import { connectVsock } from "../../src/runtime/firecracker/vsock.js";
import { ensureKernel } from "../../src/environments/kernel/index.js";
import type { KernelArtifacts } from "../../src/environments/types.js";
import { PyroError } from "../../src/util/errors.js";
import { processStartTime } from "../../src/util/process.js";
import { firecrackerRelease, type FirecrackerRelease } from "../helpers/firecracker-release.js";
import { TEST_CACHE_DIR } from "../helpers/env.js";
import { liveProcesses } from "../helpers/processes.js";
import { fakeMachine, tempDir } from "./helpers.js";

// The real Firecracker v1.12.1 (fetched from the original's wheel, sha256
// checked) runs every step that does not need a booted guest: API server,
// each configuration call, logger, metrics, vsock device, InstanceStart, the
// vsock CONNECT up to the guest, stop, restart over stale sockets. What only a
// booted guest can answer (the agent behind vsock) stays with the
// spec-validating fake (backend.test.ts): on this host's KVM no standard guest
// runs, and elsewhere the tiny fake root image has no agent either.

const KVM_RW = ((): boolean => {
  try {
    return existsSync("/dev/kvm") && spawnSync("test", ["-r", "/dev/kvm", "-a", "-w", "/dev/kvm"]).status === 0;
  } catch {
    return false;
  }
})();

/** Every configuration call of the boot sequence, in order (src/runtime/firecracker/boot-config.ts). */
const BOOT_SEQUENCE = ["/logger", "/metrics", "/machine-config", "/boot-source", "/drives/rootfs", "/vsock", "/actions"];

/** The PUT paths the real binary logged receiving, across its stdout (before the logger existed) and its log file. */
function loggedPuts(layout: VmLayout): string[] {
  const text = [layout.consoleFile, layout.logFile].map((f) => (existsSync(f) ? readFileSync(f, "utf8") : "")).join("\n");
  return [...text.matchAll(/received a Put request on "([^"]+)"/g)].map((m) => m[1] as string);
}

/** What a test saw while the backend waited for the agent of a configured, running VMM. */
interface Observed {
  state: string;
  version: string;
  vmConfig: Record<string, unknown>;
  vsockError: unknown;
  metrics: string;
}

describe.skipIf(!KVM_RW)("FirecrackerBackend with the real Firecracker v1.12.1 binary (needs a read-writable /dev/kvm)", () => {
  let release: FirecrackerRelease;
  let kernel: KernelArtifacts;
  let tmp: ReturnType<typeof tempDir>;
  let spec: MachineSpec;

  beforeAll(async () => {
    release = firecrackerRelease();
    kernel = await ensureKernel(TEST_CACHE_DIR);
  });
  beforeEach(() => {
    tmp = tempDir();
    const fake = fakeMachine(tmp.dir, "fcreal", { vcpuCount: 1, memMib: 128 });
    spec = { ...fake, environment: { ...fake.environment, kernel } };
  });
  /** The VMM of this test's machine, jailed (its command line names no host path) or not. */
  const vmmPids = (): number[] => liveProcesses().filter((p) => /firecracker$/.test(p.argv[0] ?? "") && p.argv.includes(spec.id) && p.argv.join(" ").includes("api.sock")).map((p) => p.pid);
  afterEach(() => {
    for (const pid of vmmPids()) process.kill(pid, "SIGKILL");
    tmp.remove();
  });

  const backend = (jailed = false): FirecrackerBackend =>
    new FirecrackerBackend({
      jailed,
      env: { PATH: process.env.PATH, PYRO_FIRECRACKER_BIN: release.firecracker, PYRO_JAILER_BIN: release.jailer },
    });

  /** The files of the machine as this host sees them (inside the chroot when jailed). */
  const layoutOf = (jailed: boolean): VmLayout => vmLayout(spec.dir, spec.id, jailed ? "firecracker" : undefined);

  /** Start; once the backend waits for the agent, look at the live VMM through its real API and vsock socket. */
  async function startAndObserve(
    fc: FirecrackerBackend,
    bootTimeoutMs: number,
    options: { jailed?: boolean; during?: (handle: FirecrackerHandle) => Promise<void> } = {},
  ): Promise<{ error: PyroError; observed: Observed; phases: string[] }> {
    const phases: string[] = [];
    let observing: Promise<Observed> | undefined;
    const layout = layoutOf(options.jailed ?? false);
    const observe = async (): Promise<Observed> => {
      const client = new FirecrackerApiClient(layout.apiSocket);
      const info = await client.describeInstance();
      const vmConfig = JSON.parse(await rawGet(layout.apiSocket, "/vm/config")) as Record<string, unknown>;
      const vsockError = await connectVsock(layout.vsockSocket, 10_000, { timeoutMs: 800 }).then(
        (socket) => {
          socket.destroy();
          return undefined;
        },
        (error: unknown) => error,
      );
      await client.flushMetrics();
      const metrics = readFileSync(layout.metricsFile, "utf8");
      if (options.during) {
        const [pid] = vmmPids();
        const startTime = processStartTime(pid as number);
        await options.during({ backend: "firecracker", pid: pid as number, ...(startTime ? { pidStartTime: startTime } : {}), api_socket: layout.apiSocket } as FirecrackerHandle);
      }
      return { state: info.state, version: info.vmm_version, vmConfig, vsockError, metrics };
    };
    // Caught at once, awaited after start settles (an unawaited rejection would be reported as unhandled).
    let observeError: unknown;
    const error = (await fc
      .start(spec, {
        bootTimeoutMs,
        onProgress: (line) => {
          phases.push(line);
          if (line.startsWith("phase=wait-agent")) {
            observing = observe();
            observing.catch((e: unknown) => (observeError = e));
          }
        },
      })
      .then(
        () => new Error("start resolved: a guest booted with an agent behind a fake root image?"),
        (e: unknown) => e,
      )) as PyroError;
    if (!observing) throw error;
    if (observeError) throw observeError;
    return { error, observed: await observing, phases };
  }

  it("takes every configuration call of the boot sequence, logs and meters it, creates the vsock device and starts the instance", async () => {
    const { error, observed, phases } = await startAndObserve(backend(), 4000);
    expect(phases.map((p) => p.split(" ")[0])).toEqual(["phase=disk", "phase=spawn", "phase=configure", "phase=wait-agent"]);
    expect(observed.version).toBe("1.12.1");
    expect(observed.state).toBe("Running");
    // The VMM's own view of the configuration it was given.
    expect(observed.vmConfig["machine-config"]).toMatchObject({ vcpu_count: 1, mem_size_mib: 128, smt: false });
    expect(observed.vmConfig["boot-source"]).toMatchObject({ kernel_image_path: kernel.vmlinux, initrd_path: kernel.initramfs });
    expect(observed.vmConfig.drives).toEqual([expect.objectContaining({ drive_id: "rootfs", is_root_device: true, path_on_host: join(spec.dir, VM_FILES.rootDisk) })]);
    expect(observed.vmConfig.vsock).toMatchObject({ guest_cid: 3, uds_path: join(spec.dir, VM_FILES.vsockSocket) });
    // Logger and metrics: each configuration call arrived in order and was answered 204.
    expect(loggedPuts(layoutOf(false)).slice(0, BOOT_SEQUENCE.length)).toEqual(BOOT_SEQUENCE);
    const log = readFileSync(join(spec.dir, VM_FILES.log), "utf8");
    expect(log.match(/Status code: 204 No Content/g)?.length ?? 0).toBeGreaterThanOrEqual(BOOT_SEQUENCE.length - 1);
    expect(log).toContain('"action_type\\":\\"InstanceStart\\"');
    const metrics = JSON.parse(observed.metrics.trim().split("\n").pop() as string) as Record<string, Record<string, number>>;
    expect(metrics.vsock).toMatchObject({ activate_fails: 0, cfg_fails: 0 });
    expect(metrics.api_server).toBeDefined();
    // The vsock device took the CONNECT; only a guest driving the device could answer it.
    expect(observed.vsockError).toBeInstanceOf(PyroError);
    expect(["timeout", "guest_failure"]).toContain((observed.vsockError as PyroError).code);

    // Without an agent the start fails; the error carries the logs' tails itself
    // (the machine's directory, where they live, goes with a failed create).
    expect(error).toBeInstanceOf(PyroError);
    expect(["timeout", "guest_failure"]).toContain(error.code);
    expect(error.message).toContain("firecracker log:");
    expect(error.message).toMatch(/Firecracker v1\.12\.1|Status code/);
    expect(error.hint).not.toMatch(/VM directory|\.log/);
    expect(error.hint).toMatch(/lines above/);
    // The failed start killed the VMM.
    expect(vmmPids()).toEqual([]);
  });

  it("restarts over the stale API and vsock sockets a killed firecracker leaves (which the binary itself refuses)", async () => {
    const fc = backend();
    await startAndObserve(fc, 2500);
    const apiSocket = join(spec.dir, VM_FILES.apiSocket);
    expect(existsSync(apiSocket)).toBe(true);
    expect(existsSync(join(spec.dir, VM_FILES.vsockSocket))).toBe(true);
    // The real binary does not start over a stale API socket …
    const refused = spawnSync(release.firecracker, ["--api-sock", apiSocket, "--id", "stale"], { encoding: "utf8", timeout: 10_000 });
    expect(refused.status).not.toBe(0);
    expect(refused.stdout + refused.stderr).toMatch(/Address in use|Failed to open the API socket/i);
    // … so the backend removes both before it spawns, and the second start gets as far as the first.
    const second = await startAndObserve(fc, 2500);
    expect(second.observed.state).toBe("Running");
    expect(second.phases.some((p) => p.startsWith("phase=wait-agent"))).toBe(true);
    await fc.cleanup(spec);
    expect(existsSync(apiSocket)).toBe(false);
    expect(existsSync(join(spec.dir, VM_FILES.rootDisk))).toBe(false);
  });

  it("stop(): the real API takes SendCtrlAltDel, then the kill ends the VMM; the waiting start fails at once", async () => {
    const fc = backend();
    let stopped = 0;
    const t0 = Date.now();
    const { error } = await startAndObserve(fc, 30_000, { during: async (handle) => {
      expect(fc.isRunning(handle)).toBe(true);
      await fc.stop(spec, handle, 1000);
      expect(fc.isRunning(handle)).toBe(false);
      stopped = Date.now();
    } });
    expect(stopped).toBeGreaterThan(0);
    // The start noticed the VMM was gone long before its 30 s boot timeout.
    expect(Date.now() - t0).toBeLessThan(15_000);
    expect(error.code).toBe("guest_failure");
    expect(error.message).toMatch(/stopped before its agent answered/);
    const log = readFileSync(join(spec.dir, VM_FILES.log), "utf8");
    expect(log).toContain('"action_type\\":\\"SendCtrlAltDel\\"');
  });

  it.skipIf(process.getuid?.() !== 0)("as root, through the real jailer: the same sequence runs in the chroot, as the jailer's uid", async () => {
    const fc = backend(true);
    const layout = layoutOf(true);
    let status = "";
    const { error, observed } = await startAndObserve(fc, 3000, {
      jailed: true,
      during: async (handle) => {
        status = readFileSync(`/proc/${handle.pid}/status`, "utf8");
        await Promise.resolve();
      },
    });
    expect(observed.state).toBe("Running");
    // The jailer dropped to its uid/gid (default 65534) before it exec'd firecracker.
    expect(status).toMatch(/^Uid:\s+65534\s/m);
    expect(status).toMatch(/^Gid:\s+65534\s/m);
    expect(vmmPids()).toEqual([]);
    // Paths as the jailed VMM sees them, inside its chroot.
    expect(observed.vmConfig["boot-source"]).toMatchObject({ kernel_image_path: "/vmlinux", initrd_path: "/initrd.img" });
    expect(observed.vmConfig.vsock).toMatchObject({ uds_path: "/v.sock" });
    expect(loggedPuts(layout).slice(0, BOOT_SEQUENCE.length)).toEqual(BOOT_SEQUENCE);
    expect(["timeout", "guest_failure"]).toContain(error.code);
    expect(error.message).toContain("firecracker log:");
  });

  it("a kernel that is not an ELF vmlinux: InstanceStart fails with Firecracker's own fault message", async () => {
    const fc = backend();
    const bad = { ...spec, environment: { ...spec.environment, kernel: { ...kernel, vmlinux: kernel.vmlinuz } } };
    const error = (await fc.start(bad, { bootTimeoutMs: 5000 }).catch((e: unknown) => e)) as PyroError;
    expect(error).toBeInstanceOf(PyroError);
    expect(error.code).toBe("guest_failure");
    expect(String(error.details?.fault_message)).toMatch(/kernel|ELF|load/i);
    expect(error.hint).not.toMatch(/VM directory/);
  });
});

/** GET a path on the API socket and return the body (for endpoints the client has no method for). */
function rawGet(socketPath: string, path: string): Promise<string> {
  return import("node:http").then(
    ({ request }) =>
      new Promise((resolve, reject) => {
        const req = request({ socketPath, path, method: "GET", headers: { Accept: "application/json" } }, (res) => {
          let body = "";
          res.setEncoding("utf8").on("data", (chunk: string) => (body += chunk));
          res.on("end", () => resolve(body));
        });
        req.on("error", reject);
        req.end();
      }),
  );
}

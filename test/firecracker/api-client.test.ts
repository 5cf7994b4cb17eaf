import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { FirecrackerApiClient } from "../../src/runtime/firecracker/api-client.js";
import { PyroError } from "../../src/util/errors.js";
import { startFakeFirecracker, type FakeFirecracker } from "./fixtures/fake-api-server.mjs";
import { loadSpec, validate } from "./fixtures/spec-validator.mjs";
import { tempDir } from "./helpers.js";

const spec = loadSpec();

describe("FirecrackerApiClient against the spec-validating fake API", () => {
  let tmp: ReturnType<typeof tempDir>;
  let fake: FakeFirecracker;
  let client: FirecrackerApiClient;

  beforeEach(async () => {
    tmp = tempDir();
    fake = await startFakeFirecracker({ socketPath: join(tmp.dir, "api.sock"), id: "client-test", spec });
    client = new FirecrackerApiClient(join(tmp.dir, "api.sock"));
  });
  afterEach(async () => {
    await fake.close();
    tmp.remove();
  });

  it("every method sends a body the spec accepts", async () => {
    const info = await client.describeInstance();
    expect(validate(spec, { $ref: "#/definitions/InstanceInfo" }, info)).toEqual([]);
    expect(info).toMatchObject({ app_name: "Firecracker", id: "client-test", state: "Not started", vmm_version: "1.16.1" });

    await client.putLogger({ log_path: join(tmp.dir, "fc.log"), level: "Debug", show_level: true, show_log_origin: true });
    await client.putMetrics({ metrics_path: join(tmp.dir, "metrics.json") });
    await client.putMachineConfig({ vcpu_count: 2, mem_size_mib: 1024, smt: false, track_dirty_pages: true });
    await client.putBootSource({ kernel_image_path: "/k/vmlinux", initrd_path: "/k/initrd", boot_args: "console=ttyS0" });
    await client.putDrive({ drive_id: "rootfs", path_on_host: "/d/root.ext4", is_root_device: true, is_read_only: false, cache_type: "Writeback", io_engine: "Async", rate_limiter: { bandwidth: { size: 1000, refill_time: 100 } } });
    await client.putNetworkInterface({ iface_id: "eth0", host_dev_name: "tap0", guest_mac: "06:00:00:00:00:01", mtu: 1500 });
    await client.putVsock({ guest_cid: 3, uds_path: join(tmp.dir, "v.sock") });
    await client.instanceStart();
    expect((await client.describeInstance()).state).toBe("Running");
    await client.patchDrive({ drive_id: "rootfs", path_on_host: "/d/other.ext4" });
    await client.flushMetrics();
    await client.pause();
    expect((await client.describeInstance()).state).toBe("Paused");
    await client.createSnapshot({ snapshot_path: join(tmp.dir, "state"), mem_file_path: join(tmp.dir, "mem"), snapshot_type: "Full" });
    await client.resume();
    await client.sendCtrlAltDel();

    const bad = fake.calls.filter((c) => c.status >= 300);
    expect(bad).toEqual([]);
    expect(fake.calls.map((c) => `${c.method} ${c.template}`)).toEqual([
      "GET /",
      "PUT /logger",
      "PUT /metrics",
      "PUT /machine-config",
      "PUT /boot-source",
      "PUT /drives/{drive_id}",
      "PUT /network-interfaces/{iface_id}",
      "PUT /vsock",
      "PUT /actions",
      "GET /",
      "PATCH /drives/{drive_id}",
      "PUT /actions",
      "PATCH /vm",
      "GET /",
      "PUT /snapshot/create",
      "PATCH /vm",
      "PUT /actions",
    ]);
    expect(fake.calls[4]?.body).toEqual({ kernel_image_path: "/k/vmlinux", initrd_path: "/k/initrd", boot_args: "console=ttyS0" });
    expect(fake.calls.filter((c) => c.template === "/actions").map((c) => c.body)).toEqual([
      { action_type: "InstanceStart" },
      { action_type: "FlushMetrics" },
      { action_type: "SendCtrlAltDel" },
    ]);
  });

  it("loads a snapshot on a fresh process with a spec-valid body", async () => {
    // The fake opens both files, as Firecracker does.
    writeFileSync(join(tmp.dir, "state"), "{}");
    writeFileSync(join(tmp.dir, "mem"), "");
    await client.loadSnapshot({
      snapshot_path: join(tmp.dir, "state"),
      mem_backend: { backend_type: "File", backend_path: join(tmp.dir, "mem") },
      resume_vm: true,
      vsock_override: { uds_path: "/new/v.sock" },
      network_overrides: [{ iface_id: "eth0", host_dev_name: "tap1" }],
    });
    expect(fake.calls.at(-1)).toMatchObject({ template: "/snapshot/load", status: 204 });
  });

  it("surfaces fault_message of a spec violation in a PyroError", async () => {
    const error = await client.putMachineConfig({ vcpu_count: 0, mem_size_mib: 128 }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(PyroError);
    const pe = error as PyroError;
    expect(pe.code).toBe("guest_failure");
    expect(pe.message).toContain("PUT /machine-config (HTTP 400)");
    expect(pe.message).toContain("body.vcpu_count: 0 < minimum 1");
    expect(pe.details?.fault_message).toMatch(/minimum 1/);
    expect(pe.hint).toBeTruthy();
  });

  it("surfaces Firecracker's state errors (pre-boot only after start)", async () => {
    await client.putBootSource({ kernel_image_path: "/k" });
    await client.instanceStart();
    const error = (await client.putVsock({ guest_cid: 3, uds_path: "/x" }).catch((e: unknown) => e)) as PyroError;
    expect(error.message).toContain("not supported after starting the microVM");
  });

  it("a dead socket is a clear guest_failure, not a hang", async () => {
    const dead = new FirecrackerApiClient(join(tmp.dir, "missing.sock"), { timeoutMs: 500 });
    const error = (await dead.describeInstance().catch((e: unknown) => e)) as PyroError;
    expect(error).toBeInstanceOf(PyroError);
    expect(error.code).toBe("guest_failure");
    expect(error.message).toMatch(/not accepting connections \(ENOENT\)/);
  });
});

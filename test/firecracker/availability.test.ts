import { chmodSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { checkFirecrackerAvailability } from "../../src/runtime/firecracker/availability.js";
import { FirecrackerBackend } from "../../src/runtime/firecracker/backend.js";
import { findBinary } from "../../src/util/binaries.js";
import { FAKE_FIRECRACKER, FAKE_JAILER, tempDir } from "./helpers.js";

const isRoot = process.getuid?.() === 0;

describe("Firecracker availability", () => {
  let tmp: ReturnType<typeof tempDir>;
  let kvm: string;
  beforeEach(() => {
    tmp = tempDir();
    kvm = join(tmp.dir, "kvm");
    writeFileSync(kvm, "");
  });
  afterEach(() => tmp.remove());

  it("is unusable without a binary even when /dev/kvm exists", () => {
    const r = checkFirecrackerAvailability({ env: { PATH: tmp.dir }, root: false, kvmPath: kvm });
    expect(r.usable).toBe(false);
    expect(r.reason).toMatch(/no firecracker binary/);
    expect(r.fix).toMatch(/releases/);
    expect(r.fix).toMatch(/PYRO_FIRECRACKER_BIN/);
  });

  it("names a bad PYRO_FIRECRACKER_BIN", () => {
    const r = checkFirecrackerAvailability({ env: { PATH: "", PYRO_FIRECRACKER_BIN: join(tmp.dir, "nope") }, root: false, kvmPath: kvm });
    expect(r.reason).toMatch(/PYRO_FIRECRACKER_BIN=.*not an executable/);
  });

  it("finds firecracker on PATH", () => {
    const bin = join(tmp.dir, "firecracker");
    writeFileSync(bin, "#!/bin/sh\n");
    chmodSync(bin, 0o755);
    expect(findBinary("firecracker", undefined, { PATH: `/nonexistent:${tmp.dir}` })).toBe(bin);
    const r = checkFirecrackerAvailability({ env: { PATH: tmp.dir }, root: false, kvmPath: kvm });
    expect(r).toMatchObject({ usable: true, details: { binary: bin, kvm_exists: true, kvm_rw: true } });
  });

  it("requires /dev/kvm", () => {
    const r = checkFirecrackerAvailability({ env: { PYRO_FIRECRACKER_BIN: FAKE_FIRECRACKER }, root: false, kvmPath: join(tmp.dir, "nokvm") });
    expect(r.usable).toBe(false);
    expect(r.reason).toMatch(/no KVM/);
  });

  it.skipIf(isRoot)("requires /dev/kvm to be read-write", () => {
    chmodSync(kvm, 0o400);
    const r = checkFirecrackerAvailability({ env: { PYRO_FIRECRACKER_BIN: FAKE_FIRECRACKER }, root: false, kvmPath: kvm });
    expect(r.usable).toBe(false);
    expect(r.fix).toMatch(/kvm group/);
  });

  it("requires the jailer when running as root", () => {
    const env = { PATH: tmp.dir, PYRO_FIRECRACKER_BIN: FAKE_FIRECRACKER };
    const missing = checkFirecrackerAvailability({ env, root: true, kvmPath: kvm });
    expect(missing.usable).toBe(false);
    expect(missing.reason).toMatch(/jailer/);
    expect(missing.fix).toMatch(/PYRO_JAILER_BIN/);
    const ok = checkFirecrackerAvailability({ env: { ...env, PYRO_JAILER_BIN: FAKE_JAILER }, root: true, kvmPath: kvm });
    expect(ok).toMatchObject({ usable: true, details: { jailer: FAKE_JAILER } });
  });

  it("checks the vmlinux when one is named", () => {
    const r = checkFirecrackerAvailability({ env: { PYRO_FIRECRACKER_BIN: FAKE_FIRECRACKER }, root: false, kvmPath: kvm, vmlinux: join(tmp.dir, "vmlinux") });
    expect(r.usable).toBe(false);
    expect(r.reason).toMatch(/vmlinux/);
  });

  it("the backend reports its capabilities", async () => {
    const fc = new FirecrackerBackend({ jailed: false, env: { PATH: tmp.dir }, kvmPath: kvm });
    expect(fc.name).toBe("firecracker");
    expect(fc.capabilities).toMatchObject({ vm_boot: true, guest_exec: true, vsock: true, disk_tools: true, execution_mode: "guest_vsock" });
    expect((await fc.availability()).usable).toBe(false);
  });
});

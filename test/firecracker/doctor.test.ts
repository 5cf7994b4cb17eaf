import { existsSync } from "node:fs";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ensureKernel } from "../../src/environments/kernel/index.js";
import { runCli } from "../helpers/cli.js";
import { CLI, pyroEnv, TEST_CACHE_DIR, tempStateDir } from "../helpers/env.js";
import { firecrackerRelease } from "../helpers/firecracker-release.js";

interface DoctorBackend {
  name: string;
  usable: boolean;
  reason: string | null;
  fix: string | null;
  details: Record<string, unknown>;
}

// With the real firecracker and jailer on PATH, backend selection must still
// not pick Firecracker on a host whose KVM boots no standard guest (this
// machine's PVM KVM): the probe boot that keeps QEMU on TCG decides for both.
describe.skipIf(!existsSync("/dev/kvm"))("doctor with the real firecracker binary on PATH (needs /dev/kvm)", () => {
  const state = tempStateDir("pyro-fc-doctor-");
  beforeAll(async () => {
    if (!existsSync(CLI)) throw new Error(`build first (npm run build): missing ${CLI}`);
    await ensureKernel(TEST_CACHE_DIR);
  });
  afterAll(() => state.cleanup());

  it("selects firecracker only where the KVM probe boots a standard guest, else qemu and says why", async () => {
    const release = firecrackerRelease();
    const env = pyroEnv(state.dir, { PATH: `${release.dir}:${process.env.PATH ?? ""}` });
    delete env.PYRO_BACKEND;
    delete env.PYRO_FIRECRACKER_BIN;
    const run = await runCli(["doctor", "--json"], env, { timeoutMs: 60_000 });
    expect(run.code, run.stderr).toBe(0);
    const doctor = JSON.parse(run.stdout) as { selected_backend: string; selected_reason: string; backends: DoctorBackend[]; kvm: { standard_guests: boolean } };
    const fc = doctor.backends.find((b) => b.name === "firecracker") as DoctorBackend;
    const qemu = doctor.backends.find((b) => b.name === "qemu") as DoctorBackend;
    // The binary was found: the decision below is about KVM, not a missing file.
    expect(fc.details.binary).toBe(release.firecracker);
    // Both backends read one probe, so they agree.
    expect(fc.details.kvm_runs_standard_guest).toBe(qemu.details.kvm_runs_standard_guest);
    if (qemu.details.kvm_runs_standard_guest === false) {
      // This machine (DESIGN.md: a PVM /dev/kvm where standard kernels die).
      expect(fc.usable).toBe(false);
      expect(fc.reason).toMatch(/standard guest kernel does not boot under this host's KVM/);
      expect(fc.fix).toMatch(/nested virtualisation|bare metal/);
      expect(qemu.details.accel).toBe("tcg");
      expect(doctor.selected_backend).toBe("qemu");
      expect(doctor.selected_reason).toMatch(/firecracker cannot boot a guest here: a standard guest kernel does not boot/);
      expect(doctor.kvm.standard_guests).toBe(false);
    } else {
      expect(qemu.details.kvm_runs_standard_guest).toBe(true);
      expect(doctor.selected_backend).toBe(fc.usable ? "firecracker" : "qemu");
    }
  });
});

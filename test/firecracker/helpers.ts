import { spawnSync } from "node:child_process";
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync, mkdirSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import type { MachineHandle, MachineSpec } from "../../src/runtime/backend.js";
import { FirecrackerBackend } from "../../src/runtime/firecracker/backend.js";
import type { RecordedCall } from "./fixtures/fake-api-server.mjs";
import { INIT_ARGS, INIT_PROBE } from "../../src/environments/kernel/init-script.js";

/** Directory of the fixtures (fake firecracker, fake jailer, spec). */
export const FIXTURES = join(dirname(fileURLToPath(import.meta.url)), "fixtures");
export const FAKE_FIRECRACKER = join(FIXTURES, "fake-firecracker.mjs");
export const FAKE_JAILER = join(FIXTURES, "fake-jailer.mjs");
export const REPO_ROOT = resolve(dirname(fileURLToPath(import.meta.url)), "..", "..");
export const AGENT_BIN = join(REPO_ROOT, "agent", "dist", "pyro-agent");

/** A fresh temp dir; remove it with the returned function. */
export function tempDir(prefix = "pyro-fc-"): { dir: string; remove: () => void } {
  // Unix socket paths are limited to ~107 bytes: keep the base short.
  const dir = mkdtempSync(join(tmpdir(), prefix));
  return { dir, remove: () => rmSync(dir, { recursive: true, force: true }) };
}

/** A fake installed environment (tiny root image, dummy kernel files) plus a machine spec in `base`. */
export function fakeMachine(base: string, id = "vm1", overrides: Partial<MachineSpec> = {}): MachineSpec {
  const envDir = join(base, "env");
  mkdirSync(envDir, { recursive: true });
  writeFileSync(join(envDir, "rootfs.ext4"), Buffer.alloc(64 * 1024, 7), { mode: 0o644 });
  writeFileSync(join(envDir, "vmlinux"), "\x7fELF fake kernel", { mode: 0o644 });
  writeFileSync(join(envDir, "initramfs.img"), "fake initramfs", { mode: 0o644 });
  return {
    id,
    dir: join(base, "vms", id),
    environment: {
      name: "debian:12",
      dir: envDir,
      rootfsDir: join(envDir, "rootfs"),
      rootImage: join(envDir, "rootfs.ext4"),
      kernel: {
        release: "6.1.0-test",
        vmlinuz: join(envDir, "vmlinuz"),
        initramfs: join(envDir, "initramfs.img"),
        vmlinux: join(envDir, "vmlinux"),
      },
    },
    vcpuCount: 2,
    memMib: 512,
    network: "off",
    publishedPorts: [],
    hostname: "pyro-vm1",
    ...overrides,
  };
}

/**
 * Why the fake guest cannot boot on this host, or undefined when it can: it
 * needs busybox (the initramfs's shell) and bubblewrap with user namespaces.
 */
export const FAKE_GUEST_UNAVAILABLE: string | undefined = (() => {
  if (spawnSync("busybox", ["true"]).status !== 0) return "busybox is not installed";
  const probe = spawnSync("bwrap", ["--unshare-user", "--uid", "0", "--unshare-pid", "--as-pid-1", "--bind", "/", "/", "true"]);
  return probe.status === 0 ? undefined : "bwrap cannot create user and pid namespaces here";
})();

/**
 * Environment for the fake firecracker to boot its fake guest (fake-guest.mjs):
 * the real agent started from the backend's boot_args through the
 * initramfs's own argument lines, written to `dir`.
 */
export function fakeGuestEnv(dir: string): NodeJS.ProcessEnv {
  if (!existsSync(AGENT_BIN)) throw new Error(`the fake guest runs the real agent: build it first (npm run build), missing ${AGENT_BIN}`);
  const initLines = join(dir, "init-lines.sh");
  writeFileSync(initLines, `${INIT_PROBE}\n${INIT_ARGS}`);
  return { FAKE_FC_VSOCK_MODE: "guest", FAKE_FC_AGENT_BIN: AGENT_BIN, FAKE_FC_INIT_LINES: initLines };
}

/** The API calls the fake recorded in `file` (FAKE_FC_RECORD), in order; none when it wrote nothing. */
export function readCalls(file: string): RecordedCall[] {
  if (!existsSync(file)) return [];
  return readFileSync(file, "utf8")
    .split("\n")
    .filter((l) => l !== "")
    .map((l) => JSON.parse(l) as RecordedCall);
}

/** Kill every machine a test started (and empties the list): the fake may have spawned an agent, so its whole process group goes. */
export async function killStarted(handles: MachineHandle[]): Promise<void> {
  const backend = new FirecrackerBackend({ jailed: false });
  for (const handle of handles.splice(0)) {
    // It runs detached: its pid leads its group, which outlives the leader.
    try {
      process.kill(-handle.pid, "SIGKILL");
    } catch {
      // already gone
    }
    await backend.kill(handle);
  }
}

import { defineConfig } from "vitest/config";

export default defineConfig({
  test: {
    include: ["test/**/*.test.ts"],
    // Real VMs under software emulation are slow; each suite sets its own budget too.
    testTimeout: 120_000,
    hookTimeout: 600_000,
    // Suites share one environment cache and build it once (see test/global-setup.ts).
    globalSetup: ["test/global-setup.ts"],
    pool: "forks",
    // No paused VMs left behind by suites that do not test the pool (test/qemu/pool.test.ts turns it on).
    env: { PYRO_POOL_SIZE: "0" },
    fileParallelism: false,
    reporters: ["default"],
  },
});

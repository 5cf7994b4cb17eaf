import { chmodSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ensureEnvironment, type InstalledEnvironment } from "../../src/environments/index.js";
import { SandboxBackend } from "../../src/runtime/sandbox/backend.js";
import { expectPyroError } from "../helpers/errors.js";
import { SUITE_BACKENDS } from "../helpers/backends.js";
import { TEST_CACHE_DIR } from "../helpers/env.js";

const sandbox = SUITE_BACKENDS.find((b) => b.name === "sandbox")!;

describe.skipIf(!sandbox.available)(`sandbox start (needs ${sandbox.needs})`, () => {
  let environment: InstalledEnvironment;
  const root = mkdtempSync(join(tmpdir(), "pyro-sandbox-start-"));
  const savedAgent = process.env.PYRO_AGENT_BIN;

  beforeAll(async () => {
    environment = await ensureEnvironment("debian:12", { cacheDir: TEST_CACHE_DIR, kernel: false });
  }, 900_000);
  afterAll(() => {
    if (savedAgent === undefined) delete process.env.PYRO_AGENT_BIN;
    else process.env.PYRO_AGENT_BIN = savedAgent;
    rmSync(root, { recursive: true, force: true });
  });

  it("fails at once, with the agent's last words, when the agent dies before serving", async () => {
    // The sandbox binds this "agent" over the real one; it never writes READY.
    const fake = join(root, "dying-agent");
    writeFileSync(fake, "#!/bin/sh\necho 'agent exploded on purpose' >&2\nexit 3\n");
    chmodSync(fake, 0o755);
    process.env.PYRO_AGENT_BIN = fake;
    const backend = new SandboxBackend();
    const spec = { id: "vm-000000000001", dir: join(root, "m1"), environment, vcpuCount: 1, memMib: 256, network: "off" as const, publishedPorts: [], hostname: "m1" };
    const started = Date.now();
    const error = await expectPyroError(backend.start(spec, { bootTimeoutMs: 60_000 }), "guest_failure");
    // EOF on the ready pipe ends the wait, not the 60 s deadline.
    expect(Date.now() - started).toBeLessThan(15_000);
    expect(error.message).toMatch(/did not (start|come up)/);
    expect(error.message).toContain("agent exploded on purpose");
  });
});

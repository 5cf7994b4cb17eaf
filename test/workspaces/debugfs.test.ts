import { chmodSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { debugfs } from "../../src/core/workspaces/debugfs.js";
import { expectPyroError } from "../helpers/errors.js";

describe("debugfs runner", () => {
  const root = mkdtempSync(join(tmpdir(), "pyro-debugfs-"));
  const savedPath = process.env.PATH;
  afterAll(() => {
    process.env.PATH = savedPath;
    rmSync(root, { recursive: true, force: true });
  });

  it("reports a debugfs that quits without reading its requests as its own failure, not a crash on EPIPE", async () => {
    // Fault injection: a debugfs that dies at once, first on PATH. Megabytes of requests
    // are far more than a pipe holds, so writing them runs into the closed pipe.
    const bin = join(root, "bin");
    const fake = join(bin, "debugfs");
    rmSync(bin, { recursive: true, force: true });
    mkdirSync(bin);
    writeFileSync(fake, "#!/bin/sh\necho 'debugfs: cannot open the image (injected)' >&2\nexit 1\n");
    chmodSync(fake, 0o755);
    process.env.PATH = `${bin}:${savedPath}`;
    const requests = Array.from({ length: 100_000 }, (_, i) => `stat "/file-${i}"`);
    for (const batch of [requests, [requests[0]!]]) {
      const error = await expectPyroError(debugfs(join(root, "disk.img"), batch), "io_error");
      expect(error.message).toContain("cannot open the image (injected)");
    }
  });
});

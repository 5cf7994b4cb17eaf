import { spawnSync } from "node:child_process";
import { createHash } from "node:crypto";
import { existsSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { INIT_ARGS, INIT_PROBE, INIT_SCRIPT } from "../../src/environments/kernel/init-script.js";
import { KERNEL_FORMAT } from "../../src/environments/kernel/index.js";
import { bootVectors } from "./vectors.js";

const BUSYBOX = ["/usr/bin/busybox", "/bin/busybox"].find((p) => existsSync(p));

/**
 * Run the initramfs's own argument lines under busybox sh (the shell the
 * initramfs has) on `cmdline`, with `poweroff` stubbed, and read back what
 * /init would act on.
 */
function initramfsView(cmdline: string): Record<string, string> {
  const script = [
    "poweroff() { echo probe=true; exit 0; }",
    `cmdline=${shq(cmdline)}`,
    INIT_PROBE,
    INIT_ARGS,
    'echo probe=false; echo "init=$init"; echo "init_args=$init_args"; echo "root_mode=$root_mode"; echo "net=$net"; echo "skip_modules=$skip_modules"',
  ].join("\n");
  const run = spawnSync(BUSYBOX as string, ["sh", "-c", script], { encoding: "utf8" });
  expect(run.status, run.stderr).toBe(0);
  return Object.fromEntries(
    run.stdout
      .split("\n")
      .filter((l) => l.includes("=") && !l.startsWith("pyro-probe-ok"))
      .map((l) => [l.slice(0, l.indexOf("=")), l.slice(l.indexOf("=") + 1)]),
  );
}

function shq(s: string): string {
  return `'${s.replace(/'/g, `'\\''`)}'`;
}

describe.skipIf(!BUSYBOX)("the initramfs reads the boot vectors as pinned (needs busybox on the host)", () => {
  it.each(bootVectors().cases.map((c) => [c.name, c] as const))("%s", (_name, c) => {
    const view = initramfsView(c.cmdline);
    const expected = Object.fromEntries(Object.entries(c.initramfs).map(([k, v]) => [k, String(v)]));
    expect(view).toEqual(expected.probe === "true" ? { probe: "true" } : expected);
  });

  it("the argument lines under test are the ones /init runs", () => {
    expect(INIT_SCRIPT).toContain(INIT_PROBE);
    expect(INIT_SCRIPT).toContain(INIT_ARGS);
  });
});

describe("initramfs format", () => {
  it("/init is unchanged for KERNEL_FORMAT 6 (change the script: bump KERNEL_FORMAT and this hash, so installed kernels rebuild)", () => {
    expect(KERNEL_FORMAT).toBe(6);
    expect(createHash("sha256").update(INIT_SCRIPT).digest("hex")).toBe("c91a874c86becac7ca420135a2d0a5f527c3f3c28bb8fcaadcc610b71f682b68");
  });
});

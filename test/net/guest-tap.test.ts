import { spawnSync } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { GUEST_TAP_NET, guestTapRuleset, guestTapStage } from "../../src/net/guest-tap.js";
import { egressRuleset } from "../../src/net/ruleset.js";

const has = (tool: string): boolean => spawnSync("sh", ["-c", `command -v ${tool}`]).status === 0;
const CAN = process.getuid?.() === 0 && has("nft") && has("ip") && has("unshare");

// The routed guest's rules (a Firecracker TAP): the namespace's egress filter,
// the same rules on the forward hook, the namespace closed to the guest, NAT
// to the stack. Checked by nft itself and run in a namespace made here.
describe("guest TAP ruleset and stage", () => {
  const dir = mkdtempSync(join(tmpdir(), "pyro-gtap-"));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it("derives the forward filter from the egress filter, allow-lists included", () => {
    const text = guestTapRuleset("fc0", { allowCidrs: ["10.9.0.0/16"], hostAddresses: [] });
    const egressBody = egressRuleset({ allowCidrs: ["10.9.0.0/16"], hostAddresses: [] }).split("\n").filter((l) => l.startsWith("    ") && !l.includes("hook"));
    const forward = text.slice(text.indexOf("table inet pyro_guest_forward"), text.indexOf("table inet pyro_guest_input"));
    expect(forward).toContain("type filter hook forward priority 0;");
    for (const line of egressBody) expect(forward).toContain(line);
    expect(forward).toContain("ip daddr { 10.9.0.0/16 } accept");
    expect(text).toContain('oifname "tap0" ip saddr 10.0.3.2 masquerade');
    expect(GUEST_TAP_NET).toEqual({ address: "10.0.3.2/24", gateway: "10.0.3.1", dns: "10.0.2.3" });
  });

  it.skipIf(!CAN)("nft accepts it, and the stage makes the TAP (owned by the VMM's uid), its address and forwarding inside the namespace only (needs root, nft, ip, unshare)", () => {
    const rules = join(dir, "guest.nft");
    writeFileSync(rules, guestTapRuleset("pyrogt0", { hostAddresses: [] }));
    const run = spawnSync(
      "unshare",
      ["--net", ...guestTapStage("pyrogt0", rules, { uid: 65534, gid: 65534 }), "sh", "-c", "ip -d addr show dev pyrogt0; cat /proc/sys/net/ipv4/ip_forward; nft list tables"],
      { encoding: "utf8" },
    );
    expect(run.status, run.stderr).toBe(0);
    expect(run.stdout).toMatch(/tun type tap .*user (65534|nobody) group (65534|nogroup)/);
    expect(run.stdout).toContain("inet 10.0.3.1/24");
    expect(run.stdout).toMatch(/^1$/m);
    for (const table of ["table inet pyro_guest_forward", "table inet pyro_guest_input", "table ip pyro_guest_nat"]) expect(run.stdout).toContain(table);
    // Nothing of it in this namespace.
    expect(spawnSync("ip", ["link", "show", "dev", "pyrogt0"]).status).not.toBe(0);
  });

  it.skipIf(!CAN)("with published ports, new TCP from the stack goes to the guest and only that passes in; without, nothing is DNATed (needs root, nft, unshare)", () => {
    expect(guestTapRuleset("fc0", { hostAddresses: [] })).not.toContain("dnat");
    const text = guestTapRuleset("fc0", { hostAddresses: [] }, { publish: true });
    expect(text).toContain('iifname "tap0" meta l4proto tcp dnat to 10.0.3.2');
    expect(text).toContain('iifname "tap0" oifname "fc0" ct status dnat accept');
    // Before the blocks, or the guest's own 10/8 address would refuse it.
    expect(text.indexOf("ct status dnat accept")).toBeLessThan(text.indexOf("reject with tcp reset"));
    const file = join(dir, "publish.nft");
    writeFileSync(file, text);
    const check = spawnSync("unshare", ["--net", "nft", "-c", "-f", file], { encoding: "utf8" });
    expect(check.status, check.stderr).toBe(0);
  });

  it.skipIf(!CAN)("a stage that cannot load its rules stops before the VMM, saying why", () => {
    const bad = join(dir, "bad.nft");
    writeFileSync(bad, "table inet broken {\n");
    const run = spawnSync("unshare", ["--net", ...guestTapStage("pyrogt1", bad), "echo", "vmm ran"], { encoding: "utf8" });
    expect(run.status).toBe(125);
    expect(run.stdout).not.toContain("vmm ran");
    expect(run.stderr).toContain("cannot load the guest rules");
  });
});

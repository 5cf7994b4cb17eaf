import { spawnSync } from "node:child_process";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { createConnection, createServer, type Server } from "node:net";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { Pyro } from "../../src/index.js";
import { slirpForward } from "../../src/net/index.js";
import type { MachineHandle, MachineSpec } from "../../src/runtime/backend.js";
import { QemuBackend } from "../../src/runtime/qemu/backend.js";
import { ensureEnvironment } from "../../src/environments/index.js";
import { SUITE_BACKENDS } from "../helpers/backends.js";
import { runCli } from "../helpers/cli.js";
import { expectPyroError } from "../helpers/errors.js";
import { TEST_CACHE_DIR, pyroEnv, tempStateDir } from "../helpers/env.js";

const sandbox = SUITE_BACKENDS.find((b) => b.name === "sandbox")!;
/** The sandbox backend plus the network tools (docs/networking.md). */
const NETWORK_TOOLS = sandbox.available && spawnSync("sh", ["-c", "command -v slirp4netns && command -v nft && command -v ip"]).status === 0;

/** A guest HTTP server on every interface (debian:12 has perl-base, not python). */
function httpServer(port: number): string {
  const script = `$s=IO::Socket::INET->new(LocalAddr=>"0.0.0.0:${port}",Listen=>5,ReuseAddr=>1) or die "listen: $!"; $|=1; while($c=$s->accept){ while(<$c>){ last if /^\\r?$/ } print $c "HTTP/1.0 200 OK\\r\\nContent-Length: 6\\r\\n\\r\\npyro!\\n"; close $c }`;
  return `exec perl -MIO::Socket::INET -e '${script}'`;
}

/** GET / on the host's 127.0.0.1:port; resolves with the whole answer. */
function hostGet(port: number): Promise<string> {
  return new Promise((resolve, reject) => {
    const socket = createConnection({ host: "127.0.0.1", port });
    let answer = "";
    socket.setEncoding("utf8");
    socket.on("connect", () => socket.write("GET / HTTP/1.0\r\n\r\n"));
    socket.on("data", (chunk: string) => (answer += chunk));
    socket.on("end", () => resolve(answer));
    socket.on("error", reject);
    socket.setTimeout(10_000, () => socket.destroy(new Error("timeout")));
  });
}

/** Hold a port on the host's 127.0.0.1, as some other program would. */
function occupy(): Promise<{ server: Server; port: number }> {
  return new Promise((resolve) => {
    const server = createServer((s) => s.end("someone-else\n"));
    server.listen(0, "127.0.0.1", () => resolve({ server, port: (server.address() as { port: number }).port }));
  });
}

// Issue 13: `service start --publish [HOST:]GUEST`, HOST picked by pyro when
// omitted, and bad input refused with the fix. Traffic goes to the host's
// 127.0.0.1 only.
describe("published ports on the sandbox", () => {
  const state = tempStateDir();
  const env = pyroEnv(state.dir);
  let pyro: Pyro;
  let ws = "";
  let egressOnly = "";
  const guestPort = 18000 + Math.floor(Math.random() * 1000);
  const held: Server[] = [];

  beforeAll(async () => {
    if (!NETWORK_TOOLS) return;
    await ensureEnvironment("debian:12", { cacheDir: TEST_CACHE_DIR, kernel: false });
    pyro = new Pyro({ stateDir: state.dir, cacheDir: TEST_CACHE_DIR });
    const base = { environment: "debian:12", backend: "sandbox" as const, allow_host_compat: true };
    ws = (await pyro.createWorkspace({ ...base, network_policy: "egress+published-ports" })).workspace_id;
    egressOnly = (await pyro.createWorkspace({ ...base, network_policy: "egress" })).workspace_id;
  }, 900_000);
  afterAll(async () => {
    for (const server of held) server.close();
    for (const id of [ws, egressOnly]) if (id) await pyro.deleteWorkspace({ workspace_id: id }).catch(() => undefined);
    state.cleanup();
  });

  it.skipIf(!NETWORK_TOOLS)("--publish GUEST picks a free host port on 127.0.0.1, reports it, and status lists it (needs bwrap, root, slirp4netns, nft, ip)", async () => {
    const run = await runCli(
      ["workspace", "service", "start", ws, "web", "--json", "--ready-http", `http://127.0.0.1:${guestPort}/`, "--publish", String(guestPort), "--", httpServer(guestPort)],
      env,
    );
    expect(run.code, run.stderr).toBe(0);
    const started = JSON.parse(run.stdout) as { state: string; published_ports: Array<{ host_port: number; guest_port: number }> };
    expect(started.state).toBe("ready");
    expect(started.published_ports).toHaveLength(1);
    const [port] = started.published_ports;
    expect(port!.guest_port).toBe(guestPort);
    expect(port!.host_port).toBeGreaterThanOrEqual(1025);
    expect(port!.host_port).toBeLessThanOrEqual(65535);
    expect(await hostGet(port!.host_port)).toContain("pyro!");
    // The workspace and the service both say what is published.
    expect((await pyro.statusWorkspace({ workspace_id: ws })).published_ports).toEqual([port]);
    expect((await pyro.statusService({ workspace_id: ws, service_name: "web" })).published_ports).toEqual([port]);
    // The human form says it too.
    const human = await runCli(["workspace", "status", ws], env);
    expect(human.stdout).toContain(`"host_port":${port!.host_port}`);

    // The same guest port asked again (by another service) reuses its host port rather than taking a second.
    await pyro.stopService({ workspace_id: ws, service_name: "web" });
    const again = await pyro.startService({ workspace_id: ws, service_name: "web2", command: httpServer(guestPort), readiness: { kind: "tcp", address: `127.0.0.1:${guestPort}` }, published_ports: [{ guest_port: guestPort }] });
    expect(again.published_ports).toEqual([port]);
    expect(await hostGet(port!.host_port)).toContain("pyro!");
    await pyro.stopService({ workspace_id: ws, service_name: "web2" });
  });

  it.skipIf(!NETWORK_TOOLS)("a restarted workspace forwards its published ports again", async () => {
    const { published_ports: before } = await pyro.statusWorkspace({ workspace_id: ws });
    expect(before).toHaveLength(1);
    await pyro.stopWorkspace({ workspace_id: ws });
    const started = await pyro.startWorkspace({ workspace_id: ws });
    expect(started.published_ports).toEqual(before);
    await pyro.startService({ workspace_id: ws, service_name: "web3", command: httpServer(guestPort), readiness: { kind: "tcp", address: `127.0.0.1:${guestPort}` } });
    expect(await hostGet(before[0]!.host_port)).toContain("pyro!");
    await pyro.stopService({ workspace_id: ws, service_name: "web3" });
  });

  it.skipIf(!NETWORK_TOOLS)("a start whose published port another program took meanwhile says so, and starts once it is free", async () => {
    const [published] = (await pyro.statusWorkspace({ workspace_id: ws })).published_ports;
    await pyro.stopWorkspace({ workspace_id: ws });
    const server = createServer();
    await new Promise<void>((resolve) => server.listen(published!.host_port, "127.0.0.1", resolve));
    const error = await expectPyroError(pyro.startWorkspace({ workspace_id: ws }), "already_exists");
    expect(error.message).toBe(`port ${published!.host_port}, which this workspace publishes, is now in use on 127.0.0.1 by another program`);
    expect(error.hint).toContain("stop that program and start the workspace again");
    await new Promise((r) => server.close(r));
    expect((await pyro.startWorkspace({ workspace_id: ws })).state).toBe("running");
    await pyro.startService({ workspace_id: ws, service_name: "web4", command: httpServer(guestPort), readiness: { kind: "tcp", address: `127.0.0.1:${guestPort}` } });
    expect(await hostGet(published!.host_port)).toContain("pyro!");
    await pyro.stopService({ workspace_id: ws, service_name: "web4" });
  });

  it.skipIf(!NETWORK_TOOLS)("a host port something else listens on is refused before the service starts, naming the fix", async () => {
    const { server, port } = await occupy();
    held.push(server);
    const error = await expectPyroError(
      pyro.startService({ workspace_id: ws, service_name: "clash", command: "exec sleep 600", published_ports: [{ host_port: port, guest_port: guestPort + 1 }] }),
      "already_exists",
    );
    expect(error.message).toBe(`port ${port} is in use on 127.0.0.1; pick another or omit HOST to let pyro pick`);
    // Nothing was started, and the other program still has its port.
    expect((await pyro.listServices({ workspace_id: ws })).services.map((s) => s.service_name)).not.toContain("clash");
    const cli = await runCli(["workspace", "service", "start", ws, "clash", "--publish", `${port}:${guestPort + 1}`, "--", "sleep 600"], env);
    expect(cli.code).toBe(3);
    expect(cli.stderr).toContain(`port ${port} is in use on 127.0.0.1; pick another or omit HOST to let pyro pick`);
  });

  it.skipIf(!NETWORK_TOOLS)("a port taken after the check fails the stack's own bind, and is reported as in use", async () => {
    // Taken after the check: the stack's own bind fails and slirp4netns says only "failed".
    const { server, port } = await occupy();
    held.push(server);
    const socket = `${state.dir}/workspaces/${ws}/machine/slirp.sock`;
    const error = await slirpForward(socket, port, guestPort).then(
      () => undefined,
      (e: unknown) => e as { code: string; message: string },
    );
    expect(error?.code).toBe("already_exists");
    expect(error?.message).toContain(`port ${port} is in use on 127.0.0.1`);
  });

  it.skipIf(!NETWORK_TOOLS)("refuses privileged host ports, out-of-range guest ports and malformed --publish, with the fix", async () => {
    const low = await expectPyroError(pyro.startService({ workspace_id: ws, service_name: "low", command: "true", published_ports: [{ host_port: 80, guest_port: 8080 }] }), "invalid_argument");
    expect(low.message).toContain("host ports below 1025 are privileged; pick one in 1025-65535 or omit host_port to let pyro pick");
    const guest = await expectPyroError(pyro.startService({ workspace_id: ws, service_name: "big", command: "true", published_ports: [{ guest_port: 70000 }] }), "invalid_argument");
    expect(guest.message).toContain("guest_port is a TCP port: 1-65535");
    for (const [flag, says] of [
      ["1024:8080", "host ports below 1025 are privileged"],
      ["0", "guest_port is a TCP port: 1-65535"],
      ["8080:65536", "guest_port is a TCP port: 1-65535"],
      ["web:80", "--publish must look like HOST_PORT:GUEST_PORT or GUEST_PORT"],
    ] as const) {
      const run = await runCli(["workspace", "service", "start", ws, "bad", "--publish", flag, "--", "true"], env);
      expect(run.code, flag).toBe(2);
      expect(run.stderr, flag).toContain(says);
    }
  });

  it.skipIf(!NETWORK_TOOLS)("publishing on a workspace without egress+published-ports names the policy to create it with", async () => {
    const error = await expectPyroError(pyro.startService({ workspace_id: egressOnly, service_name: "web", command: "true", published_ports: [{ guest_port: 8080 }] }), "failed_precondition");
    expect(error.message).toContain("network policy egress");
    expect(error.message).toContain("--network-policy egress+published-ports");
    expect((await pyro.listServices({ workspace_id: egressOnly })).services).toEqual([]);
  });

  it.skipIf(!NETWORK_TOOLS)("an unknown network policy lists the ones there are", async () => {
    const cli = await runCli(["workspace", "create", "debian:12", "--backend", "sandbox", "--allow-host-compat", "--network-policy", "public"], env);
    expect(cli.code).toBe(2);
    expect(cli.stderr).toContain("off, egress, egress+published-ports");
    const sdk = await expectPyroError(pyro.createWorkspace({ environment: "debian:12", network_policy: "public" as never }), "invalid_argument");
    expect(sdk.message).toMatch(/network_policy:.*"off"\|"egress"\|"egress\+published-ports"/);
  });
});

/** The IPv4 addresses a guest holds, from the kernel's routing trie (no `ip` in debian:12). */
const GUEST_ADDRESSES = "awk '/32 host LOCAL/ { print prev } { prev = $2 }' /proc/net/fib_trie | sort -u";

// Issue 13: vm_network_info shows the effective policy and the address the guest really has.
describe("vm_network_info on the sandbox", () => {
  const state = tempStateDir();
  let pyro: Pyro;
  beforeAll(async () => {
    if (!NETWORK_TOOLS) return;
    await ensureEnvironment("debian:12", { cacheDir: TEST_CACHE_DIR, kernel: false });
    pyro = new Pyro({ stateDir: state.dir, cacheDir: TEST_CACHE_DIR });
  }, 900_000);
  afterAll(() => state.cleanup());

  it.skipIf(!NETWORK_TOOLS)("reports the policy, and the guest's own address while it runs", async () => {
    for (const network of [true, false]) {
      const vm = await pyro.createVm({ environment: "debian:12", backend: "sandbox", allow_host_compat: true, network });
      await pyro.startVm({ vm_id: vm.vm_id });
      const info = await pyro.networkInfoVm({ vm_id: vm.vm_id });
      const held = (await pyro.execVm({ vm_id: vm.vm_id, command: GUEST_ADDRESSES })).stdout.trim().split("\n").filter((a) => !a.startsWith("127."));
      expect(info).toMatchObject({ vm_id: vm.vm_id, network_enabled: network, policy: network ? "egress" : "off", backend: "sandbox", published_ports: [] });
      if (network) expect(held).toContain(info.guest_ip);
      else expect([info.guest_ip, held]).toEqual([null, []]);
    }
  });
});

const qemu = SUITE_BACKENDS.find((b) => b.name === "qemu")!;

// A host port taken between pyro's check and the stack's bind: on QEMU the
// inner `hostfwd` was already added; it must go again, or the same port could
// never be published once it is free.
describe("a failed QEMU forward leaves no inner rule", () => {
  const state = tempStateDir();
  let pyro: Pyro;
  let ws = "";
  beforeAll(async () => {
    if (!(qemu.available && NETWORK_TOOLS)) return;
    await ensureEnvironment("debian:12", { cacheDir: TEST_CACHE_DIR, kernel: true });
    pyro = new Pyro({ stateDir: state.dir, cacheDir: TEST_CACHE_DIR });
    ws = (await pyro.createWorkspace({ environment: "debian:12", backend: "qemu", network_policy: "egress+published-ports" })).workspace_id;
  }, 900_000);
  afterAll(async () => {
    if (ws) await pyro.deleteWorkspace({ workspace_id: ws }).catch(() => undefined);
    state.cleanup();
  });

  it.skipIf(!(qemu.available && NETWORK_TOOLS))(`reports the port in use, and the same port publishes once it is free (needs ${qemu.needs}, slirp4netns, nft, ip)`, async () => {
    const record = JSON.parse(readFileSync(join(state.dir, "workspaces", ws, "record.json"), "utf8")) as { handle: MachineHandle };
    const spec = { id: ws, dir: join(state.dir, "workspaces", ws, "machine"), network: "egress+published-ports" } as MachineSpec;
    const backend = new QemuBackend();
    const { server, port } = await occupy();
    const guestPort = 18500;
    // The core's check would refuse this port; the backend is what meets the race.
    const error = await backend.publishPorts(spec, record.handle, [{ host_port: port, guest_port: guestPort }]).then(
      () => undefined,
      (e: unknown) => e as { code: string; message: string },
    );
    expect(error?.code).toBe("already_exists");
    expect(error?.message).toContain(`port ${port} is in use on 127.0.0.1`);
    await new Promise((r) => server.close(r));
    await backend.publishPorts(spec, record.handle, [{ host_port: port, guest_port: guestPort }]);
    await pyro.startService({ workspace_id: ws, service_name: "web", command: httpServer(guestPort), readiness: { kind: "tcp", address: `127.0.0.1:${guestPort}` } });
    expect(await hostGet(port)).toContain("pyro!");
  });
});

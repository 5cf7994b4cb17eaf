import { createConnection } from "node:net";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { Pyro } from "../../src/index.js";
import { ensureEnvironment } from "../../src/environments/index.js";
import { SUITE_BACKENDS } from "../helpers/backends.js";
import { expectPyroError } from "../helpers/errors.js";
import { runCli } from "../helpers/cli.js";
import { TEST_CACHE_DIR, pyroEnv, tempStateDir } from "../helpers/env.js";

/**
 * A one-file HTTP server: debian:12 has no python or busybox, but perl-base has
 * IO::Socket::INET. It listens on every interface: a published port reaches
 * the guest's own address, not its loopback.
 */
function httpServer(port: number): string {
  const script = `$s=IO::Socket::INET->new(LocalAddr=>"0.0.0.0:${port}",Listen=>5,ReuseAddr=>1) or die "listen: $!"; print "listening\\n"; $|=1; while($c=$s->accept){ while(<$c>){ last if /^\\r?$/ } print $c "HTTP/1.0 200 OK\\r\\nContent-Length: 6\\r\\n\\r\\npyro!\\n"; close $c }`;
  return `exec perl -MIO::Socket::INET -e '${script}'`;
}

/** GET http://127.0.0.1:port/ on the host with a raw socket; resolves with the whole answer. */
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

describe.each(SUITE_BACKENDS)("workspace services on $name", ({ name: backend, available, needs }) => {
  const state = tempStateDir();
  const env = pyroEnv(state.dir);
  let pyro: Pyro;
  let ws: string;
  // Both backends publish ports (host 127.0.0.1 -> slirp4netns -> the machine's namespace: docs/networking.md).
  const policy = "egress+published-ports";
  const guestPort = 18000 + Math.floor(Math.random() * 1000);
  const hostPort = 28000 + Math.floor(Math.random() * 1000);

  beforeAll(async () => {
    if (!available) return;
    await ensureEnvironment("debian:12", { cacheDir: TEST_CACHE_DIR, kernel: backend !== "sandbox" });
    pyro = new Pyro({ stateDir: state.dir, cacheDir: TEST_CACHE_DIR });
    ws = (await pyro.createWorkspace({ environment: "debian:12", backend, allow_host_compat: true, network_policy: policy })).workspace_id;
  }, 900_000);
  afterAll(async () => {
    if (ws) await pyro.deleteWorkspace({ workspace_id: ws }).catch(() => undefined);
    state.cleanup();
  });

  it.skipIf(!available)(`starts a service that becomes ready on a file, reads its logs, refuses a duplicate, stops it (needs ${needs})`, async () => {
    const started = await pyro.startService({
      workspace_id: ws,
      service_name: "worker",
      command: "echo worker-up; echo worker-warn >&2; touch .worker-ready; exec sleep 600",
      readiness: { kind: "file", path: ".worker-ready" },
    });
    expect(started).toMatchObject({ service_name: "worker", state: "ready", exit_code: null, readiness: { kind: "file", ready: true } });
    expect(started.pid).toBeGreaterThan(0);
    expect(started.started_at).toMatch(/^\d{4}-/);

    const duplicate = await expectPyroError(pyro.startService({ workspace_id: ws, service_name: "worker", command: "sleep 1" }), "already_exists");
    expect(duplicate.message).toContain("worker");

    const logs = await pyro.logsService({ workspace_id: ws, service_name: "worker" });
    expect(logs.stdout).toBe("worker-up\n");
    expect(logs.stderr).toBe("worker-warn\n");

    // Metadata and logs live in the guest outside /workspace.
    const where = await pyro.execWorkspace({ workspace_id: ws, command: "ls /run/pyro-services/worker; ls -A /workspace" });
    expect(where.stdout).toContain("stdout.log");
    expect(where.stdout).not.toContain("pyro-services");

    const listed = await runCli(["workspace", "service", "list", ws], env);
    expect(listed.code).toBe(0);
    expect(listed.stdout).toMatch(/^worker ready pid=\d+ exit=-$/m);

    const stopped = await pyro.stopService({ workspace_id: ws, service_name: "worker" });
    expect(stopped.state).toBe("stopped");
    expect(stopped.ended_at).toMatch(/^\d{4}-/);
    expect((await pyro.statusService({ workspace_id: ws, service_name: "worker" })).state).toBe("stopped");
    const gone = await pyro.execWorkspace({ workspace_id: ws, command: "ls -l /proc/*/exe 2>/dev/null | grep -c /sleep || echo none" });
    expect(gone.stdout).toContain("none");
  });

  it.skipIf(!available)("starts a service from the CLI with command readiness", async () => {
    const run = await runCli(
      ["workspace", "service", "start", ws, "cmd-ready", "--ready-command", "test -e /tmp/cmd-up", "--ready-interval-ms", "100", "--json", "--", "sh -c 'sleep 1; touch /tmp/cmd-up; exec sleep 600'"],
      env,
    );
    expect(run.code, run.stderr).toBe(0);
    expect(JSON.parse(run.stdout)).toMatchObject({ service_name: "cmd-ready", state: "ready", readiness: { kind: "command", ready: true } });
    await pyro.stopService({ workspace_id: ws, service_name: "cmd-ready" });
  });

  it.skipIf(!available)("judges http readiness in the guest, and publishes the port on 127.0.0.1 only", async () => {
    const publish = [{ host_port: hostPort, guest_port: guestPort }];
    const started = await pyro.startService({
      workspace_id: ws,
      service_name: "web",
      command: httpServer(guestPort),
      readiness: { kind: "http", url: `http://127.0.0.1:${guestPort}/` },
      published_ports: publish,
    });
    expect(started).toMatchObject({ state: "ready", readiness: { kind: "http", ready: true }, published_ports: publish });
    expect(await hostGet(hostPort)).toContain("pyro!");
    expect((await pyro.statusWorkspace({ workspace_id: ws })).network_policy).toBe("egress+published-ports");
    // That it is on 127.0.0.1 only (not on the host's other addresses) is proven in the lab: test/net/egress.test.ts.
    const stopped = await pyro.stopService({ workspace_id: ws, service_name: "web" });
    expect(stopped.state).toBe("stopped");
  });

  it.skipIf(!available)("picks a free host port when --publish names only the guest port, and reports it", async () => {
    const run = await runCli(["workspace", "service", "start", ws, "auto", "--json", "--ready-tcp", `127.0.0.1:${guestPort + 1}`, "--publish", String(guestPort + 1), "--", httpServer(guestPort + 1)], env);
    expect(run.code, run.stderr).toBe(0);
    const [port] = (JSON.parse(run.stdout) as { published_ports: Array<{ host_port: number; guest_port: number }> }).published_ports;
    expect(port?.guest_port).toBe(guestPort + 1);
    expect(port!.host_port).toBeGreaterThanOrEqual(1025);
    expect(await hostGet(port!.host_port)).toContain("pyro!");
    expect((await pyro.statusWorkspace({ workspace_id: ws })).published_ports).toContainEqual(port);
    await pyro.stopService({ workspace_id: ws, service_name: "auto" });
  });

  it.skipIf(!available)("reports a service that fails readiness, with its logs", async () => {
    const failed = await pyro.startService({
      workspace_id: ws,
      service_name: "broken",
      command: "echo loading config; echo 'fatal: bad config' >&2; exit 3",
      readiness: { kind: "file", path: ".never" },
      ready_timeout_seconds: 20,
    });
    expect(failed).toMatchObject({ state: "failed", exit_code: 3, readiness: { ready: false } });
    expect(failed.readiness?.detail).toContain("fatal: bad config");
    const slow = await pyro.startService({ workspace_id: ws, service_name: "slow", command: "exec sleep 600", readiness: { kind: "file", path: ".never" }, ready_timeout_seconds: 1 });
    expect(slow.state).toBe("failed");
    expect(slow.readiness?.ready).toBe(false);
    // A failed start is stopped: its name can be used again.
    const again = await pyro.startService({ workspace_id: ws, service_name: "slow", command: "exec sleep 600" });
    expect(again.state).toBe("running");
    await pyro.stopService({ workspace_id: ws, service_name: "slow" });
    const cli = await runCli(["workspace", "service", "start", ws, "broken", "--ready-file", ".never", "--", "exit 4"], env);
    expect(cli.code).not.toBe(0);
  });

  it.skipIf(!available)("answers not_found for unknown services and workspaces", async () => {
    await expectPyroError(pyro.statusService({ workspace_id: ws, service_name: "nope" }), "not_found");
    await expectPyroError(pyro.logsService({ workspace_id: ws, service_name: "nope" }), "not_found");
    await expectPyroError(pyro.stopService({ workspace_id: ws, service_name: "nope" }), "not_found");
    await expectPyroError(pyro.listServices({ workspace_id: "ws-000000000000" }), "not_found");
    const names = (await pyro.listServices({ workspace_id: ws })).services.map((s) => s.service_name);
    expect(names).toEqual(["auto", "broken", "cmd-ready", "slow", "web", "worker"]);
  });
});

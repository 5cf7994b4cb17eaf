import { spawn } from "node:child_process";
import { closeSync, openSync } from "node:fs";
import { createConnection, type Socket } from "node:net";
import { PyroError } from "../util/errors.js";
import { processStartTime } from "../util/process.js";
import { hostPortFree, portInUse } from "./host-ports.js";

/** A running user-mode stack. */
export interface SlirpProcess {
  pid: number;
  startTime: string | undefined;
}

/** Options of {@link startSlirp}. */
export interface StartSlirpOptions {
  /** A process inside the machine's network namespace. */
  targetPid: number;
  /** The launcher's signal socket: read for `netns`, then the stack's exit fd. */
  signal: Socket;
  /** Where its API socket lives (inside the machine directory, so teardown finds the process). */
  apiSocket: string;
  /** Its log file. */
  log: string;
  timeoutMs: number;
}

/**
 * Wait until the launcher says the machine's network namespace exists, then
 * attach slirp4netns to it: a TAP device with 10.0.2.100, DNS at 10.0.2.3,
 * egress through sockets of the host's namespace, and never the host's
 * loopback (`--disable-host-loopback`). It exits when the machine's last
 * process closes the signal socket.
 */
export async function startSlirp(options: StartSlirpOptions): Promise<SlirpProcess> {
  await readSignal(options.signal, options.timeoutMs);
  const asRoot = process.getuid?.() === 0;
  const log = openSync(options.log, "a", 0o600);
  try {
    const child = spawn(
      "slirp4netns",
      [
        "--configure",
        "--mtu=65520",
        "--disable-host-loopback",
        "--exit-fd=3",
        `--api-socket=${options.apiSocket}`,
        ...(asRoot ? [] : [`--userns-path=/proc/${options.targetPid}/ns/user`]),
        String(options.targetPid),
        "tap0",
      ],
      { detached: true, stdio: ["ignore", log, log, options.signal] },
    );
    const pid = await new Promise<number>((resolve, reject) => {
      child.once("error", (error) =>
        reject(new PyroError("unavailable", `cannot start slirp4netns: ${error.message}`, { hint: "apt-get install slirp4netns nftables iproute2" })),
      );
      child.once("spawn", () => resolve(child.pid!));
    });
    child.unref();
    return { pid, startTime: processStartTime(pid) };
  } finally {
    closeSync(log);
    // The stack holds its own copy now; the launcher holds the other end.
    options.signal.destroy();
  }
}

function readSignal(stream: Socket, timeoutMs: number): Promise<void> {
  return new Promise((resolve, reject) => {
    let text = "";
    const done = (error?: Error): void => {
      clearTimeout(timer);
      stream.removeListener("data", onData);
      stream.removeListener("end", onEnd);
      stream.pause();
      if (error) reject(error);
      else resolve();
    };
    const onData = (chunk: Buffer): void => {
      text += chunk.toString("utf8");
      if (text.includes("\n")) done();
    };
    const onEnd = (): void => done(new PyroError("guest_failure", "the machine's launcher exited before its network namespace was ready"));
    const timer = setTimeout(() => done(new PyroError("guest_failure", "timed out waiting for the machine's network namespace")), timeoutMs);
    stream.on("data", onData);
    stream.once("end", onEnd);
  });
}

/**
 * Forward `127.0.0.1:hostPort` on the host to `guestPort` on the namespace's
 * TAP address, through the stack's API socket.
 */
export async function slirpForward(apiSocket: string, hostPort: number, guestPort: number): Promise<void> {
  const request = { execute: "add_hostfwd", arguments: { proto: "tcp", host_addr: "127.0.0.1", host_port: hostPort, guest_port: guestPort } };
  const answer = await new Promise<string>((resolve, reject) => {
    const socket = createConnection({ path: apiSocket });
    let text = "";
    socket.setEncoding("utf8");
    socket.once("connect", () => socket.end(JSON.stringify(request)));
    socket.on("data", (chunk: string) => (text += chunk.slice(0, 4096)));
    socket.once("end", () => resolve(text));
    socket.once("error", reject);
  });
  let parsed: { error?: { desc?: string } } = {};
  try {
    parsed = JSON.parse(answer) as typeof parsed;
  } catch {
    // An answer that is not JSON is reported below.
  }
  if (parsed.error || !answer.includes("return")) {
    // slirp4netns gives no errno ("slirp_add_hostfwd failed"): ask the host whether the port is taken.
    if (!(await hostPortFree(hostPort).catch(() => true))) throw portInUse(hostPort);
    throw new PyroError("unavailable", `cannot publish host port ${hostPort}: ${parsed.error?.desc ?? (answer || "no answer from slirp4netns")}`, {
      hint: "check the machine's slirp.log; pick another host port or omit it to let pyro pick",
    });
  }
}

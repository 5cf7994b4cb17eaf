import { readFileSync, rmSync } from "node:fs";
import { join } from "node:path";
import { tmpdir } from "node:os";
import { afterAll, beforeAll, describe, expect, expectTypeOf, it } from "vitest";
import { Pyro } from "../../src/index.js";
import { ensureEnvironment } from "../../src/environments/index.js";
import { SUITE_BACKENDS } from "../helpers/backends.js";
import { runCli } from "../helpers/cli.js";
import { expectPyroError } from "../helpers/errors.js";
import { TEST_CACHE_DIR, pyroEnv, tempStateDir } from "../helpers/env.js";

const SECRET = "bg-s3cret-value-42";
const RING = 1024 * 1024;

/** Parse one `--json` result. */
function json<T = Record<string, unknown>>(stdout: string): T {
  return JSON.parse(stdout) as T;
}

/** Every guest process's name and peak RSS, read in the guest. */
const PROCESS_PEAKS = "grep -E '^(Name|VmHWM):' /proc/[0-9]*/status";

/** The largest peak RSS (KiB) of the guest agent's processes (pyro-agent, or pyro-init in a VM) in PROCESS_PEAKS output. */
function agentPeakKiB(text: string): number {
  const names = new Map<string, string>();
  let peak = 0;
  for (const line of text.split("\n")) {
    const match = /^\/proc\/(\d+)\/status:(Name|VmHWM):\s*(\S+)/.exec(line);
    if (!match) continue;
    if (match[2] === "Name") names.set(match[1]!, match[3]!);
    else if (names.get(match[1]!)?.startsWith("pyro-")) peak = Math.max(peak, Number(match[3]));
  }
  return peak;
}

describe.each(SUITE_BACKENDS)("background commands on $name", ({ name: backend, available, needs }) => {
  const state = tempStateDir();
  const env = pyroEnv(state.dir);
  let pyro: Pyro;
  let ws: string;
  const cli = (args: string[], timeoutMs?: number) => runCli(args, env, timeoutMs ? { timeoutMs } : {});

  beforeAll(async () => {
    if (!available) return;
    await ensureEnvironment("debian:12", { cacheDir: TEST_CACHE_DIR, kernel: backend !== "sandbox" });
    pyro = new Pyro({ stateDir: state.dir, cacheDir: TEST_CACHE_DIR });
    ws = (await pyro.createWorkspace({ environment: "debian:12", backend, allow_host_compat: true, secrets: [{ name: "TOKEN", value: SECRET }] })).workspace_id;
  }, 900_000);
  afterAll(async () => {
    if (ws) await pyro.deleteWorkspace({ workspace_id: ws }).catch(() => undefined);
    await pyro?.close();
    state.cleanup();
  });

  it.skipIf(!available)(`is started by one CLI process and waited for by a second one after the first exited (needs ${needs})`, async () => {
    // The command waits for a go-ahead given only after the first process exited: it cannot have ended before.
    const started = await cli(["workspace", "exec", ws, "--background", "--secret-env", "TOKEN", "--", "while [ ! -e /tmp/go ]; do sleep 0.1; done; sleep 2; echo done; echo token=$TOKEN >&2"]);
    expect(started.code).toBe(0);
    const commandId = started.stdout.trim();
    expect(commandId).toMatch(/^cmd-[0-9a-f]{12}$/);
    expect(started.stderr).toContain(`pyro workspace command wait ${ws} ${commandId}`);
    // The first process is gone (runCli waited for its exit); the command still runs.
    expect(json((await cli(["workspace", "command", "status", ws, commandId, "--json"])).stdout)).toMatchObject({ state: "running", finished: false });
    await pyro.execWorkspace({ workspace_id: ws, command: "touch /tmp/go" });

    const began = Date.now();
    const waited = await cli(["workspace", "command", "wait", ws, commandId, "--timeout-seconds", "60", "--json"]);
    const result = json<Record<string, unknown>>(waited.stdout);
    expect(result).toMatchObject({ state: "exited", finished: true, exit_code: 0, cursor: 0, dropped_bytes: 0, output: "done\ntoken=[REDACTED]\n" });
    expect(result.next_cursor).toBe(result.output_bytes);
    expect(result.duration_ms).toBeGreaterThanOrEqual(2000);
    expect(JSON.stringify(result)).not.toContain(SECRET);
    // It blocked until the end (the 2 s sleep after the go-ahead), not until its timeout.
    expect(Date.now() - began).toBeGreaterThan(1000);
    expect(Date.now() - began).toBeLessThan(40_000);
    expect(waited.code).toBe(0);

    // Paged 3 bytes at a time, the secret straddles reads: still redacted whole, and the pages add up to the output.
    let paged = "";
    for (let cursor = 0, round = 0; cursor < (result.output_bytes as number) && round < 100; round++) {
      const page = await pyro.logsWorkspaceCommand({ workspace_id: ws, command_id: commandId, cursor, max_bytes: 3 });
      paged += page.output;
      cursor = page.next_cursor;
    }
    expect(paged).toBe("done\ntoken=[REDACTED]\n");

    // A wait on a finished command answers at once, from any cursor up to the end.
    const again = Date.now();
    const done = await pyro.waitWorkspaceCommand({ workspace_id: ws, command_id: commandId, timeout_seconds: 60, cursor: result.next_cursor as number });
    expect(Date.now() - again).toBeLessThan(10_000);
    expect(done).toMatchObject({ finished: true, output: "", next_cursor: result.next_cursor });

    // Recorded in the history once, by whichever call saw it finish; kept outside /workspace.
    const logs = await pyro.logsWorkspace({ workspace_id: ws });
    const entries = logs.entries.filter((e) => e.command_id === commandId);
    expect(entries).toHaveLength(1);
    expect(entries[0]).toMatchObject({ exit_code: 0, stdout: "done\ntoken=[REDACTED]\n" });
    expect((await pyro.diffWorkspace({ workspace_id: ws })).changed).toBe(false);
    const listed = await cli(["workspace", "command", "list", ws]);
    expect(listed.stdout).toContain(`${commandId} exited exit=0`);
  }, 300_000);

  it.skipIf(!available)(`kill ends a background command and its process group (needs ${needs})`, async () => {
    const started = await pyro.execWorkspace({ workspace_id: ws, command: "echo up; sleep 600 & sleep 601; wait", background: true });
    expectTypeOf(started.command_id).toEqualTypeOf<string>();
    expect(started).toMatchObject({ background: true, state: "running", finished: false, backend });
    const first = await pyro.waitWorkspaceCommand({ workspace_id: ws, command_id: started.command_id, timeout_seconds: 1 });
    expect(first.finished).toBe(false);

    const killed = await cli(["workspace", "command", "kill", ws, started.command_id, "--json"]);
    expect(killed.code).toBe(0);
    expect(json(killed.stdout)).toMatchObject({ state: "killed", finished: true, signal: "TERM", exit_code: 143 });
    const left = await pyro.execWorkspace({ workspace_id: ws, command: "for p in /proc/[0-9]*; do tr '\\0' ' ' < $p/cmdline 2>/dev/null; echo; done | grep -c '^sleep 60[01]' || true" });
    expect(left.stdout.trim()).toBe("0");
    // A kill of an ended command is a no-op that reports it.
    expect(await pyro.killWorkspaceCommand({ workspace_id: ws, command_id: started.command_id })).toMatchObject({ state: "killed" });
    const exit = await cli(["workspace", "command", "wait", ws, started.command_id]);
    expect(exit.code).toBe(143);
  }, 300_000);

  it.skipIf(!available)(`keeps only the bounded tail of a 200 MB flood, says how much was dropped, with bounded memory (needs ${needs})`, async () => {
    const total = 200_000_000 + 5; // the x's, a newline, "END\n"
    const started = await pyro.execWorkspace({ workspace_id: ws, command: "head -c 200000000 /dev/zero | tr '\\0' x; echo; echo END", background: true });
    const timeFile = join(tmpdir(), `pyro-bg-rss-${process.pid}-${backend}`);
    // The host side: a CLI `wait` that runs through the whole flood, its peak RSS measured by GNU time.
    const waited = await runCli(["workspace", "command", "wait", ws, started.command_id, "--timeout-seconds", "600", "--max-bytes", "100"], env, {
      timeoutMs: 700_000,
      wrap: ["/usr/bin/time", "-f", "%M", "-o", timeFile],
    });
    const hostPeakKiB = Number(readFileSync(timeFile, "utf8").trim().split("\n").pop());
    rmSync(timeFile, { force: true });
    expect(waited.code).toBe(0);
    expect(waited.stdout).toBe("x".repeat(100));
    expect(waited.stderr).toContain(`[pyro] ${total - RING} bytes dropped before this read`);

    const tail = await pyro.logsWorkspaceCommand({ workspace_id: ws, command_id: started.command_id, cursor: total - 20, max_bytes: 1000 });
    expect(tail).toMatchObject({ output_bytes: total, output: `${"x".repeat(15)}\nEND\n`, next_cursor: total, dropped_bytes: 0 });
    const head = await pyro.logsWorkspaceCommand({ workspace_id: ws, command_id: started.command_id, cursor: 0, max_bytes: 10 });
    expect(head).toMatchObject({ cursor: total - RING, dropped_bytes: total - RING, next_cursor: total - RING + 10 });

    const agentPeak = agentPeakKiB((await pyro.execWorkspace({ workspace_id: ws, command: PROCESS_PEAKS })).stdout);
    process.stderr.write(`[measure] ${backend}: 200 MB flood: host CLI wait peak RSS ${hostPeakKiB} KiB, guest agent peak RSS ${agentPeak} KiB\n`);
    // A CLI process is ~60 MB of Node whatever it does; holding the flood would take 200 MB more.
    expect(hostPeakKiB).toBeLessThan(150 * 1024);
    // The agent keeps a 1 MiB ring, not the flood.
    expect(agentPeak).toBeGreaterThan(0);
    expect(agentPeak).toBeLessThan(64 * 1024);
    // The history keeps a short tail too.
    const entry = (await pyro.logsWorkspace({ workspace_id: ws })).entries.find((e) => e.command_id === started.command_id)!;
    expect(entry.stdout.length).toBeLessThan(20_000);
    expect(entry.stdout).toMatch(/earlier bytes not kept in history\]\nx+\nEND\n$/);
  }, 900_000);

  it.skipIf(!available)(`refuses bad input with the fix (needs ${needs})`, async () => {
    const unknown = await expectPyroError(pyro.statusWorkspaceCommand({ workspace_id: ws, command_id: "cmd-000000000000" }), "not_found");
    expect(unknown.hint).toContain(`pyro workspace command list ${ws}`);
    await expectPyroError(pyro.waitWorkspaceCommand({ workspace_id: ws, command_id: "../../record" }), "not_found");
    const cliUnknown = await cli(["workspace", "command", "logs", ws, "cmd-ffffffffffff"]);
    expect(cliUnknown.code).toBe(3);
    expect(cliUnknown.stderr).toContain("workspace command list");

    const quick = await pyro.execWorkspace({ workspace_id: ws, command: "printf 12345", background: true });
    const finished = await pyro.waitWorkspaceCommand({ workspace_id: ws, command_id: quick.command_id, timeout_seconds: 60 });
    expect(finished).toMatchObject({ output: "12345", next_cursor: 5, finished: true });
    const asked = Date.now();
    const past = await expectPyroError(pyro.logsWorkspaceCommand({ workspace_id: ws, command_id: quick.command_id, cursor: 6 }), "invalid_argument");
    expect(past.message).toContain("past the end");
    // Answered at once: a refused read is not mistaken for a machine going away (which is watched for 15 s).
    expect(Date.now() - asked).toBeLessThan(8_000);
    // At the very end: nothing, and the same cursor back.
    expect(await pyro.logsWorkspaceCommand({ workspace_id: ws, command_id: quick.command_id, cursor: 5 })).toMatchObject({ output: "", next_cursor: 5 });
    for (const bad of [{ cursor: -1 }, { max_bytes: -5 }, { max_bytes: 0 }]) {
      await expectPyroError(pyro.logsWorkspaceCommand({ workspace_id: ws, command_id: quick.command_id, ...bad }), "invalid_argument");
    }
    await expectPyroError(pyro.waitWorkspaceCommand({ workspace_id: ws, command_id: quick.command_id, timeout_seconds: -1 }), "invalid_argument");
    const negative = await cli(["workspace", "command", "logs", ws, quick.command_id, "--max-bytes", "-1"]);
    expect(negative.code).toBe(2);
    expect(negative.stderr).toContain("max_bytes must be at least 1");
  }, 300_000);

  it.skipIf(!available)(`reports a command lost, not hanging, when its workspace is reset or stopped (needs ${needs})`, async () => {
    const ended = await pyro.execWorkspace({ workspace_id: ws, command: "echo ended", background: true });
    expect((await pyro.waitWorkspaceCommand({ workspace_id: ws, command_id: ended.command_id, timeout_seconds: 60 })).state).toBe("exited");
    const first = await pyro.execWorkspace({ workspace_id: ws, command: "sleep 600", background: true });
    // A wait in flight while another process resets the workspace ends with `lost`.
    const waiting = cli(["workspace", "command", "wait", ws, first.command_id, "--timeout-seconds", "300", "--json"], 400_000);
    await new Promise((resolve) => setTimeout(resolve, 1500));
    const began = Date.now();
    expect((await cli(["workspace", "reset", ws], 600_000)).code).toBe(0);
    const waited = await waiting;
    expect(Date.now() - began).toBeLessThan(120_000);
    expect(json(waited.stdout)).toMatchObject({ state: "lost", finished: true, exit_code: null, output_bytes: null });
    expect(waited.code).toBe(1);
    const status = await pyro.statusWorkspaceCommand({ workspace_id: ws, command_id: first.command_id });
    expect(status.detail).toContain("reset");
    // A command that had ended before the reset stays as it ended (its output went with the machine).
    expect(await pyro.logsWorkspaceCommand({ workspace_id: ws, command_id: ended.command_id })).toMatchObject({ state: "exited", exit_code: 0, output: "" });

    const second = await pyro.execWorkspace({ workspace_id: ws, command: "sleep 600", background: true });
    await pyro.stopWorkspace({ workspace_id: ws });
    const stopped = Date.now();
    expect(await pyro.waitWorkspaceCommand({ workspace_id: ws, command_id: second.command_id, timeout_seconds: 300 })).toMatchObject({ state: "lost", finished: true });
    expect(Date.now() - stopped).toBeLessThan(10_000);
    const listed = await pyro.listWorkspaceCommands({ workspace_id: ws });
    expect(listed.commands.find((c) => c.command_id === second.command_id)?.detail).toContain("stopped");
    // Lost commands are not in the history: their end is unknown.
    expect((await pyro.logsWorkspace({ workspace_id: ws })).entries.some((e) => e.command_id === second.command_id)).toBe(false);
    await pyro.startWorkspace({ workspace_id: ws });
    expect((await pyro.statusWorkspaceCommand({ workspace_id: ws, command_id: second.command_id })).state).toBe("lost");
  }, 900_000);
});

import { randomBytes } from "node:crypto";
import { closeSync, existsSync, lstatSync, openSync, readSync, readdirSync, rmSync, statSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { Client } from "@modelcontextprotocol/sdk/client/index.js";
import { StdioClientTransport } from "@modelcontextprotocol/sdk/client/stdio.js";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { Pyro, PyroError } from "../../src/index.js";
import { ensureEnvironment } from "../../src/environments/index.js";
import { SUITE_BACKENDS } from "../helpers/backends.js";
import { CLI, TEST_CACHE_DIR, pyroEnv, tempStateDir } from "../helpers/env.js";

/** Every regular file under `dir` whose bytes contain one of `needles` (streamed, so raw disks are fine). */
function filesContaining(dir: string, needles: Buffer[]): string[] {
  const hits: string[] = [];
  const longest = Math.max(...needles.map((n) => n.length));
  const chunk = Buffer.alloc(4 * 1024 * 1024 + longest);
  const walk = (path: string): void => {
    const info = lstatSync(path);
    if (info.isDirectory()) {
      for (const entry of readdirSync(path)) walk(join(path, entry));
      return;
    }
    if (!info.isFile()) return;
    const fd = openSync(path, "r");
    try {
      let carried = 0;
      for (;;) {
        const read = readSync(fd, chunk, carried, chunk.length - carried, null);
        if (read === 0) break;
        const view = chunk.subarray(0, carried + read);
        if (needles.some((n) => view.includes(n))) {
          hits.push(path);
          break;
        }
        carried = Math.min(longest - 1, view.length);
        view.copy(chunk, 0, view.length - carried);
      }
    } finally {
      closeSync(fd);
    }
  };
  walk(dir);
  return hits;
}

async function failure(promise: Promise<unknown>): Promise<PyroError> {
  const error = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(PyroError);
  return error as PyroError;
}

describe.each(SUITE_BACKENDS)("secrets never leak on $name", ({ name: backend, available, needs }) => {
  const state = tempStateDir();
  const canary = randomBytes(16).toString("hex");
  const fileCanary = randomBytes(16).toString("hex");
  const needles = [Buffer.from(canary), Buffer.from(fileCanary)];
  const secretFile = join(state.dir, "..", `pyro-secret-${fileCanary.slice(0, 6)}.txt`);
  /** Everything pyro handed back in this suite, checked at the end. */
  const outputs: string[] = [];
  const keep = <T>(value: T): T => {
    outputs.push(typeof value === "string" ? value : JSON.stringify(value));
    return value;
  };
  let pyro: Pyro;
  let ws: string;

  beforeAll(async () => {
    if (!available) return;
    writeFileSync(secretFile, fileCanary, { mode: 0o600 });
    await ensureEnvironment("debian:12", { cacheDir: TEST_CACHE_DIR, kernel: backend !== "sandbox" });
    pyro = new Pyro({ stateDir: state.dir, cacheDir: TEST_CACHE_DIR });
  }, 900_000);
  afterAll(async () => {
    if (ws) await pyro.deleteWorkspace({ workspace_id: ws }).catch(() => undefined);
    state.cleanup();
    rmSync(secretFile, { force: true });
  });

  it.skipIf(!available)(`refuses bad secret names and missing secret files without echoing values (needs ${needs})`, async () => {
    for (const name of ["a/b", "..", "../etc", "1ABC"]) {
      const error = keep(await failure(pyro.createWorkspace({ environment: "debian:12", backend, allow_host_compat: true, secrets: [{ name, value: canary }] })));
      expect(error.code).toBe("invalid_argument");
      keep(error.describe());
    }
    const missing = await failure(
      pyro.createWorkspace({ environment: "debian:12", backend, allow_host_compat: true, secrets: [{ name: "GONE", file_path: `${secretFile}.missing` }] }),
    );
    expect(missing.code).toBe("not_found");
    const root = join(state.dir, "workspaces");
    expect(existsSync(root) ? readdirSync(root, { withFileTypes: true }).filter((e) => e.isDirectory()) : []).toHaveLength(0);
  });

  it.skipIf(!available)("redacts a canary from exec, shells, services, errors, history and MCP results", async () => {
    const created = keep(
      await pyro.createWorkspace({
        environment: "debian:12",
        backend,
        allow_host_compat: true,
        secrets: [
          { name: "API_TOKEN", value: canary },
          { name: "FILE_TOKEN", file_path: secretFile },
        ],
      }),
    );
    ws = created.workspace_id;
    expect(created.secrets).toEqual([
      { name: "API_TOKEN", source: "literal" },
      { name: "FILE_TOKEN", source: "file" },
    ]);

    // exec: a mapped variable, the secret file, and the literal value in the command itself.
    const exec = keep(
      await pyro.execWorkspace({
        workspace_id: ws,
        secret_env: ["API_TOKEN=TOKEN"],
        command: `echo "env=$TOKEN"; echo "file=$(cat /run/pyro-secrets/FILE_TOKEN)"; echo "literal=${canary}" >&2; stat -c %a /run/pyro-secrets/API_TOKEN`,
      }),
    );
    expect(exec.exit_code).toBe(0);
    expect(exec.stdout).toBe("env=[REDACTED]\nfile=[REDACTED]\n400\n");
    expect(exec.stderr).toBe("literal=[REDACTED]\n");

    // A shell that prints it whole, and split across two reads by a pause.
    const shell = keep(await pyro.openShell({ workspace_id: ws, secret_env: ["API_TOKEN"] }));
    const half = canary.slice(0, 16);
    keep(
      await pyro.writeShell({
        workspace_id: ws,
        shell_id: shell.shell_id,
        input: `echo "whole=$API_TOKEN"; printf 'split=%s' "\${API_TOKEN:0:16}"; sleep 4; printf '%s\\n' "\${API_TOKEN:16}"; echo done-$((2+3))`,
      }),
    );
    let text = "";
    let cursor = 0;
    const deadline = Date.now() + 90_000;
    while (!text.includes("done-5") && Date.now() < deadline) {
      const read = keep(await pyro.readShell({ workspace_id: ws, shell_id: shell.shell_id, cursor }));
      text += read.output;
      cursor = read.next_cursor;
      await new Promise((resolve) => setTimeout(resolve, 250));
    }
    expect(text).toContain("whole=[REDACTED]");
    expect(text).toContain("split=[REDACTED]");
    expect(text).not.toContain(half);
    // Tiny reads walk the same output without ever exposing a piece of it.
    let small = "";
    for (let c = 0, n = 0; n < 400; n++) {
      const read = await pyro.readShell({ workspace_id: ws, shell_id: shell.shell_id, cursor: c, max_chars: 7 });
      small += read.output;
      if (read.next_cursor === c) break;
      c = read.next_cursor;
    }
    keep(small);
    expect(small).toBe(text);
    keep(await pyro.closeShell({ workspace_id: ws, shell_id: shell.shell_id }));

    // A service that logs it, and one whose failing readiness check prints it.
    keep(
      await pyro.startService({
        workspace_id: ws,
        service_name: "leaky",
        secret_env: ["API_TOKEN"],
        command: 'echo "out $API_TOKEN"; echo "err $API_TOKEN" >&2; cat /run/pyro-secrets/FILE_TOKEN; echo; touch .leaky-ready; exec sleep 600',
        readiness: { kind: "file", path: ".leaky-ready" },
      }),
    );
    const logs = keep(await pyro.logsService({ workspace_id: ws, service_name: "leaky" }));
    expect(logs.stdout).toBe("out [REDACTED]\n[REDACTED]\n");
    expect(logs.stderr).toBe("err [REDACTED]\n");
    const probe = keep(
      await pyro.startService({
        workspace_id: ws,
        service_name: "probe-leak",
        secret_env: ["API_TOKEN"],
        command: 'echo "starting with $API_TOKEN"; sleep 3; exit 5',
        readiness: { kind: "command", command: 'echo "probe saw $API_TOKEN"; exit 1' },
        ready_timeout_seconds: 30,
      }),
    );
    expect(probe.state).toBe("failed");
    expect(probe.readiness?.detail).toContain("[REDACTED]");
    keep(await pyro.stopService({ workspace_id: ws, service_name: "leaky" }));

    // Errors whose message quotes guest text that holds the value.
    const shellError = keep(await failure(pyro.openShell({ workspace_id: ws, cwd: `/nowhere/${canary}` })));
    expect(shellError.message).toContain("[REDACTED]");
    keep(shellError.describe());
    const serviceError = keep(await failure(pyro.startService({ workspace_id: ws, service_name: "bad-cwd", command: "true", cwd: `/nowhere/${canary}` })));
    keep(serviceError.describe());
    const exportError = keep(await failure(pyro.exportWorkspace({ workspace_id: ws, path: `missing-${canary}`, output_path: join(state.dir, "export-out") })));
    expect(exportError.message).toContain("[REDACTED]");
    keep(exportError.describe());

    // History, status and list.
    keep(await pyro.logsWorkspace({ workspace_id: ws }));
    keep(await pyro.statusWorkspace({ workspace_id: ws }));
    keep(await pyro.listServices({ workspace_id: ws }));

    // The MCP face, over stdio, on the same state.
    const client = new Client({ name: "pyro-leak-test", version: "1.0.0" });
    await client.connect(new StdioClientTransport({ command: process.execPath, args: [CLI, "mcp", "serve"], env: pyroEnv(state.dir) as Record<string, string>, stderr: "pipe" }));
    try {
      keep(await client.callTool({ name: "workspace_exec", arguments: { workspace_id: ws, command: 'echo "$API_TOKEN"', secret_env: ["API_TOKEN"] } }));
      keep(await client.callTool({ name: "service_logs", arguments: { workspace_id: ws, service_name: "leaky" } }));
      keep(await client.callTool({ name: "shell_open", arguments: { workspace_id: ws, cwd: `/nowhere/${canary}` } }));
      keep(await client.callTool({ name: "workspace_logs", arguments: { workspace_id: ws } }));
    } finally {
      await client.close();
    }
    expect(outputs.join("\n")).toContain("[REDACTED]");
    for (const output of outputs) {
      expect(output).not.toContain(canary);
      expect(output).not.toContain(fileCanary);
      expect(output).not.toContain(half);
    }
  }, 300_000);

  it.skipIf(!available)("keeps the values only in the workspace's 0600 secret store on the host", async () => {
    // Stopping flushes the guest's disk, so the scan below also covers what the guest wrote.
    await pyro.stopWorkspace({ workspace_id: ws });
    const store = join(state.dir, "workspaces", ws, "secrets.json");
    expect(filesContaining(state.dir, needles)).toEqual([store]);
    expect(statSync(store).mode & 0o777).toBe(0o600);
  }, 120_000);
});

import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ensureEnvironment } from "../../src/environments/index.js";
import { SUITE_BACKENDS } from "../helpers/backends.js";
import { pyroEnv, TEST_CACHE_DIR, tempStateDir } from "../helpers/env.js";
import { compileExample, runExample, type ExampleRun } from "../helpers/examples.js";
import { startModelServer, type ModelRequest } from "../helpers/model-server.js";
import { runCli } from "../helpers/cli.js";

const qemu = SUITE_BACKENDS.find((b) => b.name === "qemu")!;

/** The one tool result of a request, parsed: what pyro answered the model's call. */
function lastToolResult(request: ModelRequest): Record<string, unknown> {
  const result = request.toolResults.at(-1);
  if (!result) throw new Error(`the client sent no tool result (it sent ${JSON.stringify(request)})`);
  return JSON.parse(result.content) as Record<string, unknown>;
}

/** A scripted model: call vm_run with `git --version`, then answer with the version pyro reported. */
function gitVersionScript(expectedTools: string[]) {
  let reported = "";
  return [
    (request: ModelRequest) => {
      expect(request.tools.sort()).toEqual([...expectedTools].sort());
      expect(request.toolResults).toEqual([]);
      return { toolCalls: [{ name: "vm_run", arguments: { environment: "debian:12", command: "git --version" } }] };
    },
    (request: ModelRequest) => {
      // The example ran the call in a real guest and sent its result back.
      const result = lastToolResult(request);
      expect(result.exit_code).toBe(0);
      expect(String(result.stdout)).toMatch(/^git version \d+\.\d+/);
      reported = String(result.stdout).trim();
      return { text: `The VM has ${reported}.` };
    },
  ];
}

describe.skipIf(!qemu.available)(`every example runs end to end against real guests (needs ${qemu.needs})`, () => {
  const state = tempStateDir();
  let env: NodeJS.ProcessEnv;
  const compiled = new Map<string, string>();
  const run = async (name: string, args: string[] = [], extra: Record<string, string> = {}): Promise<ExampleRun> => {
    const file = compiled.get(name) ?? (await compileExample(name));
    compiled.set(name, file);
    return runExample(file, args, { ...env, ...extra });
  };
  const ok = (result: ExampleRun): ExampleRun => {
    expect(result.code, `exit ${result.code}\nstdout:\n${result.stdout}\nstderr:\n${result.stderr}`).toBe(0);
    return result;
  };

  beforeAll(async () => {
    await ensureEnvironment("debian:12", { cacheDir: TEST_CACHE_DIR });
    env = pyroEnv(state.dir, { PYRO_BACKEND: "qemu" });
  }, 900_000);
  afterAll(() => state.cleanup());

  it("sdk-run.ts prints the guest's git version", async () => {
    const result = ok(await run("sdk-run"));
    expect(result.stdout).toMatch(/^git version \d+\.\d+\.\d+\n$/);
    expect(result.stderr).toMatch(/exit_code=0 backend=qemu/);
  });

  it("sdk-lifecycle.ts creates, starts, inspects, runs in and deletes a VM", async () => {
    const result = ok(await run("sdk-lifecycle"));
    expect(result.stdout).toMatch(/^vm vm-[0-9a-f]+ is running on qemu\nLinux \S+\n12\.\d+\n$/);
  });

  it("sdk-workspace.ts seeds, execs, syncs, diffs, snapshots, resets and exports", async () => {
    const result = ok(await run("sdk-workspace"));
    expect(result.stdout).toMatch(/^workspace ws-[0-9a-f]+ on qemu\nhello from the host\nchanged since create: extra.txt, out.txt\nexported after reset: built\n$/);
  });

  it("sdk-shell.ts keeps a shell's variables across calls", async () => {
    const result = ok(await run("sdk-shell"));
    expect(result.stdout).toBe("hello from /workspace\n");
  });

  it("openai-responses-vm-run.ts drives vm_run through the official openai client's Responses API", async () => {
    const model = await startModelServer(gitVersionScript(["vm_run", "workspace_create", "workspace_exec", "workspace_delete"]));
    try {
      const result = ok(await run("openai-responses-vm-run", [], { OPENAI_BASE_URL: `${model.url}/v1`, OPENAI_API_KEY: "test-key", OPENAI_MODEL: "scripted" }));
      expect(model.failures).toEqual([]);
      expect(model.requests.map((r) => r.protocol)).toEqual(["responses", "responses"]);
      expect(model.requests[1]!.model).toBe("scripted");
      expect(result.stdout).toMatch(/^The VM has git version \d+\.\d+\.\d+\.\n$/);
      expect(result.stderr).toContain('[tool] vm_run {"environment":"debian:12","command":"git --version"}');
    } finally {
      await model.close();
    }
  });

  it("vercel-ai-sdk.ts drives vm_run through the ai package's tool loop", async () => {
    const model = await startModelServer(gitVersionScript(["vm_run", "workspace_create", "workspace_exec", "workspace_delete"]));
    try {
      const result = ok(await run("vercel-ai-sdk", [], { OPENAI_BASE_URL: `${model.url}/v1`, OPENAI_API_KEY: "test-key", OPENAI_MODEL: "scripted" }));
      expect(model.failures).toEqual([]);
      expect(model.requests.map((r) => r.protocol)).toEqual(["chat", "chat"]);
      expect(result.stdout).toMatch(/^The VM has git version \d+\.\d+\.\d+\.\n$/);
    } finally {
      await model.close();
    }
  });

  it("a tool call the model gets wrong comes back to it as pyro's error, and the loop goes on", async () => {
    const model = await startModelServer([
      () => ({ toolCalls: [{ name: "vm_run", arguments: { environment: "debian:12", command: "true", timeout: 5 } }] }),
      (request) => {
        const result = lastToolResult(request) as { error?: { code: string; message: string } };
        expect(result.error?.code).toBe("invalid_argument");
        expect(result.error?.message).toContain("timeout_seconds");
        return { text: "fixed nothing" };
      },
    ]);
    try {
      const result = ok(await run("openai-responses-vm-run", ["run true"], { OPENAI_BASE_URL: `${model.url}/v1`, OPENAI_API_KEY: "k" }));
      expect(model.failures).toEqual([]);
      expect(result.stdout).toBe("fixed nothing\n");
    } finally {
      await model.close();
    }
  });

  it("langchain-vm-run.ts runs vm_run as a @langchain/core tool", async () => {
    const result = ok(await run("langchain-vm-run", ["cat /etc/debian_version"]));
    expect(result.stdout).toMatch(/^12\.\d+\n$/);
  });

  it("agent-loop.ts runs the tests, reads the file, patches it and the tests pass", async () => {
    const result = ok(await run("agent-loop"));
    expect(result.stdout).toBe("tests before: FAIL: add 2 3 = -1\npatched: 1 file modified\ntests after: PASS\n");
    expect(result.stderr).toMatch(/\[tool\] workspace_file_read .*\n\[tool\] workspace_patch_apply /);
  });

  it("`pyro demo ollama` plays a tool loop against an Ollama-compatible endpoint", async () => {
    const model = await startModelServer(gitVersionScript(["vm_run"]));
    try {
      const result = await runCli(["demo", "ollama", "--url", model.url, "--model", "scripted"], env, { timeoutMs: 240_000 });
      expect(model.failures).toEqual([]);
      expect(result.code, result.stderr).toBe(0);
      expect(model.requests.map((r) => r.protocol)).toEqual(["ollama", "ollama"]);
      expect(result.stdout).toMatch(/^\[demo\] model=scripted answer="The VM has git version [\d.]+\."\n$/);
    } finally {
      await model.close();
    }
  });

  it("`pyro demo ollama` says clearly when no endpoint answers", async () => {
    const model = await startModelServer([]);
    const url = model.url;
    await model.close(); // a port on loopback that nothing listens on now
    const result = await runCli(["demo", "ollama", "--url", url], env);
    expect(result.code).toBe(5);
    expect(result.stderr).toContain(`cannot reach Ollama at ${url}`);
    expect(result.stderr).toContain("hint: start Ollama");
  });
});

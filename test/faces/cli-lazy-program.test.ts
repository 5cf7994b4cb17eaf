import type { Command } from "commander";
import { describe, expect, it } from "vitest";
import { bindingOf } from "../../src/cli/binding.js";
import { CLI_BINDINGS } from "../../src/cli/bindings.js";
import { buildProgram, operationsFor } from "../../src/cli/program.js";
import type { OperationName } from "../../src/contract/index.js";

const quiet = { stdout: () => {}, stderr: () => {} };
const extras = (root: Command) => {
  root.command("mcp").description("MCP server commands").command("serve").action(() => {});
  root.command("demo").action(() => {});
};

/** The program `pyro ARGV` builds, recording the operation and input the matching command would run. */
function program(argv?: string[]) {
  const calls: { name: string; input: Record<string, unknown> }[] = [];
  const built = buildProgram({
    version: "0",
    run: async (name, input) => {
      calls.push({ name, input });
      return 0;
    },
    output: quiet,
    extraCommands: extras,
    ...(argv ? { argv } : {}),
  });
  return { built, calls };
}

function leaf(root: Command, path: readonly string[]): Command | undefined {
  let current: Command | undefined = root;
  for (const word of path) current = current?.commands.find((c) => c.name() === word);
  return current;
}

function commandCount(root: Command): number {
  return root.commands.reduce((n, c) => n + 1 + commandCount(c), 0);
}

describe("the CLI builds only the commands its arguments can reach", () => {
  it("pyro run builds the run command alone (plus the extra commands), not the whole tree", () => {
    expect(operationsFor(["run", "--mem-mib", "512", "debian:12", "--", "true"])).toEqual(["runInVm"]);
    expect(operationsFor(["workspace", "exec", "ws1", "--", "ls", "-l"])).toEqual(["execWorkspace"]);
    const lazy = program(["run", "debian:12", "--", "true"]).built;
    const full = program().built;
    expect(lazy.commands.map((c) => c.name()).sort()).toEqual(["demo", "mcp", "run"]);
    expect(commandCount(full)).toBeGreaterThan(40);
  });

  it("a command reached through the lazy tree has the same help and parses to the same call as in the whole tree", async () => {
    const names = (Object.keys(CLI_BINDINGS) as OperationName[]).filter((name) => bindingOf(CLI_BINDINGS, name));
    const full = program().built;
    for (const name of names) {
      const path = bindingOf(CLI_BINDINGS, name)!.path;
      const lazy = program([...path, "--help"]).built;
      expect(operationsFor([...path, "--help"]), name).toContain(name);
      expect(leaf(lazy, path)?.helpInformation(), path.join(" ")).toBe(leaf(full, path)?.helpInformation());
    }
    const argv = ["run", "--mem-mib", "512", "--timeout-seconds", "9", "debian:12", "--", "echo", "a b"];
    const lazyRun = program(argv);
    const fullRun = program();
    await lazyRun.built.parseAsync(argv, { from: "user" });
    await fullRun.built.parseAsync(argv, { from: "user" });
    expect(lazyRun.calls).toEqual([{ name: "runInVm", input: { environment: "debian:12", command: "echo 'a b'", mem_mib: 512, timeout_seconds: 9 } }]);
    expect(lazyRun.calls).toEqual(fullRun.calls);
  });

  it("a group word builds the whole group; help, typos and no command build everything", () => {
    const group = program(["workspace"]).built;
    const full = program().built;
    expect(leaf(group, ["workspace"])?.helpInformation()).toBe(leaf(full, ["workspace"])?.helpInformation());
    for (const argv of [[], ["help"], ["runn", "x"], ["--help"]]) {
      expect(program(argv).built.helpInformation(), argv.join(" ")).toBe(full.helpInformation());
    }
    // An extra command builds no operation.
    expect(program(["mcp", "serve"]).built.commands.map((c) => c.name()).sort()).toEqual(["demo", "mcp"]);
  });
});

/**
 * The shape of a coding agent's loop, with no model: run the tests, read the failing
 * file, patch it, run the tests again. Every step is a pyro tool call by name, exactly
 * what a model would send (swap `plan()` for a model's tool calls and nothing else
 * changes). The patch is a unified diff made with the `diff` package; pyro applies it
 * all or nothing.
 *
 *   npx tsx examples/agent-loop.ts
 */
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createPatch } from "diff";
import { Pyro } from "pyro-mcp";

// A tiny project with a bug: add() subtracts.
const project = mkdtempSync(join(tmpdir(), "pyro-agent-loop-"));
mkdirSync(join(project, "src"));
writeFileSync(join(project, "src", "calc.sh"), 'add() {\n  echo $(( $1 - $2 ))\n}\n');
writeFileSync(join(project, "test.sh"), '. ./src/calc.sh\n[ "$(add 2 3)" = 5 ] && echo PASS || { echo "FAIL: add 2 3 = $(add 2 3)"; exit 1; }\n');

await using pyro = new Pyro();
type Exec = { exit_code: number; stdout: string };
const call = async <T>(tool: string, args: Record<string, unknown>): Promise<T> => {
  console.error(`[tool] ${tool} ${JSON.stringify(args).slice(0, 120)}`);
  return (await pyro.callTool(tool, args)) as T;
};

const { workspace_id } = await call<{ workspace_id: string }>("workspace_create", { environment: "debian:12", seed_path: project });
try {
  // 1. Run the tests.
  const before = await call<Exec>("workspace_exec", { workspace_id, command: "sh test.sh" });
  console.log(`tests before: ${before.stdout.trim()}`);
  if (before.exit_code !== 0) {
    // 2. Read the file the failure points at.
    const file = await call<{ content: string }>("workspace_file_read", { workspace_id, path: "src/calc.sh" });
    // 3. Plan the fix (a model would write this) and send it as a patch.
    const fixed = file.content.replace("$1 - $2", "$1 + $2");
    const patch = createPatch("src/calc.sh", file.content, fixed);
    const applied = await call<{ summary: { modified: number } }>("workspace_patch_apply", { workspace_id, patch });
    console.log(`patched: ${applied.summary.modified} file modified`);
    // 4. Run the tests again.
    const after = await call<Exec>("workspace_exec", { workspace_id, command: "sh test.sh" });
    console.log(`tests after: ${after.stdout.trim()}`);
    process.exitCode = after.exit_code;
  }
} finally {
  await call("workspace_delete", { workspace_id });
  rmSync(project, { recursive: true, force: true });
}

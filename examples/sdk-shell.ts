/**
 * An interactive shell that outlives each call: open it, write commands, read what
 * it printed from a cursor, and close it. Shell state (variables, cwd) persists.
 *
 *   npx tsx examples/sdk-shell.ts
 */
import { Pyro } from "pyro-mcp";

await using pyro = new Pyro();
const ws = await pyro.createWorkspace({ environment: "debian:12" });
try {
  const shell = await pyro.openShell({ workspace_id: ws.workspace_id });
  await pyro.writeShell({ workspace_id: ws.workspace_id, shell_id: shell.shell_id, input: "export GREETING=hello" });
  await pyro.writeShell({ workspace_id: ws.workspace_id, shell_id: shell.shell_id, input: 'echo "$GREETING from $(pwd)"' });
  // Output arrives asynchronously: read from a cursor until the line is there.
  let cursor = 0;
  let text = "";
  for (let attempt = 0; attempt < 50 && !text.includes("hello from /workspace"); attempt++) {
    const read = await pyro.readShell({ workspace_id: ws.workspace_id, shell_id: shell.shell_id, cursor });
    text += read.output;
    cursor = read.next_cursor;
    if (!text.includes("hello from /workspace")) await new Promise((resolve) => setTimeout(resolve, 100));
  }
  console.log(text.includes("hello from /workspace") ? "hello from /workspace" : `shell said: ${JSON.stringify(text)}`);
  await pyro.closeShell({ workspace_id: ws.workspace_id, shell_id: shell.shell_id });
} finally {
  await pyro.deleteWorkspace({ workspace_id: ws.workspace_id });
}

import type { Command } from "commander";
import { PyroError, type Pyro } from "../sdk/index.js";
import type { Output } from "./binding.js";

type ReportError = (error: unknown, json: boolean) => number;

/** The public git repository `pyro demo --network` lists over HTTPS (the original's network proof repository). */
export const DEMO_NETWORK_REPO = "https://github.com/octocat/Hello-World.git";

/**
 * The guest command of `pyro demo`: git's version, and with the network the
 * refs of a remote repository — DNS, TCP, TLS and git over HTTPS from inside
 * the guest. `--exit-code` makes an unreachable or empty remote a failure
 * rather than a quiet success.
 */
export function demoCommand(network: boolean, repo: string = DEMO_NETWORK_REPO): string {
  return network ? `git --version && git ls-remote --exit-code ${shellQuote(repo)} HEAD` : "git --version";
}

function shellQuote(text: string): string {
  return `'${text.replaceAll("'", "'\\''")}'`;
}

/** `pyro demo` and `pyro demo ollama`. */
export function registerDemoCommands(root: Command, pyro: Pyro, output: Output, reportError: ReportError): void {
  const demo = root
    .command("demo")
    .description("Prove the one-shot lifecycle end to end: create, start, exec, delete (prints the JSON result)")
    .option("--network", "give the demo VM outbound network access and list a public git repository's refs over HTTPS")
    .option("--repo-url <url>", `the git repository --network lists (default ${DEMO_NETWORK_REPO})`)
    .option("--allow-host-compat", "allow the namespace sandbox when no guest can boot")
    .action(async (options: { network?: boolean; repoUrl?: string; allowHostCompat?: boolean }) => {
      try {
        if (options.repoUrl !== undefined && !options.network) {
          throw new PyroError("invalid_argument", "--repo-url is used only by the network demo", { hint: "add --network, or drop --repo-url" });
        }
        if (options.repoUrl !== undefined && !/^(https?|git):\/\/[^\s]+$/.test(options.repoUrl)) {
          throw new PyroError("invalid_argument", `--repo-url must be an http(s):// or git:// URL, got ${JSON.stringify(options.repoUrl)}`, {
            hint: `for example --repo-url ${DEMO_NETWORK_REPO}`,
          });
        }
        const network = options.network === true;
        const vm = await pyro.createVm({ environment: "debian:12", network, allow_host_compat: options.allowHostCompat === true });
        let result;
        try {
          await pyro.startVm({ vm_id: vm.vm_id });
          result = await pyro.execVm({ vm_id: vm.vm_id, command: demoCommand(network, options.repoUrl) });
        } catch (error) {
          // exec deletes the VM; a failure before it must not leave the VM to its TTL.
          await pyro.deleteVm({ vm_id: vm.vm_id }).catch(() => undefined);
          throw error;
        }
        const { vm_id: _id, ...shown } = result;
        output.stdout(`${JSON.stringify(shown, null, 2)}\n`);
        process.exitCode = result.exit_code;
      } catch (error) {
        process.exitCode = reportError(error, false);
      }
    });
  demo
    .command("ollama")
    .description("Let a local Ollama model drive vm_run through tool calls")
    .option("--model <name>", "Ollama model with tool support", "llama3.2:3b")
    .option("--url <url>", "Ollama base URL", "http://127.0.0.1:11434")
    .option("--allow-host-compat", "allow the namespace sandbox when no guest can boot")
    .action(async (options: { model: string; url: string; allowHostCompat?: boolean }) => {
      try {
        const summary = await runOllamaDemo(pyro, options, (line) => output.stderr(`${line}\n`));
        output.stdout(`${summary}\n`);
      } catch (error) {
        process.exitCode = reportError(error, false);
      }
    });
}

interface ChatMessage {
  role: string;
  content: string;
  tool_calls?: Array<{ function: { name: string; arguments: Record<string, unknown> } }>;
}

const VM_RUN_TOOL = {
  type: "function",
  function: {
    name: "vm_run",
    description: "Run one shell command in a fresh Debian 12 VM and return its output",
    parameters: {
      type: "object",
      properties: { command: { type: "string", description: "Shell command to run" } },
      required: ["command"],
    },
  },
};

/** A short tool-calling loop against Ollama's /api/chat; returns the model's final answer line. */
async function runOllamaDemo(
  pyro: Pyro,
  options: { model: string; url: string; allowHostCompat?: boolean },
  log: (line: string) => void,
): Promise<string> {
  const messages: ChatMessage[] = [
    { role: "user", content: "Use the vm_run tool to find out which git version the VM has, then answer in one sentence." },
  ];
  for (let turn = 0; turn < 4; turn += 1) {
    let response: Response;
    try {
      response = await fetch(`${options.url}/api/chat`, {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: JSON.stringify({ model: options.model, messages, tools: [VM_RUN_TOOL], stream: false }),
      });
    } catch (error) {
      throw new PyroError("unavailable", `cannot reach Ollama at ${options.url}: ${(error as Error).message}`, {
        hint: `start Ollama (\`ollama serve\`) and pull a tool-capable model (\`ollama pull ${options.model}\`)`,
      });
    }
    if (!response.ok) {
      throw new PyroError("unavailable", `Ollama answered ${response.status}: ${(await response.text()).slice(0, 300)}`, {
        hint: `pull the model first: \`ollama pull ${options.model}\``,
      });
    }
    const body = (await response.json()) as { message?: ChatMessage };
    const message = body.message;
    if (!message) throw new PyroError("unavailable", `the endpoint at ${options.url} answered without a chat message: is it Ollama-compatible (/api/chat)?`, { hint: "point --url at an Ollama server or a compatible one" });
    messages.push(message);
    if (!message.tool_calls?.length) return `[demo] model=${options.model} answer=${JSON.stringify(message.content.trim())}`;
    for (const call of message.tool_calls) {
      const command = String(call.function.arguments.command ?? "");
      log(`[demo] tool=vm_run command=${JSON.stringify(command)}`);
      const result = await pyro.runInVm({ environment: "debian:12", command, allow_host_compat: options.allowHostCompat === true });
      log(`[demo] exit_code=${result.exit_code}`);
      messages.push({ role: "tool", content: JSON.stringify({ exit_code: result.exit_code, stdout: result.stdout, stderr: result.stderr }) });
    }
  }
  throw new PyroError("timeout", "the model kept calling tools without answering", { hint: "try another model with --model" });
}

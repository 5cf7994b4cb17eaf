import { createServer, type IncomingMessage, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";

/** The wire protocols the scripted server speaks. */
export type ModelProtocol = "responses" | "chat" | "ollama";

/** One request from a client, read the same way whatever its protocol. */
export interface ModelRequest {
  protocol: ModelProtocol;
  model: string;
  /** Names of the tools the client offered. */
  tools: string[];
  /** Tool results the client sent back, in order (`content` as sent: usually JSON text). */
  toolResults: Array<{ callId: string | undefined; content: string }>;
}

/** What the scripted model answers: tool calls, or a final text. */
export type ModelReply = { toolCalls: Array<{ name: string; arguments: Record<string, unknown> }> } | { text: string };

/** One scripted turn: checks the request (throwing fails the turn) and says what the model answers. */
export type ModelTurn = (request: ModelRequest) => ModelReply;

/** A scripted model server on 127.0.0.1. */
export interface ModelServer {
  /** Base URL, e.g. `http://127.0.0.1:PORT` (OpenAI clients add `/v1`). */
  url: string;
  requests: ModelRequest[];
  /** Turn checks that failed, and requests past the script; the test asserts none. */
  failures: string[];
  close: () => Promise<void>;
}

type Body = Record<string, unknown> & { model?: string; tools?: unknown[]; input?: unknown; messages?: unknown[] };

function readBody(req: IncomingMessage): Promise<Body> {
  return new Promise((resolve, reject) => {
    let text = "";
    req.setEncoding("utf8").on("data", (chunk: string) => (text += chunk));
    req.on("end", () => {
      try {
        resolve(JSON.parse(text || "{}") as Body);
      } catch (error) {
        reject(error);
      }
    });
    req.on("error", reject);
  });
}

function normalise(protocol: ModelProtocol, body: Body): ModelRequest {
  const tools = (body.tools ?? []).map((tool) => {
    const t = tool as { name?: string; function?: { name?: string } };
    return t.name ?? t.function?.name ?? "?";
  });
  const items = (protocol === "responses" ? (Array.isArray(body.input) ? body.input : []) : (body.messages ?? [])) as Array<Record<string, unknown>>;
  const toolResults = items
    .filter((item) => item.type === "function_call_output" || item.role === "tool")
    .map((item) => ({
      callId: (item.call_id ?? item.tool_call_id) as string | undefined,
      content: typeof item.output === "string" ? item.output : typeof item.content === "string" ? item.content : JSON.stringify(item.content ?? item.output),
    }));
  return { protocol, model: String(body.model ?? ""), tools, toolResults };
}

function render(protocol: ModelProtocol, reply: ModelReply, turn: number, model: string): unknown {
  const calls = "toolCalls" in reply ? reply.toolCalls : [];
  const text = "text" in reply ? reply.text : null;
  const created = Math.floor(Date.now() / 1000);
  if (protocol === "responses") {
    const output =
      text === null
        ? calls.map((call, i) => ({ type: "function_call", id: `fc_${turn}_${i}`, call_id: `call_${turn}_${i}`, name: call.name, arguments: JSON.stringify(call.arguments), status: "completed" }))
        : [{ type: "message", id: `msg_${turn}`, role: "assistant", status: "completed", content: [{ type: "output_text", text, annotations: [] }] }];
    return { id: `resp_${turn}`, object: "response", created_at: created, status: "completed", model, output, usage: { input_tokens: 1, output_tokens: 1, total_tokens: 2 } };
  }
  if (protocol === "chat") {
    const message =
      text === null
        ? { role: "assistant", content: null, tool_calls: calls.map((call, i) => ({ id: `call_${turn}_${i}`, type: "function", function: { name: call.name, arguments: JSON.stringify(call.arguments) } })) }
        : { role: "assistant", content: text };
    return {
      id: `chatcmpl_${turn}`,
      object: "chat.completion",
      created,
      model,
      choices: [{ index: 0, message, finish_reason: text === null ? "tool_calls" : "stop" }],
      usage: { prompt_tokens: 1, completion_tokens: 1, total_tokens: 2 },
    };
  }
  const message = text === null ? { role: "assistant", content: "", tool_calls: calls.map((call) => ({ function: { name: call.name, arguments: call.arguments } })) } : { role: "assistant", content: text };
  return { model, created_at: new Date().toISOString(), message, done: true };
}

const ROUTES: Record<string, ModelProtocol> = {
  "/v1/responses": "responses",
  "/v1/chat/completions": "chat",
  "/api/chat": "ollama",
};

/**
 * Start a model server on 127.0.0.1 that speaks the OpenAI Responses API
 * (`POST /v1/responses`), OpenAI chat completions (`POST /v1/chat/completions`)
 * and Ollama's chat (`POST /api/chat`), without streaming. Each request plays
 * the next turn of `script`: the turn checks what the client sent (the tools
 * it offered, the tool results it returns) and says what the model answers.
 */
export async function startModelServer(script: ModelTurn[]): Promise<ModelServer> {
  const requests: ModelRequest[] = [];
  const failures: string[] = [];
  const server = createServer((req: IncomingMessage, res: ServerResponse) => {
    const protocol = ROUTES[req.url ?? ""];
    void (async () => {
      if (req.method !== "POST" || !protocol) {
        res.writeHead(404, { "content-type": "application/json" }).end(JSON.stringify({ error: { message: `no route ${req.method} ${req.url}` } }));
        return;
      }
      const body = await readBody(req);
      const request = normalise(protocol, body);
      const turn = requests.push(request) - 1;
      const play = script[turn];
      let reply: ModelReply;
      try {
        if (!play) throw new Error(`request ${turn + 1} is past the script's ${script.length} turns`);
        reply = play(request);
      } catch (error) {
        failures.push(`turn ${turn + 1}: ${(error as Error).message}`);
        res.writeHead(500, { "content-type": "application/json" }).end(JSON.stringify({ error: { message: (error as Error).message } }));
        return;
      }
      res.writeHead(200, { "content-type": "application/json" }).end(JSON.stringify(render(protocol, reply, turn, request.model)));
    })().catch((error: unknown) => {
      failures.push(`server: ${(error as Error).message}`);
      res.writeHead(500).end();
    });
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    requests,
    failures,
    close: () => new Promise((resolve) => server.close(() => resolve())),
  };
}

import { PassThrough } from "node:stream";
import { describe, expect, it } from "vitest";
import type { JSONRPCMessage } from "@modelcontextprotocol/sdk/types.js";
import { LineTransport, idOfSkippedLine } from "../../src/mcp/line-transport.js";

/** A transport over two in-memory pipes, with what it delivered and what it answered. */
async function open(maxLineBytes: number) {
  const input = new PassThrough();
  const output = new PassThrough();
  const transport = new LineTransport(input, output, maxLineBytes);
  const delivered: JSONRPCMessage[] = [];
  let closed = false;
  transport.onmessage = (message) => delivered.push(message);
  transport.onclose = () => (closed = true);
  let written = "";
  output.on("data", (chunk: Buffer) => (written += chunk.toString("utf8")));
  await transport.start();
  const settle = () => new Promise((resolve) => setImmediate(resolve));
  return {
    input,
    delivered,
    answers: () => written.split("\n").filter(Boolean).map((line) => JSON.parse(line) as { id: unknown; error: { code: number; message: string } }),
    closed: () => closed,
    settle,
  };
}

const ping = (id: number) => JSON.stringify({ jsonrpc: "2.0", id, method: "ping" });

describe("LineTransport: MCP lines on stdio with a bound that does not end the session", () => {
  it("skips a line over the bound, answers it with its id and -32600, and delivers the next line", async () => {
    const t = await open(1000);
    const huge = JSON.stringify({ method: "tools/call", params: { name: "vm_run", arguments: { command: "x".repeat(5000) } }, jsonrpc: "2.0", id: 41 });
    // In small chunks, as a pipe delivers it: the bound must hold across chunks.
    for (let at = 0; at < huge.length; at += 300) t.input.write(huge.slice(at, at + 300));
    t.input.write(`\n${ping(42)}\n`);
    await t.settle();
    expect(t.answers()).toEqual([{ jsonrpc: "2.0", id: 41, error: expect.objectContaining({ code: -32600, message: expect.stringContaining(`${huge.length} bytes is larger than the server's limit of 1000 bytes`) }) }]);
    expect(t.delivered).toEqual([{ jsonrpc: "2.0", id: 42, method: "ping" }]);
    expect(t.closed()).toBe(false);
  });

  it("accepts a line of exactly the bound, and CRLF line ends", async () => {
    const line = ping(7);
    const t = await open(Buffer.byteLength(line));
    t.input.write(`${line}\n{"jsonrpc":"2.0","id":8,"method":"p"}\r\n`);
    await t.settle();
    expect(t.delivered.map((m) => (m as { id: number }).id)).toEqual([7, 8]);
    expect(t.answers()).toEqual([]);
  });

  it("answers a line that is not JSON with -32700 and id null, and one that is not JSON-RPC with -32600 and its id", async () => {
    const t = await open(1000);
    t.input.write(`not json\n{"id": 3, "hello": true}\n\n${ping(4)}\n`);
    await t.settle();
    const answers = t.answers();
    expect(answers.map((a) => [a.id, a.error.code])).toEqual([
      [null, -32700],
      [3, -32600],
    ]);
    expect(t.delivered).toEqual([{ jsonrpc: "2.0", id: 4, method: "ping" }]);
  });

  it("closes when its input ends", async () => {
    const t = await open(1000);
    t.input.end();
    await t.settle();
    expect(t.closed()).toBe(true);
  });

  it("reads the id of a skipped line from either end, never from inside it", () => {
    expect(idOfSkippedLine('{"jsonrpc":"2.0","id":"a-1","method":"tools/call","params":{"x":"', '"}}')).toBe("a-1");
    expect(idOfSkippedLine('{"method":"tools/call","params":{"arguments":{"command":"', 'xx"}},"jsonrpc":"2.0","id":12}\r')).toBe(12);
    // An "id" that closes a nested object is not the request's.
    expect(idOfSkippedLine('{"method":"x","params":{"a":"', 'x","id":5}}')).toBeNull();
    expect(idOfSkippedLine('{"method":"notifications/x","params":{"a":"', 'x"}}')).toBeNull();
  });
});

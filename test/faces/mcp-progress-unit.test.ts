import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { callProgress, HEARTBEAT_MS, MESSAGE_CHARS, OUTPUT_EVERY_MS, type ProgressNotification } from "../../src/mcp/progress.js";

describe("progress notifications of one MCP tool call", () => {
  let sent: ProgressNotification["params"][];
  const send = async (n: ProgressNotification) => void sent.push(n.params);
  beforeEach(() => {
    sent = [];
    vi.useFakeTimers();
  });
  afterEach(() => vi.useRealTimers());

  it("sends a heartbeat after a quiet stretch (a readiness wait, a boot), and nothing after finish", async () => {
    const progress = callProgress("tok", send, false);
    progress.options.onProgress?.("[service] phase=wait-ready");
    await vi.advanceTimersByTimeAsync(HEARTBEAT_MS - 100);
    expect(sent.map((p) => p.message)).toEqual(["[service] phase=wait-ready"]);
    await vi.advanceTimersByTimeAsync(200);
    expect(sent.at(-1)?.message).toMatch(/^running for \d+ s$/);
    await progress.finish();
    const count = sent.length;
    await vi.advanceTimersByTimeAsync(HEARTBEAT_MS * 3);
    progress.options.onProgress?.("late");
    expect(sent.length).toBe(count);
    expect(sent.map((p) => p.progress)).toEqual(sent.map((_, i) => i + 1));
    expect(sent.every((p) => p.progressToken === "tok")).toBe(true);
  });

  it("batches a flood of output lines into a few bounded notifications; finish sends the unfinished last line", async () => {
    const progress = callProgress(7, send, true);
    for (let i = 0; i < 10_000; i++) progress.options.onStdout?.(`line ${i}\n`);
    progress.options.onStderr?.("no newline yet");
    await vi.advanceTimersByTimeAsync(OUTPUT_EVERY_MS);
    expect(sent).toHaveLength(1);
    expect(sent[0]!.message!.length).toBeLessThanOrEqual(MESSAGE_CHARS + 1);
    expect(sent[0]!.message).toMatch(/line 9999$/);
    await progress.finish();
    expect(sent.map((p) => p.message)).toEqual([sent[0]!.message, "no newline yet"]);
  });

  it("takes no output listeners for operations that run no command", () => {
    const progress = callProgress("t", send, false);
    expect(progress.options.onStdout).toBeUndefined();
    expect(progress.options.onStderr).toBeUndefined();
    return progress.finish();
  });
});

import { describe, expect, it } from "vitest";
import { sliceCommandOutput } from "../../src/core/workspaces/command-output.js";
import { secretPatterns } from "../../src/core/workspaces/redaction.js";

const window = (text: string, start = 0, alive = true) => ({ start, data: Buffer.from(text, "utf8"), alive });

describe("a background command's output slice", () => {
  it("returns at most max_bytes of the guest's bytes from the cursor, and where to go on", () => {
    const slice = sliceCommandOutput(window("0123456789", 0, false), 2, 5, []);
    expect(slice).toEqual({ output: "23456", cursor: 2, nextCursor: 7, dropped: 0 });
    // Reads that follow next_cursor cover the output exactly once.
    let cursor = 0;
    let all = "";
    while (cursor < 10) {
      const next = sliceCommandOutput(window("0123456789", 0, false), cursor, 3, []);
      all += next.output;
      cursor = next.nextCursor;
    }
    expect(all).toBe("0123456789");
  });

  it("counts what the guest no longer kept as dropped", () => {
    expect(sliceCommandOutput(window("tail", 1000, false), 10, 100, [])).toEqual({ output: "tail", cursor: 1000, nextCursor: 1004, dropped: 990 });
  });

  it("never ends inside a UTF-8 character, and takes one that starts at the cursor whole", () => {
    const text = "aé€😀"; // 1 + 2 + 3 + 4 bytes
    expect(sliceCommandOutput(window(text, 0, false), 0, 2, [])).toMatchObject({ output: "a", nextCursor: 1 });
    expect(sliceCommandOutput(window(text, 0, false), 1, 1, [])).toMatchObject({ output: "é", nextCursor: 3 });
    expect(sliceCommandOutput(window(text, 0, false), 3, 5, [])).toMatchObject({ output: "€", nextCursor: 6 });
    expect(sliceCommandOutput(window(text, 0, false), 6, 4, [])).toMatchObject({ output: "😀", nextCursor: 10 });
    // A character whose last bytes have not arrived yet waits for them.
    expect(sliceCommandOutput({ start: 0, data: Buffer.from(text, "utf8").subarray(0, 8), alive: true }, 6, 10, [])).toMatchObject({ output: "", nextCursor: 6 });
  });

  it("redacts a secret split across two reads, and never cuts one", () => {
    const patterns = secretPatterns({ TOKEN: "hunter2-secret" });
    // The secret's first half is the end of what the command printed so far: held back.
    const first = sliceCommandOutput(window("log: hunter2-se"), 0, 100, patterns);
    expect(first).toMatchObject({ output: "log: ", nextCursor: 5 });
    const second = sliceCommandOutput(window("log: hunter2-secret done"), first.nextCursor, 100, patterns);
    expect(second.output).toBe("[REDACTED] done");
    // A limit inside the secret stops before it, or takes it whole when it starts at the cursor.
    expect(sliceCommandOutput(window("ab hunter2-secret", 0, false), 0, 6, patterns)).toMatchObject({ output: "ab ", nextCursor: 3 });
    expect(sliceCommandOutput(window("ab hunter2-secret!", 0, false), 3, 2, patterns)).toMatchObject({ output: "[REDACTED]", nextCursor: 17 });
    // A secret that began before the cursor (fetched as look-back) is still recognised.
    expect(sliceCommandOutput(window("xx hunter2-secret yy", 0, false), 8, 100, patterns).output).toBe("[REDACTED] yy");
  });
});

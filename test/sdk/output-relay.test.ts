import { describe, expect, it } from "vitest";
import { OutputRelay } from "../../src/core/output-relay.js";
import { secretPatterns } from "../../src/core/workspaces/redaction.js";

/** Feed `text` to a relay cut at `cuts` (byte offsets); the chunks it emits. */
function relayed(text: string, cuts: number[], secrets: Record<string, string>): string[] {
  const chunks: string[] = [];
  const relay = new OutputRelay(secretPatterns(secrets), (chunk) => chunks.push(chunk));
  const bytes = Buffer.from(text, "utf8");
  let from = 0;
  for (const cut of [...cuts, bytes.length]) {
    relay.push(bytes.subarray(from, cut));
    from = cut;
  }
  relay.end();
  return chunks;
}

describe("the output relay of streamed command output", () => {
  const secret = "hunter2-Sécret";
  const text = `token=${secret} and again ${secret}\nünïcødé ✓ done\n`;
  const expected = `token=[REDACTED] and again [REDACTED]\nünïcødé ✓ done\n`;

  it("redacts a secret cut at every possible byte, and never emits a piece of it", () => {
    const length = Buffer.byteLength(text);
    for (let cut = 1; cut < length; cut++) {
      const chunks = relayed(text, [cut], { TOKEN: secret });
      expect(chunks.join(""), `cut at ${cut}`).toBe(expected);
      for (const chunk of chunks) {
        // No chunk ends with a prefix of the secret of 3+ characters, nor holds a broken character.
        for (let n = 3; n < secret.length; n++) expect(chunk.endsWith(secret.slice(0, n)), `cut at ${cut}: ${JSON.stringify(chunk)}`).toBe(false);
        expect(chunk).not.toContain("\uFFFD");
      }
    }
  });

  it("redacts across many small chunks (one byte at a time) and keeps the order", () => {
    const bytes = Buffer.byteLength(text);
    const chunks = relayed(text, Array.from({ length: bytes - 1 }, (_, i) => i + 1), { TOKEN: secret });
    expect(chunks.join("")).toBe(expected);
    expect(chunks.length).toBeGreaterThan(10);
  });

  it("holds a short secret's match back while a longer secret may still follow", () => {
    const chunks = relayed("x abc", [], { A: "abc", B: "abcdef" });
    expect(chunks.join("")).toBe("x [REDACTED]");
    const longer = relayed("x abcdef y", [5], { A: "abc", B: "abcdef" });
    expect(longer.join("")).toBe("x [REDACTED] y");
    expect(longer.join("")).not.toContain("def");
  });

  it("passes text through at once without secrets, a cut UTF-8 character joined with its rest", () => {
    const chunks = relayed("é✓", [1, 3], {});
    expect(chunks).toEqual(["é", "✓"]);
    // An unfinished character at the very end is not dropped silently.
    const cutOff = new OutputRelay([], (chunk) => chunks.push(chunk));
    cutOff.push(Buffer.from([0xe2, 0x9c]));
    cutOff.end();
    expect(chunks.at(-1)).toBe("\uFFFD");
  });

  // The tail check used to compare every possible prefix length per chunk: 7.2 s for this, now ~0.1 s.
  it("keeps up with a long build's output under a 64 KiB secret (the largest allowed)", () => {
    const big = `${"K".repeat(64 * 1024 - 1)}!`;
    let emitted = 0;
    const relay = new OutputRelay(secretPatterns({ KEY: big }), (chunk) => (emitted += chunk.length));
    const chunk = Buffer.from("build output line with some text\n".repeat(500));
    const started = performance.now();
    for (let i = 0; i < 500; i++) relay.push(chunk);
    relay.end();
    expect(performance.now() - started).toBeLessThan(2_500);
    expect(emitted).toBe(chunk.length * 500);
  });
});

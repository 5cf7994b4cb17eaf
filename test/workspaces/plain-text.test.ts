import { describe, expect, it } from "vitest";
import { plainText, unfinishedEscapeAt } from "../../src/core/workspaces/plain-text.js";

const ESC = "\u001b";

describe("plainText: terminal output as a model should read it", () => {
  it("removes colours, cursor moves, erases and bracketed-paste toggles", () => {
    const raw = `${ESC}[?2004h${ESC}[01;32mroot@ws${ESC}[00m:${ESC}[01;34m/workspace${ESC}[00m# ls\r\n${ESC}[0m${ESC}[01;34msrc${ESC}[0m  README\r\n${ESC}[2K${ESC}[1G${ESC}[?2004l`;
    expect(plainText(raw)).toBe("root@ws:/workspace# ls\nsrc  README\n");
  });

  it("removes OSC titles and hyperlinks whose payload has spaces, ended by BEL or ST", () => {
    const raw = `${ESC}]0;root@ws: /workspace/my dir\u0007$ ${ESC}]8;;http://x/a b${ESC}\\link${ESC}]8;;${ESC}\\ done\n`;
    expect(plainText(raw)).toBe("$ link done\n");
  });

  it("resolves carriage-return overwrites and backspaces as a terminal shows them", () => {
    expect(plainText("progress 10%\rprogress 55%\rprogress 100%\r\n")).toBe("progress 100%\n");
    expect(plainText("abcdef\rXY\n")).toBe("XYcdef\n");
    expect(plainText("helo\b\bLO\n")).toBe("heLO\n");
    expect(plainText("abc\b\bX\n")).toBe("aXc\n");
  });

  it("drops other control characters but keeps tabs, newlines and non-ASCII text", () => {
    expect(plainText(`a\u0007b\u000ec${ESC}(Bd\té ✓ 日本\n`)).toBe("abcd\té ✓ 日本\n");
  });
});

describe("unfinishedEscapeAt: where a read must stop so a sequence is not cut", () => {
  const at = (text: string) => unfinishedEscapeAt(Buffer.from(text, "utf8"));
  it("finds a CSI, a bare ESC, a charset designation and an OSC still being printed", () => {
    expect(at(`red${ESC}[3`)).toBe(3);
    expect(at(`x${ESC}`)).toBe(1);
    expect(at(`x${ESC}(`)).toBe(1);
    expect(at(`ab${ESC}]0;title so far`)).toBe(2);
    // The ESC of a not-yet-complete ST is inside the OSC, which starts earlier.
    expect(at(`ab${ESC}]0;title${ESC}`)).toBe(2);
  });
  it("finds nothing when every sequence is complete", () => {
    expect(at(`${ESC}[31mred${ESC}[0m\n`)).toBe(-1);
    expect(at(`${ESC}]0;t\u0007x`)).toBe(-1);
    expect(at(`${ESC}]0;t${ESC}\\x`)).toBe(-1);
    expect(at(`${ESC}(Bx`)).toBe(-1);
    expect(at("plain ✓")).toBe(-1);
  });
  it("gives up on a sequence longer than 4 KiB (it is not one)", () => {
    expect(at(`${ESC}]${"x".repeat(5000)}`)).toBe(-1);
  });
});

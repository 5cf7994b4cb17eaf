import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { ERROR_CODES, PyroError, TROUBLESHOOTING_PAGE } from "../../src/util/errors.js";
import { fileAnchors } from "../helpers/markdown.js";
import { runCli } from "../helpers/cli.js";
import { pyroEnv, tempStateDir } from "../helpers/env.js";

describe("every error points to its troubleshooting entry", () => {
  it("docs/troubleshooting.md has an entry for every error code, and nothing else at that level", () => {
    const anchors = fileAnchors(TROUBLESHOOTING_PAGE);
    for (const code of ERROR_CODES) expect(anchors, `no entry for ${code}`).toContain(code);
    const entries = readFileSync(TROUBLESHOOTING_PAGE, "utf8").split("\n").filter((line) => line.startsWith("## ")).map((line) => line.slice(3));
    expect(entries.sort()).toEqual([...ERROR_CODES].sort());
  });

  it("each PyroError's docs link is an anchor that exists, in its JSON and in its description", () => {
    const anchors = fileAnchors(TROUBLESHOOTING_PAGE);
    for (const code of ERROR_CODES) {
      const error = new PyroError(code, "m", { hint: "h" });
      const [page, anchor] = error.docs.split("#");
      expect(page).toBe(TROUBLESHOOTING_PAGE);
      expect(anchors).toContain(anchor);
      expect(error.toJSON().error.docs).toBe(error.docs);
      expect(error.describe()).toBe(`m\nhint: h\nsee: ${error.docs}`);
    }
  });

  it("the CLI prints the link after the hint, and --json carries it", async () => {
    const state = tempStateDir();
    try {
      const human = await runCli(["workspace", "status", "ws-0123456789abcdef"], pyroEnv(state.dir));
      expect(human.code).not.toBe(0);
      expect(human.stderr).toMatch(/^error: no workspace with id .*\nhint: .+\nsee: docs\/troubleshooting\.md#not_found\n$/s);
      const json = await runCli(["workspace", "status", "ws-0123456789abcdef", "--json"], pyroEnv(state.dir));
      expect(JSON.parse(json.stdout)).toMatchObject({ error: { code: "not_found", docs: "docs/troubleshooting.md#not_found" } });
    } finally {
      state.cleanup();
    }
  });
});

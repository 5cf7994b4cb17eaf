import { readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { OPERATIONS, OPERATION_NAMES } from "../../src/index.js";
import { PUBLIC_CONTRACT_PATH, renderPublicContract } from "../../scripts/public-contract.js";
import { REPO_ROOT } from "../helpers/env.js";

const page = () => readFileSync(join(REPO_ROOT, PUBLIC_CONTRACT_PATH), "utf8");

describe("docs/public-contract.md", () => {
  it("is what the current catalog and CLI render (run `npm run generate` when this fails)", () => {
    expect(page()).toBe(renderPublicContract());
  });

  it("has a section for every operation, naming its SDK method and MCP tool", () => {
    const text = page();
    for (const name of OPERATION_NAMES) {
      expect(text).toContain(`- SDK: \`pyro.${name}(…)\``);
      const tool = OPERATIONS[name].mcp;
      if (tool) expect(text).toContain(`### ${tool}\n`);
    }
  });

  it("lists the real CLI flags of a bound command, with their defaults", () => {
    const section = page().split("### workspace_exec\n")[1]!.split("\n### ")[0]!;
    expect(section).toContain("- CLI: `pyro workspace exec");
    expect(section).toMatch(/\| `--timeout-seconds <n>` \| .*default 30.* \|/);
    expect(section).toMatch(/\| `workspace_id` \| string \| required \|/);
  });
});

import { existsSync, readdirSync, readFileSync, statSync } from "node:fs";
import { dirname, join, relative } from "node:path";
import { describe, expect, it } from "vitest";
import { REPO_ROOT } from "../helpers/env.js";
import { fileAnchors, headingAnchors, relativeLinks } from "../helpers/markdown.js";

/** The Markdown files users read: the README, the changelog, docs/ and examples/. */
function userMarkdown(): string[] {
  const found = ["README.md", "CHANGELOG.md"].map((file) => join(REPO_ROOT, file));
  const walk = (dir: string): void => {
    for (const entry of readdirSync(dir)) {
      const path = join(dir, entry);
      if (statSync(path).isDirectory()) walk(path);
      else if (entry.endsWith(".md")) found.push(path);
    }
  };
  walk(join(REPO_ROOT, "docs"));
  walk(join(REPO_ROOT, "examples"));
  return found;
}

describe("the user docs' links", () => {
  it("point to files that exist, and to headings that exist there", () => {
    const broken: string[] = [];
    for (const file of userMarkdown()) {
      for (const link of relativeLinks(readFileSync(file, "utf8"))) {
        const [target, anchor] = link.split("#") as [string, string | undefined];
        const path = target === "" ? file : join(dirname(file), target);
        const where = `${relative(REPO_ROOT, file)} → ${link}`;
        if (!existsSync(path)) broken.push(`${where}: no such file`);
        else if (anchor && path.endsWith(".md") && !fileAnchors(path).has(anchor)) broken.push(`${where}: no such heading`);
      }
    }
    expect(broken).toEqual([]);
  });

  it("are checked for real: a missing file and a missing heading are both caught", () => {
    expect(relativeLinks("see [a](missing.md#x) and [b](https://example.com)\n```\n[c](in-code.md)\n```")).toEqual(["missing.md#x"]);
    expect(headingAnchors("# Install\n## Quick start: one command\n## Quick start: one command")).toEqual(
      new Set(["install", "quick-start-one-command", "quick-start-one-command-1"]),
    );
  });
});

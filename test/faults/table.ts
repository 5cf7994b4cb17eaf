import { existsSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { REPO_ROOT } from "../helpers/env.js";

/** One cell of the fault matrix, as the run found it. */
export interface Cell {
  kind: "workspace" | "vm";
  step: string;
  victim: "vmm" | "agent" | "sdk";
  outcome: "pass" | "n/a";
  /** Whether the kill landed while the step ran (false: the step had finished first). */
  landed?: boolean;
  /** The state status reported after the fault. */
  status?: string;
  /** What the next call did: "works" or "clear error (code)". */
  next?: string;
  note?: string;
}

const RESULTS = join(REPO_ROOT, "bench", "results");
const DOC = join(REPO_ROOT, "docs", "reliability.md");
const BEGIN = "<!-- fault-matrix:begin (written by test/faults/matrix.test.ts) -->";
const END = "<!-- fault-matrix:end -->";
const VICTIMS = { vmm: "VMM / sandbox", agent: "guest agent", sdk: "SDK process" } as const;

/**
 * Write one backend's cells to bench/results/fault-matrix-<backend>.json,
 * then regenerate the table in docs/reliability.md from every backend's file.
 * The caller writes only a run in which every cell ran and passed.
 */
export function writeMatrix(backend: string, cells: Cell[], seconds: number): void {
  mkdirSync(RESULTS, { recursive: true });
  writeFileSync(join(RESULTS, `fault-matrix-${backend}.json`), `${JSON.stringify({ backend, seconds, date: new Date().toISOString().slice(0, 10), cells }, null, 2)}\n`);
  if (!existsSync(DOC)) return;
  const doc = readFileSync(DOC, "utf8");
  const begin = doc.indexOf(BEGIN);
  const end = doc.indexOf(END);
  if (begin < 0 || end < begin) return;
  writeFileSync(DOC, `${doc.slice(0, begin + BEGIN.length)}\n${renderTables()}\n${doc.slice(end)}`);
}

function renderTables(): string {
  const out: string[] = [];
  for (const backend of ["sandbox", "qemu"]) {
    const file = join(RESULTS, `fault-matrix-${backend}.json`);
    if (!existsSync(file)) continue;
    const run = JSON.parse(readFileSync(file, "utf8")) as { seconds: number; date: string; cells: Cell[] };
    const rows = [...new Set(run.cells.map((c) => `${c.kind} ${c.step}`))];
    const passed = run.cells.filter((c) => c.outcome === "pass").length;
    out.push(`**${backend}** (${run.date}: ${passed} cells pass, ${run.cells.length - passed} not applicable; ${run.seconds} s)`, "");
    out.push(`| step | ${Object.values(VICTIMS).join(" | ")} |`, `|---|${Object.keys(VICTIMS).map(() => "---").join("|")}|`);
    for (const row of rows) {
      const cols = (Object.keys(VICTIMS) as Cell["victim"][]).map((victim) => {
        const cell = run.cells.find((c) => `${c.kind} ${c.step}` === row && c.victim === victim);
        if (!cell) return "not run";
        if (cell.outcome === "n/a") return "n/a";
        const after = cell.status === "gone" ? "gone" : `${cell.status} → ${cell.next}`;
        return `✓ ${after}${cell.landed ? "" : " (step ended first)"}`;
      });
      out.push(`| ${row} | ${cols.join(" | ")} |`);
    }
    out.push("");
  }
  return out.join("\n");
}

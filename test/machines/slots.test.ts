import { spawn, type ChildProcess } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { lockHolder } from "../../src/util/lock.js";
import { acquireSlot, slotHolders, slotPath } from "../../src/util/slots.js";
import { writeTranspiledModules } from "../helpers/transpiled.js";

// Counting boot slots (util/slots.ts, used by core/machines/boot-slots.ts), proven with real processes.
const root = mkdtempSync(join(tmpdir(), "pyro-slots-"));
const moduleDir = join(root, "mod");

beforeAll(() => {
  // Plain node cannot load .ts: the real modules, transpiled, for the child processes.
  writeTranspiledModules(moduleDir, ["util/slots", "util/lock", "util/errors", "util/process", "util/start-gate"]);
  // Child: take a slot, log when it holds it (after the take) and until when (before the release), hold it HOLD ms.
  writeFileSync(
    join(moduleDir, "child.mjs"),
    `import { appendFileSync } from "node:fs";
import { acquireSlot } from "./util/slots.js";
const [dir, count, hold, log] = process.argv.slice(2);
const stamp = () => performance.timeOrigin + performance.now();
const slot = await acquireSlot(dir, Number(count), { pollMs: 20 });
const from = stamp();
process.stdout.write("held\\n");
if (hold === "forever") await new Promise(() => setInterval(() => undefined, 1000));
await new Promise((r) => setTimeout(r, Number(hold)));
appendFileSync(log, JSON.stringify({ pid: process.pid, index: slot.index, from, to: stamp() }) + "\\n");
await slot.release();
`,
  );
});

afterAll(() => rmSync(root, { recursive: true, force: true }));

function child(dir: string, count: number, hold: number | "forever", log: string): ChildProcess {
  return spawn(process.execPath, [join(moduleDir, "child.mjs"), dir, String(count), String(hold), log], { stdio: ["ignore", "pipe", "inherit"] });
}

function exited(proc: ChildProcess): Promise<number | null> {
  return new Promise((resolve) => (proc.exitCode !== null ? resolve(proc.exitCode) : proc.once("exit", (code) => resolve(code))));
}

function holding(proc: ChildProcess): Promise<void> {
  return new Promise((resolve, reject) => {
    proc.stdout!.on("data", (d: Buffer) => (d.toString().includes("held") ? resolve() : undefined));
    proc.once("exit", (code) => reject(new Error(`child exited ${code} before it held a slot`)));
  });
}

/** The most intervals that overlap at any instant. */
function peak(intervals: { from: number; to: number }[]): number {
  const edges = intervals.flatMap((i) => [
    { at: i.from, d: 1 },
    { at: i.to, d: -1 },
  ]);
  // At equal instants an end comes first: touching intervals do not overlap.
  edges.sort((a, b) => a.at - b.at || a.d - b.d);
  let now = 0;
  let most = 0;
  for (const e of edges) {
    now += e.d;
    most = Math.max(most, now);
  }
  return most;
}

describe("counting slots across processes", () => {
  it("8 processes contending for 2 slots: never more than 2 hold one at once, and all finish", async () => {
    const dir = join(root, "contend");
    const log = join(root, "contend.log");
    writeFileSync(log, "");
    const procs = Array.from({ length: 8 }, () => child(dir, 2, 150, log));
    const codes = await Promise.all(procs.map(exited));
    expect(codes).toEqual(Array(8).fill(0));
    const held = readFileSync(log, "utf8").trim().split("\n").map((l) => JSON.parse(l) as { pid: number; index: number; from: number; to: number });
    expect(held).toHaveLength(8);
    // Each recorded interval lies inside the real holding time, so an overlap here is a real one.
    expect(peak(held)).toBeLessThanOrEqual(2);
    // And the slots were used: 8 × 150 ms through 2 slots overlapped somewhere.
    expect(peak(held)).toBe(2);
    expect(new Set(held.map((h) => h.index))).toEqual(new Set([0, 1]));
    expect(await slotHolders(dir, 2)).toEqual([]);
  }, 60_000);

  it("a holder killed with SIGKILL frees its slot for the next waiter", async () => {
    const dir = join(root, "killed");
    const holder = child(dir, 1, "forever", join(root, "killed.log"));
    await holding(holder);
    expect((await slotHolders(dir, 1)).map((h) => h.pid)).toEqual([holder.pid]);
    const waiting = acquireSlot(dir, 1, { pollMs: 20 });
    await new Promise((r) => setTimeout(r, 300));
    let got = false;
    void waiting.then(() => (got = true));
    await new Promise((r) => setTimeout(r, 50));
    expect(got).toBe(false);
    holder.kill("SIGKILL");
    await exited(holder);
    const started = Date.now();
    const slot = await waiting;
    expect(Date.now() - started).toBeLessThan(2000);
    expect((await lockHolder(slotPath(dir, 0)))?.pid).toBe(process.pid);
    await slot.release();
    expect(await lockHolder(slotPath(dir, 0))).toBeNull();
  }, 30_000);

  it("a cancelled waiter rejects at once with its reason and releases nothing it did not take", async () => {
    const dir = join(root, "cancel");
    const holder = child(dir, 1, "forever", join(root, "cancel.log"));
    try {
      await holding(holder);
      const controller = new AbortController();
      const waits: string[] = [];
      const waiting = acquireSlot(dir, 1, { signal: controller.signal, pollMs: 50, onWait: (holders) => waits.push(holders.map((h) => h.pid).join(",")) });
      await new Promise((r) => setTimeout(r, 200));
      const abortedAt = Date.now();
      controller.abort(new Error("cancelled by the test"));
      await expect(waiting).rejects.toThrow("cancelled by the test");
      expect(Date.now() - abortedAt).toBeLessThan(500);
      // It said whom it waited for, and the holder's slot is still the holder's.
      expect(waits).toEqual([String(holder.pid)]);
      expect((await lockHolder(slotPath(dir, 0)))?.pid).toBe(holder.pid);
      // Aborted before it starts: no slot taken even when one is free.
      const free = join(root, "cancel-free");
      await expect(acquireSlot(free, 2, { signal: AbortSignal.abort(new Error("already")) })).rejects.toThrow("already");
      expect(await slotHolders(free, 2)).toEqual([]);
    } finally {
      holder.kill("SIGKILL");
      await exited(holder);
    }
  }, 30_000);

  it("a release never frees a slot that another process took since", async () => {
    const dir = join(root, "steal");
    const slot = await acquireSlot(dir, 1);
    // Simulate this holder's lock being broken and retaken by another live process.
    const other = child(dir, 1, "forever", join(root, "steal.log"));
    try {
      rmSync(slotPath(dir, 0));
      await holding(other);
      await slot.release();
      expect((await lockHolder(slotPath(dir, 0)))?.pid).toBe(other.pid);
    } finally {
      other.kill("SIGKILL");
      await exited(other);
    }
  }, 30_000);
});

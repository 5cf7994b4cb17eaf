import { z } from "zod";
import { defineOperation } from "../operation.js";

const pooledMachine = z.object({
  pool_id: z.string(),
  backend: z.string(),
  environment: z.string(),
  vcpu_count: z.number().int(),
  mem_mib: z.number().int(),
  root_disk: z.enum(["overlay", "raw"]).describe("`raw` for workspaces, `overlay` for one-shot VMs"),
  state: z.enum(["starting", "restoring", "ready", "failed"]),
  age_seconds: z.number().int(),
  pid: z.number().int().nullable(),
  rss_bytes: z.number().int().nullable().describe("resident memory of its VMM process"),
});

/** The settings and machines of the pool, as status and doctor report them. */
export const poolSummary = z.object({
  size: z.number().int().describe("machines kept per recently used shape (PYRO_POOL_SIZE; 0 = off)"),
  idle_seconds: z.number().int().describe("a pooled machine older than this is dropped (PYRO_POOL_IDLE_SECONDS)"),
  count: z.number().int(),
});

export const statusPool = defineOperation({
  mcp: "pool_status",
  summary: "List the pooled machines: restored from their shape's boot snapshot and held paused, ready for the next VM or workspace of that shape",
  details:
    "QEMU only. A pooled machine costs memory but no CPU; one idle longer than PYRO_POOL_IDLE_SECONDS is dropped by the next pool use or vm_reap_expired. The pool is shared by every pyro process of the state directory.",
  input: z.object({}),
  result: poolSummary.extend({ machines: z.array(pooledMachine) }),
});

export const drainPool = defineOperation({
  mcp: "pool_drain",
  summary: "Kill every pooled machine and free its memory; the pool refills after the next VM or workspace of a shape",
  details: "Running VMs and workspaces are not touched. Returns the ids of the machines it ended. Use it to free memory (each pooled machine holds its guest's RAM) or before measuring a cold start; PYRO_POOL_SIZE=0 keeps the pool empty.",
  input: z.object({}),
  result: z.object({ drained: z.array(z.string()), count: z.number().int() }),
});

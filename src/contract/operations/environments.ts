import { z } from "zod";
import { defineOperation } from "../operation.js";
import { poolSummary } from "./pool.js";
import { environmentName } from "../common.js";

const environmentSummary = z.object({
  name: z.string(),
  description: z.string(),
  installed: z.boolean(),
});

export const listEnvironments = defineOperation({
  mcp: "vm_list_environments",
  summary: "List the environment catalog and what is installed",
  details: "Environment names (e.g. debian:12, debian:12-base, debian:12-build) are what the environment parameter of vm_run and workspace_create takes; a missing one is installed on first use, which takes a while.",
  input: z.object({}),
  result: z.object({ catalog_version: z.string(), environments: z.array(environmentSummary) }),
});

const installedDetails = z.object({
  name: z.string(),
  description: z.string(),
  installed: z.boolean(),
  suite: z.string().describe("Debian suite the environment is built from"),
  packages: z.array(z.string()).describe("Debian packages on top of the minbase variant"),
  source: z.string().nullable(),
  path: z.string().nullable(),
  size_bytes: z.number().int().nullable(),
  created_at: z.string().nullable(),
  digests: z.record(z.string(), z.string()),
  agent_version: z.string().nullable(),
  status: z.enum(["installed", "not_installed", "broken"]),
  problem: z.string().nullable().describe("Why a broken install is broken"),
  reference: z.string().nullable().describe("OCI reference it was pulled from (null for local builds)"),
  paths: z.object({ dir: z.string(), manifest: z.string(), rootfs_dir: z.string(), root_image: z.string() }),
  sizes: z.object({
    rootfs_bytes: z.number().int().nullable(),
    root_image_bytes: z.number().int().nullable(),
    root_image_disk_bytes: z.number().int().nullable(),
    oci_layer_bytes: z.number().int().nullable(),
  }),
  kernel: z
    .object({ release: z.string(), vmlinuz: z.string(), initramfs: z.string(), vmlinux: z.string().nullable() })
    .nullable()
    .describe("The shared guest kernel for VM backends, when installed"),
  boot_snapshots: z
    .array(z.object({ key: z.string(), backend: z.string(), path: z.string(), bytes: z.number().int(), created_at: z.string() }))
    .describe("Saved booted machines of this environment, one per machine shape: a VM of that shape resumes one instead of booting"),
  image: z
    .object({
      reference: z.string(),
      pinned: z.string().describe("registry/repository@sha256:…, what VMs and workspaces made from it record"),
      digest: z.string().describe("Manifest digest (the cache key: two tags of one digest share it)"),
      platform: z.string(),
      layers: z.array(z.object({ digest: z.string(), size_bytes: z.number().int(), media_type: z.string() })),
      size_bytes: z.number().int().describe("Bytes of its files, unpacked"),
      file_count: z.number().int(),
      pulled_at: z.string(),
      env: z.array(z.string()),
      working_dir: z.string().nullable(),
      user: z.string().nullable(),
    })
    .nullable()
    .optional()
    .describe("For an OCI image reference: what was pulled (null when it is not)"),
});

export const pullEnvironment = defineOperation({
  mcp: null,
  summary: "Install an environment: pull it from its OCI registry or build it from Debian's archive",
  input: z.object({ environment: environmentName }),
  result: installedDetails.extend({ pulled: z.boolean().describe("false when it was already installed") }),
});

export const inspectEnvironment = defineOperation({
  mcp: null,
  summary: "Show an environment's install state, paths, digests and size",
  input: z.object({ environment: environmentName }),
  result: installedDetails,
});

export const pruneEnvironments = defineOperation({
  mcp: null,
  summary: "Remove stale or broken cache entries and report what was freed",
  input: z.object({}),
  result: z.object({
    removed: z.array(z.object({ path: z.string(), reason: z.string(), bytes: z.number().int() })),
    freed_bytes: z.number().int(),
  }),
});

export const doctor = defineOperation({
  mcp: null,
  summary: "Check this host: platform, KVM, backends, environment cache, capabilities, networking",
  input: z.object({}),
  result: z.object({
    platform: z.string(),
    runtime: z.object({ ok: z.boolean(), detail: z.string() }),
    kvm: z.object({ exists: z.boolean(), readable: z.boolean(), writable: z.boolean(), standard_guests: z.boolean() }),
    environment_cache: z.string(),
    capabilities: z.object({ vm_boot: z.boolean(), guest_exec: z.boolean(), guest_network: z.boolean() }),
    networking: z.object({ tun: z.boolean(), ip_forward: z.boolean() }),
    backends: z.array(
      z.object({
        name: z.string(),
        usable: z.boolean(),
        reason: z.string().nullable(),
        fix: z.string().nullable(),
        details: z.record(z.string(), z.union([z.string(), z.number(), z.boolean()])),
      }),
    ),
    selected_backend: z.string().nullable(),
    selected_reason: z.string(),
    pool: poolSummary.describe("the pool of restored, paused machines (pyro pool status)"),
    boot_slots: z
      .object({
        slots: z.number().int().describe("machines of this state dir that may boot at once (PYRO_BOOT_SLOTS; 0 = no limit)"),
        booting: z.number().int().describe("slots held now by live processes"),
      })
      .describe("the boot admission limit: more machines than slots wait for one (phase=wait-boot-slot)"),
  }),
});

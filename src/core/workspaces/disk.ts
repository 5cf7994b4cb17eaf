import { execFile } from "node:child_process";
import { lstat, mkdir, rename, rm } from "node:fs/promises";
import { basename, dirname, join, posix, resolve } from "node:path";
import { promisify } from "node:util";
import { randomBytes } from "node:crypto";
import type { OperationResult, ParsedInput } from "../../contract/index.js";
import { PyroError } from "../../util/errors.js";
import { checkId } from "../ids.js";
import { debugfs, debugfsPath, parseLsP } from "./debugfs.js";
import { WORKSPACE_ROOT } from "./guest-paths.js";
import type { WorkspaceService } from "./service.js";

const run = promisify(execFile);

/** Guest state that only means something while the machine runs; never shown or exported. */
const RUNTIME_ONLY = ["/run/pyro-secrets", "/run/pyro-services"];
/** Most bytes `disk read` returns. */
const MAX_READ_BYTES = 1024 * 1024;
const MAX_WALK_ENTRIES = 10_000;

type DiskKind = "file" | "directory" | "symlink" | "other";

function kindOf(mode: number): DiskKind {
  switch (mode & 0o170000) {
    case 0o100000:
      return "file";
    case 0o040000:
      return "directory";
    case 0o120000:
      return "symlink";
    default:
      return "other";
  }
}

/** "a file", "a directory", "a symlink", "a special file (device, FIFO or socket)": a kind in a sentence. */
function describeKind(kind: DiskKind): string {
  return kind === "other" ? "a special file (device, FIFO or socket)" : `a ${kind}`;
}

/** Disk paths are relative to /workspace unless absolute. */
function diskPath(input: string): string {
  if (input.includes("\0")) throw new PyroError("invalid_argument", "disk paths cannot contain NUL bytes");
  return posix.resolve(WORKSPACE_ROOT, input);
}

function isRuntimeOnly(path: string): boolean {
  return RUNTIME_ONLY.some((dir) => path === dir || path.startsWith(`${dir}/`));
}

/** The raw disk of a stopped, guest-backed workspace, or a clear error saying why not. */
async function stoppedDisk(service: WorkspaceService, workspaceId: string): Promise<{ id: string; image: string }> {
  const record = await service.running(workspaceId, { allowStopped: true });
  const id = record.workspace_id;
  const machine = await service.machine(record);
  if (!machine.backend.capabilities.disk_tools || !machine.backend.rootDiskImage) {
    throw new PyroError("unsupported", `disk tools need a guest-backed workspace with a raw ext4 disk; workspace ${id} runs on the ${record.backend} backend, which has none`, {
      hint: "use workspace export or exec to read its files instead",
    });
  }
  if (record.state !== "stopped") {
    throw new PyroError("failed_precondition", `disk tools read a stopped workspace's disk offline; workspace ${id} is ${record.state}`, {
      hint: record.state === "running" ? `stop it first: pyro workspace stop ${id}` : `stop it first (pyro workspace stop ${id}) or reset it`,
    });
  }
  const image = machine.backend.rootDiskImage(machine.spec);
  if (!image) throw new PyroError("not_found", `workspace ${id} has no disk yet`);
  return { id, image };
}

/** Files and directories under the runtime-only paths of an image (deepest directories last). */
async function runtimeLeftovers(image: string): Promise<{ files: string[]; dirs: string[] }> {
  const files: string[] = [];
  const dirs: string[] = [];
  const queue = [...RUNTIME_ONLY];
  while (queue.length > 0 && files.length + dirs.length < MAX_WALK_ENTRIES) {
    const dir = queue.shift()!;
    const listing = await debugfs(image, [`ls -p ${debugfsPath(dir)}`]);
    for (const entry of parseLsP(listing.stdout.toString("utf8"))) {
      const path = `${dir}/${entry.name}`;
      if (kindOf(entry.mode) === "directory") {
        dirs.push(path);
        queue.push(path);
      } else files.push(path);
    }
  }
  return { files, dirs };
}

/** Zero the blocks of every runtime-only file of an image (a private copy), then remove them. */
async function scrub(image: string, leftovers: { files: string[]; dirs: string[] }): Promise<void> {
  const requests: string[] = [];
  for (const file of leftovers.files) {
    const blocks = await debugfs(image, [`blocks ${debugfsPath(file)}`]);
    for (const block of blocks.stdout.toString("utf8").split(/\s+/).filter((b) => /^\d+$/.test(b))) {
      requests.push(`zap_block -p 0 ${block}`);
    }
    requests.push(`rm ${debugfsPath(file)}`);
  }
  for (const dir of [...leftovers.dirs].reverse()) requests.push(`rmdir ${debugfsPath(dir)}`);
  if (requests.length === 0) return;
  const result = await debugfs(image, requests, { write: true });
  if (result.errors.length > 0) throw new PyroError("io_error", `cannot scrub runtime-only state from the disk copy: ${result.errors[0]}`);
}

async function copyImage(source: string, target: string): Promise<void> {
  try {
    await run("cp", ["--reflink=auto", "--sparse=always", "--", source, target]);
  } catch (error) {
    await rm(target, { force: true });
    throw new PyroError("io_error", `cannot copy the disk ${source}: ${((error as { stderr?: string }).stderr ?? (error as Error).message).trim()}`, { cause: error });
  }
}

/**
 * Run `fn` on an image safe to show: the disk itself when it holds no
 * runtime-only state (read-only debugfs), else a scrubbed private copy.
 * Under the workspace lock, so the workspace cannot start meanwhile.
 */
async function withInspectable<R>(service: WorkspaceService, workspaceId: string, fn: (image: string, id: string) => Promise<R>): Promise<R> {
  const id = checkId(workspaceId, "ws", "workspace");
  return service.records.locked(id, async () => {
    const { image } = await stoppedDisk(service, id);
    const leftovers = await runtimeLeftovers(image);
    if (leftovers.files.length === 0 && leftovers.dirs.length === 0) return fn(image, id);
    const copy = join(service.records.dir(id), `.disk-inspect-${randomBytes(6).toString("hex")}.ext4`);
    try {
      await copyImage(image, copy);
      await scrub(copy, leftovers);
      return await fn(copy, id);
    } finally {
      await rm(copy, { force: true });
    }
  });
}

async function statKind(image: string, path: string): Promise<{ kind: DiskKind; size: number; text: string }> {
  const result = await debugfs(image, [`stat ${debugfsPath(path)}`], { maxStdout: 64 * 1024 });
  const text = result.stdout.toString("utf8");
  const type = /Type: (\w+)/.exec(text)?.[1];
  if (!type) {
    throw new PyroError("not_found", `${path} does not exist on the workspace disk${result.errors[0] ? ` (${result.errors[0]})` : ""}`);
  }
  const kind: DiskKind = type === "regular" ? "file" : type === "directory" ? "directory" : type === "symlink" ? "symlink" : "other";
  return { kind, size: Number(/Size: (\d+)/.exec(text)?.[1] ?? 0), text };
}

type DiskListEntry = OperationResult<"listWorkspaceDisk">["entries"][number];

/** The entries of one directory of an image. */
async function listDirectory(image: string, path: string): Promise<DiskListEntry[]> {
  const listing = await debugfs(image, [`ls -p ${debugfsPath(path)}`]);
  return parseLsP(listing.stdout.toString("utf8")).map((entry) => ({
    path: posix.join(path, entry.name),
    kind: kindOf(entry.mode),
    size: entry.size,
    mode: (entry.mode & 0o7777).toString(8).padStart(4, "0"),
  }));
}

/**
 * Every entry below `root`, depth first (a directory, then what it holds),
 * symlinks not followed. More than {@link MAX_WALK_ENTRIES} is refused
 * rather than cut silently.
 */
async function walkDirectory(image: string, root: string): Promise<DiskListEntry[]> {
  const entries: DiskListEntry[] = [];
  const visit = async (dir: string): Promise<void> => {
    for (const entry of await listDirectory(image, dir)) {
      entries.push(entry);
      if (entries.length > MAX_WALK_ENTRIES) {
        throw new PyroError("limit_exceeded", `more than ${MAX_WALK_ENTRIES} entries below ${root}`, {
          hint: "list a subdirectory, or without --recursive",
        });
      }
      if (entry.kind === "directory") await visit(entry.path);
    }
  };
  await visit(root);
  return entries;
}

/** `workspace disk list`: one directory of a stopped workspace's disk, or (recursive) all below it. */
export async function listWorkspaceDisk(service: WorkspaceService, input: ParsedInput<"listWorkspaceDisk">): Promise<OperationResult<"listWorkspaceDisk">> {
  const path = diskPath(input.path);
  return withInspectable(service, input.workspace_id, async (image, id) => {
    const info = await statKind(image, path);
    if (info.kind !== "directory") throw new PyroError("invalid_argument", `${path} is ${describeKind(info.kind)}, not a directory`, { hint: "use disk read for files" });
    const entries = input.recursive ? await walkDirectory(image, path) : await listDirectory(image, path);
    return { workspace_id: id, path, entries };
  });
}

/** `workspace disk read`: a regular file of a stopped workspace's disk (at most `max_bytes`, 1 MiB at most; the guard redacts secrets). */
export async function readWorkspaceDisk(service: WorkspaceService, input: ParsedInput<"readWorkspaceDisk">): Promise<OperationResult<"readWorkspaceDisk">> {
  const path = diskPath(input.path);
  if (isRuntimeOnly(path)) throw new PyroError("invalid_argument", `${path} is runtime-only guest state and is never read from the disk`);
  return withInspectable(service, input.workspace_id, async (image, id) => {
    const info = await statKind(image, path);
    if (info.kind === "symlink") {
      const target = /Fast link dest: "(.*)"/.exec(info.text)?.[1];
      throw new PyroError("invalid_argument", `${path} is a symlink${target ? ` to ${target}` : ""}; disk read does not follow symlinks`, { hint: "read the path it points to" });
    }
    if (info.kind !== "file") throw new PyroError("invalid_argument", `${path} is ${describeKind(info.kind)}, not a regular file`);
    const maxBytes = Math.min(input.max_bytes, MAX_READ_BYTES);
    const result = await debugfs(image, [`cat ${debugfsPath(path)}`], { maxStdout: maxBytes });
    return { workspace_id: id, path, content: result.stdout.toString("utf8"), truncated: info.size > maxBytes, bytes: info.size };
  });
}

/**
 * `workspace disk export`: a scrubbed copy of a stopped workspace's raw ext4,
 * written beside the output and renamed into place. An existing directory or
 * symlink at the output is refused; an existing regular file is replaced.
 */
export async function exportWorkspaceDisk(service: WorkspaceService, input: ParsedInput<"exportWorkspaceDisk">): Promise<OperationResult<"exportWorkspaceDisk">> {
  const output = resolve(input.output_path);
  const id = checkId(input.workspace_id, "ws", "workspace");
  const existing = await lstat(output).catch(() => null);
  if (existing && !existing.isFile()) {
    throw new PyroError("already_exists", `the disk export output ${output} already exists and is not a regular file`, { hint: "choose a new .ext4 path" });
  }
  await mkdir(dirname(output), { recursive: true });
  const temp = join(dirname(output), `.${basename(output)}.pyro-${randomBytes(6).toString("hex")}.tmp`);
  try {
    await service.records.locked(id, async () => {
      const { image } = await stoppedDisk(service, id);
      await copyImage(image, temp);
      await scrub(temp, await runtimeLeftovers(temp));
    });
    await rename(temp, output);
  } finally {
    await rm(temp, { force: true });
  }
  return { workspace_id: id, output_path: output, bytes: (await lstat(output)).size };
}

import { createReadStream } from "node:fs";
import { stat } from "node:fs/promises";
import { resolve } from "node:path";
import { PassThrough, type Readable } from "node:stream";
import { createGunzip } from "node:zlib";
import { spawn } from "node:child_process";
import { PyroError } from "../../util/errors.js";
import type { WorkspaceSeed } from "./record.js";

/** A host directory or archive, opened as a plain tar stream for the agent to extract. */
export interface SeedSource {
  mode: WorkspaceSeed["mode"];
  sourcePath: string;
  open: () => Readable;
}

/**
 * Resolve a seed or sync source: a directory (archived without following
 * symlinks), or a `.tar`, `.tar.gz`, `.tgz` archive (decompressed here). The
 * agent keeps symlinks as links and refuses unsafe entries (absolute, `..`, writes through a
 * link that leaves the destination, devices, oversize); docs/architecture.md "Workspaces".
 * `what` names the path in errors ("seed path", "sync source").
 */
export async function openSource(path: string, what = "seed path"): Promise<SeedSource> {
  const sourcePath = resolve(path);
  let info;
  try {
    info = await stat(sourcePath);
  } catch {
    throw new PyroError("not_found", `${what} ${sourcePath} does not exist`, { hint: "pass a directory or a .tar, .tar.gz or .tgz archive" });
  }
  if (info.isDirectory()) {
    return { mode: "directory", sourcePath, open: () => archiveDirectory(sourcePath) };
  }
  if (info.isFile()) {
    if (/\.(tar\.gz|tgz)$/i.test(sourcePath)) {
      return { mode: "archive", sourcePath, open: () => gunzipFile(sourcePath) };
    }
    if (/\.tar$/i.test(sourcePath)) return { mode: "archive", sourcePath, open: () => createReadStream(sourcePath) };
  }
  throw new PyroError("invalid_argument", `${sourcePath} is neither a directory nor a .tar, .tar.gz or .tgz archive`, {
    hint: "pass a directory or a .tar, .tar.gz or .tgz archive",
  });
}

/**
 * The decompressed bytes of a gzip file. A read error or corrupt data errors
 * the stream with a PyroError naming the file (`pipe` alone would drop the
 * file's errors), so the upload is refused rather than taken as empty.
 */
function gunzipFile(path: string): Readable {
  const file = createReadStream(path);
  const gunzip = createGunzip();
  const output = new PassThrough();
  const fail = (error: Error): void => {
    output.destroy(
      new PyroError("invalid_argument", `${path} is not a valid gzip-compressed tar archive: ${error.message}`, {
        hint: "check the file (gzip -t), or pass a directory or a plain .tar",
        cause: error,
      }),
    );
  };
  file.on("error", fail);
  gunzip.on("error", fail);
  file.pipe(gunzip).pipe(output);
  // A consumer that gives up early must not leave the file open.
  output.on("close", () => {
    file.destroy();
    gunzip.destroy();
  });
  return output;
}

/**
 * A tar stream of a directory's contents. GNU tar is several times faster than
 * a JavaScript archiver on trees of many small files; it archives symlinks as
 * links (never follows them) and stays on one file system. A failure (an
 * unreadable file) errors the stream, so the guest never sees a silently
 * short archive.
 */
function archiveDirectory(dir: string): Readable {
  const child = spawn("tar", ["--create", "--format=pax", "--one-file-system", "--directory", dir, "--file", "-", "."], {
    stdio: ["ignore", "pipe", "pipe"],
  });
  let stderr = "";
  child.stderr.setEncoding("utf8").on("data", (chunk: string) => {
    if (stderr.length < 4096) stderr += chunk;
  });
  // The archive ends only once tar has exited cleanly: its stdout can end before a failing exit status arrives.
  const output = new PassThrough();
  child.stdout.pipe(output, { end: false });
  child.on("error", (error) => output.destroy(new PyroError("unavailable", `cannot run tar to archive ${dir}: ${error.message}`, { hint: "install GNU tar" })));
  child.on("close", (code) => {
    if (code === 0) output.end();
    else output.destroy(new PyroError("io_error", `cannot archive ${dir}: ${stderr.trim() || `tar exited with ${code}`}`, { hint: "check that every file under it is readable" }));
  });
  // A consumer that gives up early must not leave tar blocked on a full pipe.
  output.on("close", () => child.kill("SIGKILL"));
  return output;
}

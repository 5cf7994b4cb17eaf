import { createReadStream } from "node:fs";
import { stat } from "node:fs/promises";
import { resolve } from "node:path";
import type { Readable } from "node:stream";
import { createGunzip } from "node:zlib";
import { create as createTar } from "tar";
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
 * agent refuses unsafe entries (absolute, `..`, links out, devices, oversize).
 */
export async function openSource(path: string): Promise<SeedSource> {
  const sourcePath = resolve(path);
  let info;
  try {
    info = await stat(sourcePath);
  } catch {
    throw new PyroError("not_found", `seed path ${sourcePath} does not exist`, { hint: "pass a directory or a .tar, .tar.gz or .tgz archive" });
  }
  if (info.isDirectory()) {
    return {
      mode: "directory",
      sourcePath,
      open: () => createTar({ cwd: sourcePath, portable: true, follow: false }, ["."]) as unknown as Readable,
    };
  }
  if (info.isFile()) {
    if (/\.(tar\.gz|tgz)$/i.test(sourcePath)) {
      return { mode: "archive", sourcePath, open: () => createReadStream(sourcePath).pipe(createGunzip()) };
    }
    if (/\.tar$/i.test(sourcePath)) return { mode: "archive", sourcePath, open: () => createReadStream(sourcePath) };
  }
  throw new PyroError("invalid_argument", `${sourcePath} is neither a directory nor a .tar, .tar.gz or .tgz archive`, {
    hint: "pass a directory or a .tar, .tar.gz or .tgz archive",
  });
}

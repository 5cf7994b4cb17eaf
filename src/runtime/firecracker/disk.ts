import { execFile } from "node:child_process";
import { constants } from "node:fs";
import { copyFile, rename, rm, stat } from "node:fs/promises";
import { PyroError } from "../../util/errors.js";

/**
 * Make `target` a private writable copy of `source` unless it already exists
 * (a stopped workspace keeps its disk). Copy-on-write where the filesystem
 * allows (`cp --reflink=auto --sparse=always`), else a sparse plain copy.
 * Written under a temporary name and renamed, so a crash never leaves a
 * half-copied disk in place. Returns whether a copy was made.
 */
export async function ensureRootDisk(source: string, target: string): Promise<boolean> {
  if (await exists(target)) return false;
  if (!(await exists(source))) {
    throw new PyroError("not_found", `the environment's root image ${source} is missing`, {
      hint: "re-pull the environment (pyro env pull ENV)",
      details: { root_image: source },
    });
  }
  const temp = `${target}.tmp-${process.pid}`;
  try {
    await cpReflink(source, temp).catch(() => copyFile(source, temp, constants.COPYFILE_FICLONE));
    await rename(temp, target);
  } catch (error) {
    await rm(temp, { force: true });
    throw new PyroError("io_error", `cannot copy root image to ${target}: ${(error as Error).message}`, {
      hint: "check free space and permissions in the state directory",
      details: { source, target },
      cause: error,
    });
  }
  return true;
}

function cpReflink(source: string, target: string): Promise<void> {
  return new Promise((resolve, reject) => {
    execFile("cp", ["--reflink=auto", "--sparse=always", "--", source, target], (error) =>
      error ? reject(error) : resolve(),
    );
  });
}

async function exists(path: string): Promise<boolean> {
  try {
    await stat(path);
    return true;
  } catch {
    return false;
  }
}

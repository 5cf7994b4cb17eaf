/** One entry of a newc cpio archive. */
export type CpioEntry =
  | { kind: "dir"; path: string; mode?: number }
  | { kind: "file"; path: string; data: Buffer; mode?: number }
  | { kind: "symlink"; path: string; target: string }
  | { kind: "chardev"; path: string; major: number; minor: number; mode?: number };

const S_IFDIR = 0o040000;
const S_IFREG = 0o100000;
const S_IFLNK = 0o120000;
const S_IFCHR = 0o020000;

function hex8(n: number): string {
  return n.toString(16).padStart(8, "0");
}

function pad4(length: number): Buffer {
  return Buffer.alloc((4 - (length % 4)) % 4);
}

/**
 * Serialise entries as a newc ("070701") cpio archive, the format the Linux
 * kernel unpacks as an initramfs. Owners are root, mtimes 0 (reproducible).
 */
export function writeNewcCpio(entries: readonly CpioEntry[]): Buffer {
  const parts: Buffer[] = [];
  let ino = 1;
  const push = (path: string, mode: number, data: Buffer, rdevMajor = 0, rdevMinor = 0): void => {
    const name = Buffer.from(`${path}\0`, "utf8");
    const header =
      "070701" +
      hex8(ino++) +
      hex8(mode) +
      hex8(0) + // uid
      hex8(0) + // gid
      hex8(mode & S_IFDIR ? 2 : 1) + // nlink
      hex8(0) + // mtime
      hex8(data.length) +
      hex8(0) + // devmajor
      hex8(0) + // devminor
      hex8(rdevMajor) +
      hex8(rdevMinor) +
      hex8(name.length) +
      hex8(0); // check
    const head = Buffer.concat([Buffer.from(header, "ascii"), name]);
    parts.push(head, pad4(head.length), data, pad4(data.length));
  };
  for (const e of entries) {
    const path = e.path.replace(/^\/+/, "");
    switch (e.kind) {
      case "dir":
        push(path, S_IFDIR | (e.mode ?? 0o755), Buffer.alloc(0));
        break;
      case "file":
        push(path, S_IFREG | (e.mode ?? 0o644), e.data);
        break;
      case "symlink":
        push(path, S_IFLNK | 0o777, Buffer.from(e.target, "utf8"));
        break;
      case "chardev":
        push(path, S_IFCHR | (e.mode ?? 0o600), Buffer.alloc(0), e.major, e.minor);
        break;
    }
  }
  ino = 0;
  push("TRAILER!!!", 0, Buffer.alloc(0));
  return Buffer.concat(parts);
}

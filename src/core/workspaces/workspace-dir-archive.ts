import { Readable } from "node:stream";
import { Header } from "tar";

/**
 * A tar of one entry, the directory `workspace/` (0755), to put at `/` with
 * an owner: the agent then gives /workspace itself to that owner (an
 * extraction's root is never changed; an entry naming it is).
 */
export function workspaceDirArchive(): Readable {
  const header = new Header({ path: "workspace/", type: "Directory", mode: 0o755, size: 0, uid: 0, gid: 0, mtime: new Date() });
  header.encode();
  // The header, then the two zero blocks that end an archive.
  return Readable.from([Buffer.concat([header.block!, Buffer.alloc(1024)])]);
}

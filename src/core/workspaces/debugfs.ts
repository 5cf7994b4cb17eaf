import { spawn } from "node:child_process";
import { PyroError } from "../../util/errors.js";

/** Output of one debugfs run. */
export interface DebugfsOutput {
  stdout: Buffer;
  /** Whether stdout went past `maxStdout` and was cut. */
  truncated: boolean;
  /** stderr without debugfs's version banner. */
  errors: string[];
}

/** Quote a path for a debugfs request; debugfs has no escape for `"` or newlines, so those are refused. */
export function debugfsPath(path: string): string {
  if (/["\n\r\0]/.test(path)) throw new PyroError("invalid_argument", `disk paths cannot contain quotes, newlines or NUL bytes: ${JSON.stringify(path)}`);
  return `"${path}"`;
}

/**
 * Run debugfs requests (`-R` for one, `-f -` for several) on an ext4 image.
 * debugfs exits 0 even when a request fails, so failures are read from
 * stderr. Read-only unless `write`.
 */
export function debugfs(image: string, requests: string[], options: { write?: boolean; maxStdout?: number } = {}): Promise<DebugfsOutput> {
  const maxStdout = options.maxStdout ?? 16 * 1024 * 1024;
  const single = requests.length === 1;
  const args = [...(options.write ? ["-w"] : []), ...(single ? ["-R", requests[0]!] : ["-f", "-"]), image];
  return new Promise((resolve, reject) => {
    const child = spawn("debugfs", args, { stdio: ["pipe", "pipe", "pipe"] });
    const out: Buffer[] = [];
    let outBytes = 0;
    let truncated = false;
    let err = "";
    child.stdout.on("data", (chunk: Buffer) => {
      if (truncated) return;
      const room = maxStdout - outBytes;
      if (chunk.length > room) {
        out.push(chunk.subarray(0, room));
        outBytes = maxStdout;
        truncated = true;
        child.kill("SIGKILL");
        return;
      }
      out.push(chunk);
      outBytes += chunk.length;
    });
    child.stderr.on("data", (chunk: Buffer) => {
      if (err.length < 64 * 1024) err += chunk.toString("utf8");
    });
    child.on("error", (error) =>
      reject(new PyroError("unavailable", `cannot run debugfs: ${error.message}`, { hint: "install e2fsprogs (Debian: apt-get install e2fsprogs)", cause: error })),
    );
    child.on("close", (code) => {
      if (code !== 0 && !truncated) {
        return reject(new PyroError("io_error", `debugfs failed on ${image}: ${err.trim() || `exit ${code}`}`));
      }
      const errors = err
        .split("\n")
        .map((line) => line.trim())
        .filter((line) => line && !/^debugfs \d/.test(line));
      resolve({ stdout: Buffer.concat(out), truncated, errors });
    });
    // debugfs may exit before it reads stdin (a single -R request never does): its exit
    // status and stderr say what happened, an EPIPE on this pipe says nothing.
    child.stdin.on("error", () => undefined);
    // With -f -, debugfs echoes each request on stdout, so output that is parsed comes from single (-R) requests.
    if (single) child.stdin.end();
    else child.stdin.end(`${requests.join("\n")}\n`);
  });
}

/** One directory entry as `ls -p` prints it. */
export interface DiskDirEntry {
  name: string;
  mode: number;
  size: number;
}

/** Parse `ls -p` lines: `/inode/mode/uid/gid/name/size/` (size empty for directories). */
export function parseLsP(text: string): DiskDirEntry[] {
  const entries: DiskDirEntry[] = [];
  for (const line of text.split("\n")) {
    const match = /^\/(\d+)\/([0-7]+)\/(\d+)\/(\d+)\/(.*)\/(\d*)\/$/.exec(line.trim());
    if (!match) continue;
    const name = match[5]!;
    if (name === "." || name === "..") continue;
    entries.push({ name, mode: parseInt(match[2]!, 8), size: match[6] ? Number(match[6]) : 0 });
  }
  return entries;
}

import { Duplex } from "node:stream";
import type { Socket } from "node:net";
import { join } from "node:path";
import { FrameDecoder, FrameKind, SYNC_MARKER, encodeControl, encodeFrame, type Frame } from "../../src/protocol/index.js";

/** Request fields that name a guest path, by op. */
const PATH_FIELDS: Record<string, string[]> = {
  exec: ["cwd"],
  shell_open: ["cwd"],
  service_start: ["cwd"],
  command_start: ["cwd"],
  put_archive: ["dest"],
  get_archive: ["path"],
  // The file ops take a root (their path is relative to it).
  file_list: ["root"],
  file_read: ["root"],
  file_write: ["root"],
  file_apply: ["root"],
};

/**
 * The host end of a local agent's socket, seen through a guest root: the
 * guest paths of requests (see {@link PATH_FIELDS}) are moved under `root`, so
 * `cwd: "/workspace"` becomes `ROOT/workspace`. Every other byte passes as it
 * is, both ways. Only for test/helpers/local-backend.ts: an agent running on
 * the host has no root of its own.
 */
export class PathMappingStream extends Duplex {
  private readonly decoder = new FrameDecoder((frame) => this.forward(frame));
  /** Bytes of the leading `PYROSYNC` marker still expected from the host. */
  private marker = SYNC_MARKER.length;

  /**
   * @param onRequest called with each request's op before it is forwarded
   *   (a test can wedge the agent at an exact point of a session)
   */
  constructor(
    private readonly socket: Socket,
    private readonly root: string,
    private readonly onRequest: (op: string) => void = () => {},
  ) {
    super();
    socket.on("data", (chunk: Buffer) => {
      if (!this.push(chunk)) socket.pause();
    });
    socket.on("end", () => this.push(null));
    socket.on("error", (error) => this.destroy(error));
    socket.on("close", () => this.destroy());
  }

  override _read(): void {
    this.socket.resume();
  }

  override _write(chunk: Buffer, _encoding: BufferEncoding, callback: (error?: Error | null) => void): void {
    try {
      let rest = chunk;
      if (this.marker > 0) {
        // The session starts with PYROSYNC, then frames (no resync flush on a socket).
        const take = Math.min(this.marker, rest.length);
        this.socket.write(rest.subarray(0, take));
        this.marker -= take;
        rest = rest.subarray(take);
      }
      if (rest.length > 0) this.decoder.push(rest);
    } catch (error) {
      return callback(error as Error);
    }
    if (this.socket.writableNeedDrain) this.socket.once("drain", () => callback());
    else callback();
  }

  override _final(callback: (error?: Error | null) => void): void {
    this.socket.end(callback);
  }

  override _destroy(error: Error | null, callback: (error?: Error | null) => void): void {
    this.socket.destroy();
    callback(error);
  }

  private forward(frame: Frame): void {
    if (frame.kind !== FrameKind.CONTROL || frame.control === undefined || frame.stream === 0) {
      this.socket.write(encodeFrame(frame.kind, frame.stream, frame.payload));
      return;
    }
    const message = { ...frame.control };
    this.onRequest(String(message.op));
    for (const field of PATH_FIELDS[String(message.op)] ?? []) {
      const value = message[field];
      if (typeof value === "string" && value.startsWith("/")) message[field] = join(this.root, value);
    }
    this.socket.write(encodeControl(frame.stream, message));
  }
}

import { FrameKind, HEADER_SIZE, MAX_PAYLOAD, SYNC_MARKER, parseControl, type ControlMessage } from "../protocol/index.js";

/** The agent's hello, checked. */
export interface AgentHello {
  protocol_version: number;
  agent_version: string;
  capabilities: string[];
  pid: number;
  hostname: string;
}

const marker = Buffer.from(SYNC_MARKER);

/**
 * Finds the agent's answer to our hello in the bytes a transport delivers:
 * `PYROSYNC` followed by a hello frame on stream 0 carrying our nonce. Bytes
 * before the marker, and markers followed by anything else (stale output of a
 * dead session), are skipped. Holds at most one marker plus one frame.
 */
export class HelloScanner {
  private buf: Buffer = Buffer.alloc(0);

  constructor(private readonly nonce: string) {}

  /**
   * Feed a chunk. Returns the hello message and the bytes that followed its
   * frame (the start of the session's frames), or null while still waiting.
   */
  push(chunk: Buffer): { hello: ControlMessage; rest: Buffer } | null {
    this.buf = this.buf.length === 0 ? chunk : Buffer.concat([this.buf, chunk]);
    for (;;) {
      const at = this.buf.indexOf(marker);
      if (at < 0) {
        // Keep a possible partial marker at the end, nothing else.
        this.buf = this.buf.subarray(Math.max(0, this.buf.length - (marker.length - 1)));
        return null;
      }
      const start = at + marker.length;
      if (this.buf.length < start + HEADER_SIZE) {
        this.buf = this.buf.subarray(at);
        return null;
      }
      const length = this.buf.readUInt32BE(start);
      const kind = this.buf.readUInt8(start + 4);
      const stream = this.buf.readUInt32BE(start + 5);
      if (length > MAX_PAYLOAD || kind !== FrameKind.CONTROL || stream !== 0) {
        this.buf = this.buf.subarray(at + 1);
        continue;
      }
      const end = start + HEADER_SIZE + length;
      if (this.buf.length < end) {
        this.buf = this.buf.subarray(at);
        return null;
      }
      let message: ControlMessage | null = null;
      try {
        message = parseControl(this.buf.subarray(start + HEADER_SIZE, end));
      } catch {
        message = null;
      }
      if (message !== null && message.type === "hello" && message.nonce === this.nonce) {
        const rest = Buffer.from(this.buf.subarray(end));
        this.buf = Buffer.alloc(0);
        return { hello: message, rest };
      }
      this.buf = this.buf.subarray(at + 1);
    }
  }
}

const isInt = (v: unknown): v is number => typeof v === "number" && Number.isSafeInteger(v);
const isShortString = (v: unknown, max: number): v is string => typeof v === "string" && v.length <= max;

/** Check a hello from the guest; null when it is malformed. */
export function checkHello(message: ControlMessage): AgentHello | null {
  const { protocol_version, agent_version, capabilities, pid, hostname } = message;
  if (!isInt(protocol_version) || !isShortString(agent_version, 64) || !isInt(pid)) return null;
  if (!Array.isArray(capabilities) || capabilities.length > 256) return null;
  if (!capabilities.every((c) => isShortString(c, 64))) return null;
  return {
    protocol_version,
    agent_version,
    capabilities: capabilities as string[],
    pid,
    hostname: isShortString(hostname, 255) ? hostname : "",
  };
}

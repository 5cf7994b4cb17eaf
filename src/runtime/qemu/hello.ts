import { randomBytes } from "node:crypto";
import type { Socket } from "node:net";
import { FrameDecoder, FrameKind, PROTOCOL_VERSION, SYNC_MARKER, SyncScanner, encodeControl, type HelloReply } from "../../protocol/index.js";

/** Client name sent in the boot-time hello. */
const CLIENT = "pyro-mcp/qemu-boot";

/**
 * The SPEC's session start on an already connected agent port: write
 * `PYROSYNC` + hello with a fresh nonce, skip bytes up to the agent's
 * `PYROSYNC`, and resolve with the hello that echoes the nonce. Frames after a
 * `PYROSYNC` that are not that hello make it scan for the next marker.
 * Resolves `undefined` when `timeoutMs` passes or the socket closes or fails first;
 * rejects never. The socket is left open (the caller closes it).
 */
export function exchangeHello(socket: Socket, timeoutMs: number): Promise<HelloReply | undefined> {
  const nonce = randomBytes(16).toString("hex");
  return new Promise((resolve) => {
    let scanner: SyncScanner | undefined = new SyncScanner();
    let decoder: FrameDecoder | undefined;
    let done = false;
    const finish = (reply: HelloReply | undefined): void => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      socket.off("data", onData);
      socket.off("close", onClose);
      // Until the caller destroys it, a reset (QEMU died) must not become an uncaught error.
      socket.off("error", onClose);
      socket.on("error", () => undefined);
      resolve(reply);
    };
    const timer = setTimeout(() => finish(undefined), timeoutMs);
    const rescan = (): void => {
      decoder = undefined;
      scanner = new SyncScanner();
    };
    const feed = (chunk: Buffer): void => {
      if (scanner) {
        const at = scanner.push(chunk);
        if (at < 0) return;
        scanner = undefined;
        decoder = new FrameDecoder((frame) => {
          const msg = frame.control;
          if (frame.kind === FrameKind.CONTROL && frame.stream === 0 && msg?.type === "hello" && msg.nonce === nonce) {
            finish(msg as unknown as HelloReply);
          } else {
            throw new Error("not our hello");
          }
        });
        feed(chunk.subarray(at));
        return;
      }
      try {
        decoder?.push(chunk);
      } catch {
        // Not the hello we wait for: look for the next marker in what follows.
        rescan();
      }
    };
    const onData = (chunk: Buffer): void => {
      if (!done) feed(chunk);
    };
    const onClose = (): void => finish(undefined);
    socket.on("data", onData);
    socket.once("close", onClose);
    socket.on("error", onClose);
    socket.write(Buffer.concat([Buffer.from(SYNC_MARKER), encodeControl(0, { op: "hello", protocol_version: PROTOCOL_VERSION, nonce, client: CLIENT })]));
  });
}

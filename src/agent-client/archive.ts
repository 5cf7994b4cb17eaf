import type { Readable } from "node:stream";
import { FrameKind, type ArchiveResult, type ControlMessage } from "../protocol/index.js";
import { PyroError } from "../util/errors.js";
import type { AgentClient } from "./client.js";
import { agentError, malformed } from "./errors.js";

const isCount = (v: unknown): v is number => typeof v === "number" && Number.isSafeInteger(v) && v >= 0;

function checkArchiveResult(op: string, m: ControlMessage): ArchiveResult {
  if (!isCount(m.entries) || !isCount(m.bytes)) throw malformed(op, "result");
  const result: ArchiveResult = { entries: m.entries, bytes: m.bytes };
  if (m.kind === "file" || m.kind === "directory") result.kind = m.kind;
  return result;
}

function tooLarge(what: string, maxBytes: number): PyroError {
  return new PyroError("limit_exceeded", `${what} is larger than the limit of ${maxBytes} bytes`, {
    details: { max_bytes: maxBytes },
  });
}

/**
 * Why an upload's source failed (a corrupt `.tar.gz`, an unreadable file). A
 * PyroError from the source (which knows its path) is kept as it is.
 */
function sourceFailure(error: unknown): PyroError {
  if (error instanceof PyroError) return error;
  const message = error instanceof Error ? error.message : String(error);
  return new PyroError("invalid_argument", `the archive could not be read: ${message}`, {
    hint: "pass a directory or a valid .tar, .tar.gz or .tgz archive",
    cause: error,
  });
}

/**
 * Implementation of {@link AgentClient.putArchive}. A source that fails
 * rejects the upload with its error, whatever the agent made of the cut
 * tar: a corrupt `.tar.gz` yields no tar bytes at all, which the agent
 * would otherwise accept as an empty archive.
 */
export function runPutArchive(
  client: AgentClient,
  dest: string,
  source: Readable | AsyncIterable<Uint8Array | string>,
  maxBytes: number,
  /** Who the extracted entries (and directories made on the way) belong to; absent: root. */
  owner?: { uid: number; gid: number },
): Promise<ArchiveResult> {
  return new Promise<ArchiveResult>((resolve, reject) => {
    let overLimit = false;
    let sourceError: PyroError | null = null;
    const stream = client.open(
      "put_archive",
      { dest, max_bytes: maxBytes, ...(owner ? { owner } : {}) },
      {
        onFinal: (message) => {
          if (overLimit) return reject(tooLarge("the archive", maxBytes));
          // Set before the upload ends, so before the agent's answer to a whole upload.
          if (sourceError) return reject(sourceError);
          if (message.type === "error") return reject(agentError("put_archive", message));
          try {
            resolve(checkArchiveResult("put_archive", message));
          } catch (error) {
            reject(error);
          }
        },
        onFail: reject,
      },
    );
    void (async () => {
      let sent = 0;
      try {
        for await (const chunk of source as AsyncIterable<Uint8Array | string>) {
          if (stream.done) return;
          const bytes = typeof chunk === "string" ? Buffer.from(chunk) : chunk;
          if (sent + bytes.length > maxBytes) {
            // The agent sees a cut tar and fails; the limit error wins.
            overLimit = true;
            break;
          }
          sent += bytes.length;
          // A failing connection ends the upload; onFail reports it.
          if (!(await stream.stdin(bytes).then(() => true, () => false))) break;
        }
      } catch (error) {
        sourceError = sourceFailure(error);
      }
      await stream.stdinEnd().catch(() => undefined);
    })();
  });
}

/** Implementation of {@link AgentClient.getArchive}. */
export function runGetArchive(client: AgentClient, path: string, sink: NodeJS.WritableStream, maxBytes: number): Promise<ArchiveResult> {
  return new Promise<ArchiveResult>((resolve, reject) => {
    let received = 0;
    let failed: PyroError | null = null;
    let paused = false;
    const unpause = (): void => {
      if (paused) client.resume();
      paused = false;
    };
    const fail = (error: PyroError): void => {
      if (failed) return;
      failed = error;
      unpause();
      (sink as { destroy?: () => void }).destroy?.();
      reject(error);
    };
    client.open(
      "get_archive",
      { path, max_bytes: maxBytes },
      {
        onData: (kind, payload) => {
          if (failed || kind !== FrameKind.STDOUT || payload.length === 0) return;
          received += payload.length;
          if (received > maxBytes) return fail(tooLarge("the archive the guest sent", maxBytes));
          if (!sink.write(payload) && !paused) {
            // Push back on the guest through the transport while the sink catches up.
            paused = true;
            client.pause();
            sink.once("drain", unpause);
          }
        },
        onFinal: (message) => {
          if (failed) return;
          if (message.type === "error") return fail(agentError("get_archive", message));
          let result: ArchiveResult;
          try {
            result = checkArchiveResult("get_archive", message);
          } catch (error) {
            return fail(error as PyroError);
          }
          unpause();
          sink.once("error", (error) => reject(new PyroError("io_error", `writing the archive failed: ${error.message}`, { cause: error })));
          sink.end(() => resolve(result));
        },
        onFail: fail,
      },
    );
  });
}

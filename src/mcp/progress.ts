import type { CallOptions } from "../contract/index.js";

/** How often a long call without news still reports that it runs: well under the usual 60 s client timeout. */
export const HEARTBEAT_MS = 5_000;
/** How often output lines are reported at most: a flood of output must not become a flood of notifications. */
export const OUTPUT_EVERY_MS = 250;
/** The longest message of one notification (the most recent output is kept). */
export const MESSAGE_CHARS = 2_000;

/** One `notifications/progress` (MCP 2025-03-26: `progress` grows, `message` says what happened). */
export interface ProgressNotification {
  method: "notifications/progress";
  params: { progressToken: string | number; progress: number; message?: string };
}

/** Progress reporting for one tool call. */
export interface CallProgress {
  /** The call options that feed it: phase lines, and command output for the streaming tools. */
  options: CallOptions;
  /** Report what is still pending, then stop (before the response: nothing may follow it). */
  finish(): Promise<void>;
}

/**
 * Turn one tool call's phase lines and command output into progress
 * notifications for `token`, so that a client that resets its timeout on
 * progress keeps a long call alive: every phase line, output in complete
 * lines at most every {@link OUTPUT_EVERY_MS}, and a heartbeat after
 * {@link HEARTBEAT_MS} without news.
 */
export function callProgress(token: string | number, send: (notification: ProgressNotification) => Promise<void>, streams: boolean): CallProgress {
  const started = Date.now();
  let progress = 0;
  let sending: Promise<void> = Promise.resolve();
  let finished = false;
  const notify = (message: string): void => {
    if (finished) return;
    progress += 1;
    const params = { progressToken: token, progress, message: message.length > MESSAGE_CHARS ? `…${message.slice(-MESSAGE_CHARS)}` : message };
    // In order, and a closed transport must not fail the call.
    sending = sending.then(() => send({ method: "notifications/progress", params })).catch(() => undefined);
    heartbeat.refresh();
  };
  const heartbeat = setInterval(() => notify(`running for ${Math.round((Date.now() - started) / 1000)} s`), HEARTBEAT_MS);
  heartbeat.unref();

  let partial = "";
  let lines: string[] = [];
  let timer: NodeJS.Timeout | null = null;
  const flushLines = (): void => {
    timer = null;
    if (lines.length > 0) notify(lines.join("\n"));
    lines = [];
  };
  const onOutput = (chunk: string): void => {
    const parts = (partial + chunk).split("\n");
    partial = parts.pop() ?? "";
    // A line without an end yet still counts once it is long.
    if (partial.length > MESSAGE_CHARS) {
      parts.push(partial);
      partial = "";
    }
    if (parts.length === 0) return;
    lines.push(...parts);
    if (lines.length > 200) lines = lines.slice(-200);
    timer ??= setTimeout(flushLines, OUTPUT_EVERY_MS);
  };
  const options: CallOptions = { onProgress: notify, ...(streams ? { onStdout: onOutput, onStderr: onOutput } : {}) };
  return {
    options,
    finish: async () => {
      if (timer) clearTimeout(timer);
      if (partial) lines.push(partial);
      flushLines();
      finished = true;
      clearInterval(heartbeat);
      await sending;
    },
  };
}

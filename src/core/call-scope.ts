import { AsyncLocalStorage } from "node:async_hooks";

/** The progress sink of the operation call running in the current async context. */
const callProgress = new AsyncLocalStorage<(line: string) => void>();
/** The abort signal of the operation call running in the current async context. */
const callSignal = new AsyncLocalStorage<AbortSignal>();

/**
 * Run one operation call so that every progress line it emits, however deep
 * (a backend's boot phases, an environment pull), also reaches `onProgress`.
 * Context progress lines are emitted from many places that captured
 * `context.progress` long before the call: an async-local sink reaches all of
 * them without threading a callback through every service.
 */
export function withCallProgress<R>(onProgress: ((line: string) => void) | undefined, fn: () => Promise<R>): Promise<R> {
  return onProgress ? callProgress.run(onProgress, fn) : fn();
}

/** A progress function that writes to `sink` and to the current call's own sink, if any. */
export function scopedProgress(sink: (line: string) => void): (line: string) => void {
  return (line) => {
    sink(line);
    const own = callProgress.getStore();
    if (own) {
      try {
        own(line);
      } catch {
        // A failing listener must not fail the operation it watches.
      }
    }
  };
}

/**
 * Run one operation call so that the places that wait for shared capacity
 * deep inside it (a boot slot: machines/boot-slots.ts) stop waiting when the
 * caller aborts: an SDK `signal`, an MCP cancellation, the CLI's Ctrl-C.
 */
export function withCallSignal<R>(signal: AbortSignal | undefined, fn: () => Promise<R>): Promise<R> {
  return signal ? callSignal.run(signal, fn) : fn();
}

/** The abort signal of the call running in the current async context, if it has one. */
export function currentCallSignal(): AbortSignal | undefined {
  return callSignal.getStore();
}

/** Run `fn` outside any call's scope: work that outlives the call (a warm spare starting) must not report to it, nor be cancelled with it. */
export function outsideCall<R>(fn: () => R): R {
  return callProgress.exit(() => callSignal.exit(fn));
}

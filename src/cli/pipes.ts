/**
 * Let a reader close the pipe early (`pyro workspace list | head -1`): an
 * EPIPE on stdout or stderr ends that output quietly, and the command keeps
 * its own exit status, instead of crashing with an unhandled 'error' event
 * and a stack trace. Any other write error still crashes, as before.
 */
export function tolerateClosedPipes(streams: NodeJS.WriteStream[] = [process.stdout, process.stderr]): void {
  for (const stream of streams) {
    stream.on("error", (error: NodeJS.ErrnoException) => {
      // The reader is gone: the stream is destroyed, and later writes to it are dropped.
      if (error.code === "EPIPE") return;
      throw error;
    });
  }
}

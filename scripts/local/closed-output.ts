/**
 * `npm start | head` closes the pipe after a few lines; Node then fails the next write to stdout
 * with EPIPE, and an unhandled stream error would end the process. The local runtime keeps
 * serving instead: once a stream's reader is gone, writes to it are dropped.
 */
export function keepServingWhenOutputCloses(streams: NodeJS.WriteStream[] = [process.stdout, process.stderr]): void {
  for (const stream of streams) {
    stream.on('error', (error: NodeJS.ErrnoException) => {
      if (error.code !== 'EPIPE' && error.code !== 'ERR_STREAM_DESTROYED') throw error;
      stream.write = (() => true) as typeof stream.write;
    });
  }
}

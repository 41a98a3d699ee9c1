/**
 * The queue that group commit and group get share (group-commit.ts, group-get.ts): callers wait in
 * it; when nothing of its kind is on its way, the callers that arrived in the same turn of the
 * event loop go at once as one group; callers that arrive while one is on its way wait for it and
 * then go together. `takeGroup` takes from the queue what one request may carry; `send` sends it
 * and settles each caller's promise (it never throws), and may put callers back at the front to
 * go again at once.
 */
export function requestGroups<W>(
  takeGroup: (queue: W[]) => W[],
  send: (group: W[], requeue: (again: W[]) => void) => Promise<void>,
): (waiting: W) => void {
  const queue: W[] = [];
  let inFlight = false;
  let scheduled = false;
  const requeue = (again: W[]): void => {
    queue.unshift(...again);
  };
  const pump = (): void => {
    if (inFlight || queue.length === 0) return;
    inFlight = true;
    void send(takeGroup(queue), requeue).finally(() => {
      inFlight = false;
      pump();
    });
  };
  return (waiting) => {
    queue.push(waiting);
    if (scheduled) return;
    scheduled = true;
    setImmediate(() => {
      scheduled = false;
      pump();
    });
  };
}

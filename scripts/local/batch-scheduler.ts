import type { BatchTriggerEvent } from '../../src/batches/schemas.js';
import { RESUME_STALLED_AFTER_SECONDS } from '../../src/batches/materialize.js';
import { listDueRecurringBatches, listStalledOccurrences } from '../../src/batches/batch-store.js';

/*
 * The local stand-in for EventBridge Scheduler. Every recurring batch keeps its next occurrence
 * on the table's `due` index (BATCH_NEXT), so one query a tick finds what is due, whether the
 * batch was created before this process started or a second ago; the batch-trigger function is
 * invoked with the event the AWS schedule sends (`{ batch_id }`) and moves the entry on. Runs
 * whose follow-up write was lost (BATCH_RESUME) are handed to the same function to finish.
 */

export interface LocalBatchSchedulerOptions {
  /** The batch-trigger handler. */
  trigger: (event: BatchTriggerEvent) => Promise<unknown>;
  /** How often to look for due batches (default 1 s: a run starts within about a second). */
  intervalMs?: number;
  /** A trigger that failed, or left its batch due, is retried after this long (default 30 s). */
  retryAfterMs?: number;
  now?: () => Date;
  log?: (line: string) => void;
}

export interface LocalBatchScheduler {
  /** One pass (the timer calls it; tests may too). */
  tick(): Promise<void>;
  stop(): Promise<void>;
}

const PAGE = 25;

export function startBatchScheduler(options: LocalBatchSchedulerOptions): LocalBatchScheduler {
  const clock = options.now ?? (() => new Date());
  const retryAfterMs = options.retryAfterMs ?? 30_000;
  /** `<batch>@<what>` -> when it was last handed to the trigger. */
  const attempts = new Map<string, number>();

  const fire = async (attemptKey: string, event: BatchTriggerEvent, nowMs: number): Promise<void> => {
    const last = attempts.get(attemptKey);
    if (last !== undefined && nowMs - last < retryAfterMs) return;
    attempts.set(attemptKey, nowMs);
    try {
      await options.trigger(event);
    } catch (error) {
      options.log?.(`batch-trigger failed for ${event.batch_id}: ${String(error)}`);
    }
  };

  const tick = async (): Promise<void> => {
    const now = clock();
    const nowMs = now.getTime();
    for (const due of await listDueRecurringBatches(now, PAGE)) {
      await fire(`${due.batchId}@${due.nextOccurrenceAt}`, { batch_id: due.batchId }, nowMs);
    }
    const stalledBefore = new Date(nowMs - RESUME_STALLED_AFTER_SECONDS * 1000);
    for (const stalled of await listStalledOccurrences(stalledBefore, PAGE)) {
      await fire(`${stalled.batchId}#${stalled.key}`, { batch_id: stalled.batchId, occurrence: stalled.key }, nowMs);
    }
    for (const [key, at] of attempts) if (nowMs - at > retryAfterMs * 2) attempts.delete(key);
  };

  let running: Promise<void> | null = null;
  const timer = setInterval(() => {
    if (running) return;
    running = tick()
      .catch((error: unknown) => options.log?.(`batch scheduler: ${String(error)}`))
      .finally(() => (running = null));
  }, options.intervalMs ?? 1000);

  return {
    tick,
    stop: async () => {
      clearInterval(timer);
      await running;
    },
  };
}

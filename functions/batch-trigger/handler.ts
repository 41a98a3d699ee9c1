import { logger } from '../../src/platform/logger.js';
import { batchTriggerEventSchema } from '../../src/batches/schemas.js';
import { runBatchOccurrence, type TriggerOutcome } from '../../src/batches/run-occurrence.js';

/**
 * Invoked by EventBridge Scheduler with the schedule's Input `{ batch_id }` (and on one machine by
 * scripts/local/batch-scheduler.ts with the same shape). Queues the due occurrence's tasks exactly
 * once, however often it is invoked for it.
 */
export const handler = async (event: unknown): Promise<TriggerOutcome> => {
  const { batch_id, occurrence } = batchTriggerEventSchema.parse(event);
  const result = await runBatchOccurrence(batch_id, occurrence);
  logger.info('batch trigger', { batch_id, occurrence: result.occurrence, outcome: result.outcome, tasks: result.task_ids.length });
  return result;
};

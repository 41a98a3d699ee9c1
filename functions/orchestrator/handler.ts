import type { SQSBatchResponse, SQSEvent } from 'aws-lambda';
import * as z from 'zod';
import { logger } from '../../src/platform/logger.js';
import { claimLatency, count, publishMetrics } from '../../src/platform/metrics.js';
import { claimNextTasks } from '../../src/scheduling/claim.js';
import { wakeMessageSchema, wakeOrchestrator } from '../../src/platform/queue/messages.js';
import { creditChargeItems } from '../../src/credits/charges.js';
import { QueueHeads } from '../../src/scheduling/queue-heads.js';
import { PromotionPace } from '../../src/scheduling/promotion-pace.js';

const scheduledEventSchema = z.object({ source: z.string(), 'detail-type': z.string().optional() }).passthrough();
const sqsEventSchema = z.object({ Records: z.array(z.object({ body: z.string(), messageId: z.string() }).passthrough()) });

/** This container's memory of the queue heads it claimed from: kept while the container is warm. */
const queueHeads = new QueueHeads();
/** How often this container re-files due users when its passes come close together. */
const promotionPace = new PromotionPace();

/**
 * Woken by the wake queue (task created, slot freed, not_before due) and by the one-minute
 * schedule as a safety net. Wake messages for a later time are re-sent until due (SQS delays
 * at most 15 minutes). Claims are idempotent, so a failed pass is simply retried.
 */
export const handler = async (event: unknown): Promise<SQSBatchResponse | undefined> => {
  const now = new Date();
  const asSqs = sqsEventSchema.safeParse(event);
  // A wake for a time that has come (a not_before): the user it is for is re-filed in this pass.
  let promoteNow = false;
  // Wakes that name their user (a create, a freed slot) are claimed for from those users'
  // accounts; any other wake, and the schedule, reads the ready index as well.
  const users = new Set<string>();
  let readReady = !asSqs.success;
  if (asSqs.success) {
    for (const record of (event as SQSEvent).Records) {
      const wake = wakeMessageSchema.safeParse(JSON.parse(record.body) as unknown);
      if (!wake.success) {
        readReady = true;
      } else if (wake.data.at) {
        if (Date.parse(wake.data.at) > now.getTime() + 1000) await wakeOrchestrator(wake.data.reason, { at: new Date(wake.data.at), now });
        else promoteNow = readReady = true;
      } else if (wake.data.user_id) {
        users.add(wake.data.user_id);
      } else {
        readReady = true;
      }
    }
  } else {
    scheduledEventSchema.parse(event);
    promoteNow = true;
  }
  // A pass with no named user (the schedule, a timed or an unnamed wake) reads the index.
  if (users.size === 0) readReady = true;
  const result = await claimNextTasks({ chargeItems: creditChargeItems, queueHeads, promotionPace, promoteNow, forUsers: [...users], readReady });
  // Idle, with promotion held back by the pace: one wake for when it allows again, whose pass promotes.
  const catchUp = result.promotionHeldBack ? promotionPace.catchUp(now.getTime()) : null;
  if (catchUp !== null) await wakeOrchestrator('promotion-catch-up', { at: new Date(catchUp), now });
  logger.info('orchestrator pass', { named_users: users.size, read_ready: readReady, claimed: result.claimed.length, conflicts: result.conflicts, from_queue_heads: result.fromQueueHeads, stale_queue_heads: result.staleQueueHeads, promoted: result.promoted, failed_users: result.failedUsers });
  count('TasksClaimed', result.claimed.length);
  count('PendingTasks', result.readyUsersSeen);
  count('ClaimConflicts', result.conflicts);
  for (const task of result.claimed) claimLatency(Date.parse(task.claimed_at ?? task.created_at) - Date.parse(task.created_at));
  publishMetrics();
  return asSqs.success ? { batchItemFailures: [] } : undefined;
};

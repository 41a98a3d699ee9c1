import { SendMessageBatchCommand, SendMessageCommand } from '@aws-sdk/client-sqs';
import * as z from 'zod';
import { sqs } from '../aws.js';
import { getConfig } from '../config.js';
import { logger } from '../logger.js';

/** Body of a spawn-queue message: one claimed task attempt that needs a sandbox. */
export const spawnMessageSchema = z.object({
  task_id: z.string().min(1),
  attempt: z.number().int().positive(),
  callback_token: z.string().min(16),
  /** The sandbox wrapper's own token (absent in messages queued before it existed). */
  sandbox_token: z.string().min(16).optional(),
});
export type SpawnMessage = z.infer<typeof spawnMessageSchema>;

/**
 * Body of a spawn-queue message that asks the spawner to stop the sandbox of an attempt that has
 * ended (a batch cancel): the functions that cancel in bulk carry no sandbox providers, the
 * spawner, which starts sandboxes, has them.
 */
export const stopSandboxMessageSchema = z.object({
  kind: z.literal('stop-sandbox'),
  task_id: z.string().min(1),
  attempt: z.number().int().positive(),
});
export type StopSandboxMessage = z.infer<typeof stopSandboxMessageSchema>;

/** Anything on the spawn queue: a claimed attempt to start, or an ended attempt's sandbox to stop. */
export const spawnQueueMessageSchema = z.union([spawnMessageSchema, stopSandboxMessageSchema]);
export type SpawnQueueMessage = z.infer<typeof spawnQueueMessageSchema>;

export const isStopSandboxMessage = (message: SpawnQueueMessage): message is StopSandboxMessage =>
  'kind' in message && message.kind === 'stop-sandbox';

/**
 * Body of a wake-queue message. `at` (ISO) asks for a wake at that time rather than now.
 * `user_id` names the one user whose work the wake is for (their create, their freed slot): limits
 * are per user, so nobody else's claim waits for it, and the pass claims for that user from their
 * account instead of reading the `ready` index (docs/data-model.md, "Wakes that name their user").
 */
export const wakeMessageSchema = z.object({
  reason: z.string().max(64),
  at: z.iso.datetime().optional(),
  user_id: z.string().min(1).max(256).optional(),
});
export type WakeMessage = z.infer<typeof wakeMessageSchema>;

/** SQS allows at most 15 minutes of delay; longer waits are re-sent by the orchestrator. */
export const MAX_DELAY_SECONDS = 900;

export async function sendSpawnMessages(messages: SpawnQueueMessage[]): Promise<void> {
  const url = getConfig().spawnQueueUrl;
  for (let i = 0; i < messages.length; i += 10) {
    let entries = messages.slice(i, i + 10).map((message, index) => ({ Id: String(index), MessageBody: JSON.stringify(message) }));
    let result = await sqs().send(new SendMessageBatchCommand({ QueueUrl: url, Entries: entries }));
    if (result.Failed && result.Failed.length > 0) {
      // Entries fail on their own (throttling); sending them once more is cheap and usually enough.
      const failedIds = new Set(result.Failed.map((failure) => failure.Id));
      entries = entries.filter((entry) => failedIds.has(entry.Id));
      result = await sqs().send(new SendMessageBatchCommand({ QueueUrl: url, Entries: entries }));
    }
    if (result.Failed && result.Failed.length > 0) {
      // The stale-claim sweep returns claimed tasks to pending, so nothing is lost; an unsent stop
      // leaves the sandbox running until its timeout kills it. Either way, say so loudly.
      logger.error('spawn messages not sent', { failed: result.Failed });
    }
  }
}

export interface WakeOptions {
  /** Wake at this time rather than now. */
  at?: Date;
  now?: Date;
  /** The one user whose work this wake is for (a wake at once only). */
  userId?: string;
}

/**
 * Wakes the orchestrator now, or at `at`. A failed nudge is logged, never thrown: the schedule
 * is the safety net, and the caller's write has already happened.
 */
export async function wakeOrchestrator(reason: string, { at, now = new Date(), userId }: WakeOptions = {}): Promise<void> {
  const url = getConfig().wakeQueueUrl;
  if (!url) return;
  const delay = at ? Math.min(MAX_DELAY_SECONDS, Math.max(0, Math.ceil((at.getTime() - now.getTime()) / 1000))) : 0;
  const body: WakeMessage = at ? { reason, at: at.toISOString() } : userId ? { reason, user_id: userId } : { reason };
  try {
    await sqs().send(new SendMessageCommand({ QueueUrl: url, MessageBody: JSON.stringify(body), DelaySeconds: delay }));
  } catch (error) {
    logger.warn('could not wake the orchestrator', { reason, error });
  }
}

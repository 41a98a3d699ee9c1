import { SendMessageCommand } from '@aws-sdk/client-sqs';
import { sqs } from '../platform/aws.js';
import { getConfig } from '../platform/config.js';
import { MAX_DELAY_SECONDS } from '../platform/queue/messages.js';
import type { NotifyMessage } from './schemas.js';

/**
 * Queues a delivery attempt, at `dueAt` when given. SQS delays at most 15 minutes: a later attempt
 * carries `due_at` and the worker sends it on again until it is due (section "backoff" in README).
 */
export async function sendNotifyMessage(message: NotifyMessage, now: Date, dueAt?: Date): Promise<void> {
  const url = getConfig().notifyQueueUrl;
  if (!url) return;
  const delay = dueAt ? Math.min(MAX_DELAY_SECONDS, Math.max(0, Math.ceil((dueAt.getTime() - now.getTime()) / 1000))) : 0;
  const body: NotifyMessage = dueAt ? { ...message, due_at: dueAt.toISOString() } : message;
  await sqs().send(new SendMessageCommand({ QueueUrl: url, MessageBody: JSON.stringify(body), DelaySeconds: delay }));
}

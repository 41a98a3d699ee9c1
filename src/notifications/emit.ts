import { createHash } from 'node:crypto';
import { ConditionalCheckFailedException } from '@aws-sdk/client-dynamodb';
import { buildBatchReport, batchProgress, taskOutcome } from '../batches/report.js';
import { getBatch, listOccurrences } from '../batches/batch-store.js';
import { loadTasks } from '../batches/batch-views.js';
import { getConfig } from '../platform/config.js';
import { logger } from '../platform/logger.js';
import type { Task } from '../tasks/task.js';
import { wants, wantsDigest, type NotificationEvent, type NotificationEventType } from './events.js';
import { claimOnce, getNotificationSettings, putDelivery, putNightEntry, type Delivery, type NotificationSettings } from './notification-store.js';
import { sendNotifyMessage } from './notify-queue.js';
import { isSlackWebhook } from './render.js';

/** Event ids are derived from what happened, so emitting the same event twice sends it once. */
export const eventId = (...parts: string[]): string => `evt_${createHash('sha256').update(parts.join('\u0000')).digest('hex').slice(0, 32)}`;

const subscribed = (settings: NotificationSettings, type: NotificationEventType): boolean =>
  settings.webhooks.some((w) => wants(w.events, type)) || (settings.email !== null && wants(settings.email.events, type) && getConfig().notificationsEmailFrom !== '');

/**
 * One delivery per channel that wants the event, each queued for the notifier. A delivery that
 * already exists (the same event emitted again) is not queued again.
 */
export async function emitEvent(settings: NotificationSettings, event: NotificationEvent, now: Date): Promise<number> {
  const targets: Pick<Delivery, 'channel' | 'target'>[] = settings.webhooks
    .filter((w) => wants(w.events, event.type))
    .map((w) => ({ channel: isSlackWebhook(w.url) ? 'slack' : 'webhook', target: w.url }) as const);
  if (settings.email && wants(settings.email.events, event.type) && getConfig().notificationsEmailFrom) {
    targets.push({ channel: 'email', target: settings.email.address });
  }
  let queued = 0;
  for (const [index, target] of targets.entries()) {
    const id = `${event.id}-${index + 1}`;
    const delivery: Delivery = {
      id,
      user_id: event.user_id,
      key: `${event.created_at}#${id}`,
      event,
      ...target,
      status: 'pending',
      attempts: 0,
      last_status_code: null,
      last_error: null,
      created_at: event.created_at,
      last_attempt_at: null,
      next_attempt_at: now.toISOString(),
      delivered_at: null,
    };
    try {
      await putDelivery(delivery, now);
    } catch (error) {
      if (error instanceof ConditionalCheckFailedException) continue;
      throw error;
    }
    await sendNotifyMessage({ user_id: event.user_id, delivery_key: delivery.key, attempt: 0 }, now);
    queued += 1;
  }
  return queued;
}

const round = (value: number) => Math.round(value * 10_000) / 10_000;

function taskEvent(task: Task, type: 'task.completed' | 'task.failed'): NotificationEvent {
  const outcome = taskOutcome(task);
  const title = type === 'task.completed' ? `Task "${task.title}" completed` : `Task "${task.title}" ${outcome === 'timed_out' ? 'timed out' : 'failed'}`;
  const text = [title, task.result_summary, task.failure_reason ? `Why: ${task.failure_reason}` : null, task.pull_request_url ? `Pull request: ${task.pull_request_url}` : null]
    .filter(Boolean)
    .join('\n\n');
  return {
    id: eventId(type, task.id, String(task.attempts), task.completed_at ?? ''),
    type,
    created_at: task.completed_at ?? new Date(0).toISOString(),
    user_id: task.user_id,
    title,
    data: {
      task: {
        id: task.id,
        title: task.title,
        status: task.status,
        outcome,
        summary: task.result_summary,
        failure_reason: task.failure_reason,
        attempts: task.attempts,
        batch_id: task.batch_id,
        branch: task.branch ?? null,
        pull_request_url: task.pull_request_url ?? null,
        agent_hours: round((task.used_seconds ?? 0) / 3600),
        credits: task.actual_credits ?? 0,
        started_at: task.started_at,
        completed_at: task.completed_at,
      },
      text,
    },
  };
}

async function notifyBatchRunIfFinished(settings: NotificationSettings, task: Task, now: Date): Promise<void> {
  if (!task.batch_id || !subscribed(settings, 'batch.run_finished')) return;
  const occurrence = (await listOccurrences(task.batch_id, 10)).find((o) => o.task_ids.includes(task.id));
  if (!occurrence || occurrence.state !== 'enqueued') return;
  const tasks = await loadTasks(occurrence.task_ids);
  if (tasks.length < occurrence.task_ids.length || !batchProgress(tasks).finished) return;
  if (!(await claimOnce(`run:${task.batch_id}:${occurrence.key}`, now))) return;
  const batch = await getBatch(task.batch_id);
  const report = buildBatchReport(tasks);
  const name = batch?.name ?? task.batch_id;
  const title = `Batch "${name}" finished: ${report.totals.completed} completed, ${report.totals.failed + report.totals.timed_out} failed`;
  const lines = report.tasks.map((entry) => `- ${entry.title}: ${entry.outcome.replace('_', ' ')}${entry.reason ? ` (${entry.reason.split('\n')[0]})` : ''}`);
  await emitEvent(
    settings,
    {
      id: eventId('batch.run_finished', task.batch_id, occurrence.key),
      type: 'batch.run_finished',
      created_at: now.toISOString(),
      user_id: task.user_id,
      title,
      data: { batch_id: task.batch_id, name, occurrence: occurrence.key, totals: report.totals, tasks: report.tasks, text: [title, lines.join('\n')].join('\n\n') },
    },
    now,
  );
}

/**
 * Called once where a task reaches a final status (task-ended.ts): `task.completed` or
 * `task.failed`, the night's record for the digest, and `batch.run_finished` when it was the
 * last of its run. Anything else (a retry back to pending) is ignored. Never throws: the task
 * has already ended, and a notification must not undo or fail that.
 */
export async function notifyTaskFinished(task: Task | null | undefined, now = new Date()): Promise<void> {
  if (!task || (task.status !== 'completed' && task.status !== 'failed' && task.status !== 'cancelled')) return;
  try {
    const settings = await getNotificationSettings(task.user_id);
    if (!settings) return;
    if (task.status !== 'cancelled') {
      const type = task.status === 'completed' ? 'task.completed' : 'task.failed';
      if (subscribed(settings, type)) await emitEvent(settings, taskEvent(task, type), now);
    }
    if (wantsDigest(settings)) await putNightEntry(task.user_id, task.id, task.completed_at ?? now.toISOString(), now);
    await notifyBatchRunIfFinished(settings, task, now);
  } catch (error) {
    logger.error('could not queue task notifications', { task_id: task.id, user_id: task.user_id, error });
  }
}

export interface QuotaNotice {
  userId: string;
  /** The space whose quota applies. */
  spaceId: string;
  /** The window's key (weekly for the warning, monthly for the block): one notice per window. */
  windowKey: string;
  message: string;
  resetsAt: string;
}

/** `quota.warning` (80 % of the weekly soft limit) or `quota.blocked` (monthly hard limit), once per user, space and window. */
export async function notifyQuota(type: 'quota.warning' | 'quota.blocked', notice: QuotaNotice, now = new Date()): Promise<void> {
  try {
    const settings = await getNotificationSettings(notice.userId);
    if (!settings || !subscribed(settings, type)) return;
    if (!(await claimOnce(`${type}:${notice.userId}:${notice.spaceId}:${notice.windowKey}`, now))) return;
    const title = type === 'quota.warning' ? `Space ${notice.spaceId}: weekly credits nearly used` : `Space ${notice.spaceId}: monthly credit limit reached`;
    await emitEvent(
      settings,
      {
        id: eventId(type, notice.userId, notice.spaceId, notice.windowKey),
        type,
        created_at: now.toISOString(),
        user_id: notice.userId,
        title,
        data: { space_id: notice.spaceId, window: notice.windowKey, message: notice.message, resets_at: notice.resetsAt, text: `${title}\n\n${notice.message}` },
      },
      now,
    );
  } catch (error) {
    logger.error('could not queue a quota notification', { user_id: notice.userId, space_id: notice.spaceId, error });
  }
}

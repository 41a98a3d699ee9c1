import { getConfig } from '../platform/config.js';
import { logger } from '../platform/logger.js';
import { count } from '../platform/metrics.js';
import { backoffSeconds, isPermanentFailure, withinWindow } from './delivery-policy.js';
import { sendEmail } from './email-sender.js';
import { getDelivery, getNotificationSettings, recordAttempt, type Delivery, type DeliveryStatus } from './notification-store.js';
import { sendNotifyMessage } from './notify-queue.js';
import { eventText, slackMessage } from './render.js';
import type { NotifyMessage } from './schemas.js';
import { EVENT_ID_HEADER, SIGNATURE_HEADER, signatureHeader } from './signature.js';
import { postWebhook } from './webhook-sender.js';

interface AttemptResult {
  ok: boolean;
  /** No retry can help (refused address, cross-host redirect, 4xx that says the request is wrong). */
  permanent: boolean;
  code: number | null;
  error: string | null;
}

/** The exact bytes a webhook receives: the event, or a Slack message for Slack's incoming webhooks. */
export const deliveryBody = (delivery: Pick<Delivery, 'channel' | 'event'>): string =>
  JSON.stringify(delivery.channel === 'slack' ? slackMessage(delivery.event) : delivery.event);

async function attempt(delivery: Delivery, now: Date): Promise<AttemptResult> {
  const config = getConfig();
  if (delivery.channel === 'email') {
    try {
      await sendEmail(config.notificationsEmailFrom, delivery.target, delivery.event.title, eventText(delivery.event));
      return { ok: true, permanent: false, code: null, error: null };
    } catch (error) {
      return { ok: false, permanent: false, code: null, error: error instanceof Error ? `${error.name}: ${error.message}` : String(error) };
    }
  }
  const settings = await getNotificationSettings(delivery.user_id);
  if (!settings) return { ok: false, permanent: true, code: null, error: 'notification settings were removed' };
  const body = deliveryBody(delivery);
  const headers = {
    'content-type': 'application/json',
    'user-agent': 'Nightshift-Webhooks/1',
    [EVENT_ID_HEADER]: delivery.event.id,
    'Nightshift-Event': delivery.event.type,
    [SIGNATURE_HEADER]: signatureHeader(settings.secret, Math.floor(now.getTime() / 1000), body),
  };
  const outcome = await postWebhook(delivery.target, body, headers, config.notificationsAllowLoopback);
  if (outcome.kind === 'refused') return { ok: false, permanent: true, code: null, error: outcome.error };
  if (outcome.kind === 'unreachable') return { ok: false, permanent: false, code: null, error: outcome.error };
  if (outcome.status >= 200 && outcome.status < 300) return { ok: true, permanent: false, code: outcome.status, error: null };
  return { ok: false, permanent: isPermanentFailure(outcome.status), code: outcome.status, error: `the receiver answered ${outcome.status}` };
}

/**
 * One attempt at one delivery (the notifier's job per queue message). At least once: a failed
 * attempt queues the next with exponential backoff before it is recorded, for up to 24 h after
 * the event; a message for an attempt already made (a redelivery) changes nothing.
 */
export async function deliverNotification(message: NotifyMessage, now = new Date()): Promise<DeliveryStatus | 'not-due' | 'stale'> {
  if (message.due_at && Date.parse(message.due_at) > now.getTime() + 1000) {
    // Longer than SQS's 15-minute delay: pass it on until it is due.
    await sendNotifyMessage({ user_id: message.user_id, delivery_key: message.delivery_key, attempt: message.attempt }, now, new Date(message.due_at));
    return 'not-due';
  }
  const delivery = await getDelivery(message.user_id, message.delivery_key);
  if (!delivery || (delivery.status !== 'pending' && delivery.status !== 'retrying') || delivery.attempts !== message.attempt) return 'stale';
  const attempts = delivery.attempts + 1;
  const result = await attempt(delivery, now);
  const recorded = { attempts, last_status_code: result.code, last_error: result.error, last_attempt_at: now.toISOString() };
  if (result.ok) {
    await recordAttempt(delivery, delivery.attempts, { ...recorded, status: 'delivered', next_attempt_at: null, delivered_at: now.toISOString() });
    count('NotificationsDelivered');
    return 'delivered';
  }
  const next = new Date(now.getTime() + backoffSeconds(attempts, getConfig().notificationsRetryBaseSeconds, Math.random()) * 1000);
  if (result.permanent || !withinWindow(delivery.created_at, next)) {
    const why = result.permanent ? result.error : `gave up after ${attempts} attempts in 24 h: ${result.error}`;
    await recordAttempt(delivery, delivery.attempts, { ...recorded, last_error: why, status: 'failed', next_attempt_at: null, delivered_at: null });
    logger.warn('notification not delivered', { user_id: delivery.user_id, delivery_id: delivery.id, event: delivery.event.type, error: why });
    count('NotificationsFailed');
    return 'failed';
  }
  await sendNotifyMessage({ user_id: delivery.user_id, delivery_key: delivery.key, attempt: attempts }, now, next);
  await recordAttempt(delivery, delivery.attempts, { ...recorded, status: 'retrying', next_attempt_at: next.toISOString(), delivered_at: null });
  return 'retrying';
}

/** The events a webhook or e-mail channel can subscribe to (wire names). */
export const NOTIFICATION_EVENTS = ['task.completed', 'task.failed', 'batch.run_finished', 'quota.warning', 'quota.blocked', 'digest'] as const;
export type NotificationEventType = (typeof NOTIFICATION_EVENTS)[number];

/**
 * One event as it goes out: the body every channel gets (JSON webhooks verbatim, Slack and
 * e-mail rendered from it). `id` is stable per event, so a receiver can drop redeliveries.
 */
export interface NotificationEvent {
  id: string;
  type: NotificationEventType;
  created_at: string;
  user_id: string;
  /** One line for people ("Task "Fix the login test" completed"). */
  title: string;
  /** Event-specific fields (the task, the batch run's totals, the quota, the digest). */
  data: Record<string, unknown>;
}

/** Whether a channel subscribed to `events` gets this event type. */
export const wants = (events: readonly NotificationEventType[], type: NotificationEventType): boolean => events.includes(type);

/** Whether any channel wants the digest, which is what puts the user on the digest schedule. */
export const wantsDigest = (settings: {
  webhooks: readonly { events: readonly NotificationEventType[] }[];
  email: { events: readonly NotificationEventType[] } | null;
  digest_at: string | null;
}): boolean => settings.digest_at !== null && (settings.webhooks.some((w) => wants(w.events, 'digest')) || (settings.email !== null && wants(settings.email.events, 'digest')));

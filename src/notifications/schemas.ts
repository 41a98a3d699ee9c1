import * as z from 'zod';
import { NOTIFICATION_EVENTS } from './events.js';

const canonicalZone = (zone: string): string | null => {
  try {
    return new Intl.DateTimeFormat('en-US', { timeZone: zone }).resolvedOptions().timeZone;
  } catch {
    return null;
  }
};

export const notificationEventSchema = z.enum(NOTIFICATION_EVENTS);

export const webhookInputSchema = z
  .object({
    url: z.string().trim().min(1).max(2048).meta({ description: 'http(s) URL; hooks.slack.com incoming webhooks get a Slack-shaped message' }),
    events: z.array(notificationEventSchema).min(1).max(NOTIFICATION_EVENTS.length).refine((events) => new Set(events).size === events.length, 'events must not repeat'),
  })
  .strict();

/** Body of PUT /api/v1/users/me/notifications: the whole setting, replaced. */
export const notificationSettingsPutSchema = z
  .object({
    webhooks: z.array(webhookInputSchema).max(10).default([]),
    email: z
      .object({
        address: z.email().max(254),
        events: z.array(notificationEventSchema).min(1).max(NOTIFICATION_EVENTS.length),
      })
      .strict()
      .nullable()
      .default(null)
      .meta({ description: 'In AWS only (SES); the address is sent from the stack’s configured sender' }),
    digest_at: z
      .string()
      .regex(/^([01]\d|2[0-3]):[0-5]\d$/, 'digest_at must be a local time "HH:MM" (00:00-23:59)')
      .nullable()
      .default(null),
    timezone: z
      .string()
      .max(64)
      .default('UTC')
      .transform((zone, ctx) => {
        const canonical = canonicalZone(zone);
        if (!canonical) {
          ctx.addIssue({ code: 'custom', message: `timezone: "${zone}" is not an IANA time zone such as Europe/Berlin` });
          return z.NEVER;
        }
        return canonical;
      }),
    rotate_secret: z.boolean().default(false).meta({ description: 'Mint a new signing secret; the answer shows it this once' }),
  })
  .strict();
export type NotificationSettingsPut = z.infer<typeof notificationSettingsPutSchema>;

export const deliveriesQuerySchema = z
  .object({
    limit: z.coerce.number().int().min(1).max(100).default(50),
  })
  .strict();

/** Body of a notifications-queue message: one delivery's next attempt, due at `due_at`. */
export const notifyMessageSchema = z.object({
  user_id: z.string().min(1),
  delivery_key: z.string().min(1),
  /** Attempts made before this one; a message whose count is stale is dropped (already handled). */
  attempt: z.number().int().min(0),
  due_at: z.iso.datetime().optional(),
});
export type NotifyMessage = z.infer<typeof notifyMessageSchema>;

/** The digest trigger's event (EventBridge rule in AWS, the local timer on one machine). */
export const digestTriggerSchema = z.object({ time: z.iso.datetime({ offset: true }).optional() }).loose();

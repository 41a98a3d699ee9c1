import * as z from 'zod';
import { instant } from '../platform/wire.js';
import { notificationEventSchema } from './schemas.js';

export const webhookResponseSchema = z.object({
  id: z.string(),
  url: z.string().meta({ description: 'Masked: scheme, host and the last characters (URLs such as Slack’s carry secrets)' }),
  slack: z.boolean(),
  events: z.array(notificationEventSchema),
});

/** The caller's notification settings; secrets masked, except `signing_secret` right after it was minted. */
export const notificationSettingsResponseSchema = z
  .object({
    webhooks: z.array(webhookResponseSchema),
    email: z.object({ address: z.string(), events: z.array(notificationEventSchema) }).nullable(),
    digest_at: z.string().nullable(),
    timezone: z.string(),
    next_digest_at: instant.nullable(),
    secret_hint: z.string().nullable().meta({ description: 'The signing secret, masked' }),
    secret_created_at: instant.nullable(),
    signing_secret: z
      .string()
      .nullable()
      .default(null)
      .meta({ description: 'Shown only in the answer that created or rotated it; verify Nightshift-Signature with it' }),
    updated_at: instant.nullable(),
  })
  .meta({
    example: {
      webhooks: [{ id: 'wh_1', url: 'https://example.com/…hook', slack: false, events: ['task.failed', 'digest'] }],
      email: null,
      digest_at: '07:00',
      timezone: 'Europe/Berlin',
      next_digest_at: '2026-10-27T06:00:00.000Z',
      secret_hint: 'whsec_…k3Xp',
      secret_created_at: '2026-10-26T22:00:00.000Z',
      signing_secret: null,
      updated_at: '2026-10-26T22:00:00.000Z',
    },
  });

export const deliveryResponseSchema = z.object({
  id: z.string(),
  event_id: z.string(),
  event: notificationEventSchema,
  channel: z.enum(['webhook', 'slack', 'email']),
  target: z.string().meta({ description: 'The masked URL or the e-mail address' }),
  status: z.enum(['pending', 'retrying', 'delivered', 'failed']),
  attempts: z.number().int(),
  last_status_code: z.number().int().nullable(),
  last_error: z.string().nullable(),
  created_at: instant,
  last_attempt_at: instant.nullable(),
  next_attempt_at: instant.nullable(),
  delivered_at: instant.nullable(),
});

export const deliveryListResponseSchema = z.object({ deliveries: z.array(deliveryResponseSchema) });

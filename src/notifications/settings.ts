import { randomBytes } from 'node:crypto';
import type * as z from 'zod';
import { getConfig } from '../platform/config.js';
import { DomainError, ValidationError } from '../platform/errors.js';
import { judgeWebhookUrl } from './address-rules.js';
import { nextDigestAt } from './digest.js';
import { wantsDigest } from './events.js';
import { maskSecret, maskUrl } from './masking.js';
import { getNotificationSettings, putNotificationSettings, SettingsChangedError, type NotificationSettings } from './notification-store.js';
import { isSlackWebhook } from './render.js';
import type { notificationSettingsResponseSchema } from './responses.js';
import type { NotificationSettingsPut } from './schemas.js';

export type NotificationSettingsView = z.input<typeof notificationSettingsResponseSchema>;

const newSecret = (): string => `whsec_${randomBytes(32).toString('base64url')}`;

export function viewSettings(settings: NotificationSettings | null, shownSecret: string | null = null): NotificationSettingsView {
  if (!settings) {
    return { webhooks: [], email: null, digest_at: null, timezone: 'UTC', next_digest_at: null, secret_hint: null, secret_created_at: null, signing_secret: null, updated_at: null };
  }
  return {
    webhooks: settings.webhooks.map((w) => ({ id: w.id, url: maskUrl(w.url), slack: isSlackWebhook(w.url), events: w.events })),
    email: settings.email,
    digest_at: settings.digest_at,
    timezone: settings.timezone,
    next_digest_at: settings.next_digest_at,
    secret_hint: maskSecret(settings.secret),
    secret_created_at: settings.secret_created_at,
    signing_secret: shownSecret,
    updated_at: settings.updated_at,
  };
}

export async function getSettingsView(userId: string): Promise<NotificationSettingsView> {
  return viewSettings(await getNotificationSettings(userId));
}

/**
 * PUT /users/me/notifications: replaces the channels and the digest time. The signing secret is
 * minted on the first PUT and on `rotate_secret`, and only that answer shows it. Every URL is
 * checked before anything is stored, so a refused one changes nothing.
 */
export async function putSettings(userId: string, input: NotificationSettingsPut, now = new Date()): Promise<NotificationSettingsView> {
  const config = getConfig();
  input.webhooks.forEach((webhook, index) => {
    const verdict = judgeWebhookUrl(webhook.url, config.notificationsAllowLoopback);
    if (!verdict.allowed) throw new ValidationError(`webhooks[${index}].url is not allowed: ${verdict.reason}`);
  });
  if (input.email && !config.notificationsEmailFrom) {
    throw new DomainError('VALIDATION_ERROR', 'E-mail notifications need a sender configured on the stack (notificationsEmailFrom); use a webhook here');
  }
  const channels = { webhooks: input.webhooks, email: input.email, digest_at: input.digest_at };
  if (channels.digest_at === null && [...input.webhooks.flatMap((w) => w.events), ...(input.email?.events ?? [])].includes('digest')) {
    throw new ValidationError('digest_at is required ("HH:MM" in timezone) when a channel subscribes to "digest"');
  }
  const current = await getNotificationSettings(userId);
  const rotate = !current || input.rotate_secret;
  const secret = rotate ? newSecret() : current.secret;
  const nextDigest = wantsDigest(channels) && input.digest_at ? nextDigestAt(input.digest_at, input.timezone, now).toISOString() : null;
  const settings: NotificationSettings = {
    user_id: userId,
    webhooks: input.webhooks.map((w, index) => ({ id: `wh_${index + 1}`, url: w.url, events: w.events })),
    email: input.email,
    digest_at: input.digest_at,
    timezone: input.timezone,
    next_digest_at: nextDigest,
    // The first digest tells the last day; later ones tell the time since the previous one.
    digest_since: current?.digest_since ?? null,
    secret,
    secret_created_at: rotate ? now.toISOString() : current.secret_created_at,
    created_at: current?.created_at ?? now.toISOString(),
    updated_at: now.toISOString(),
    version: (current?.version ?? 0) + 1,
  };
  try {
    await putNotificationSettings(settings, current?.version ?? 0);
  } catch (error) {
    if (error instanceof SettingsChangedError) throw new DomainError('CONFLICT', 'The notification settings changed at the same time; try again');
    throw error;
  }
  return viewSettings(settings, rotate ? secret : null);
}

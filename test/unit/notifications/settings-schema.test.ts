import { describe, expect, it } from 'vitest';
import { backoffSeconds, MAX_BACKOFF_SECONDS, withinWindow } from '../../../src/notifications/delivery-policy.js';
import { maskSecret, maskUrl } from '../../../src/notifications/masking.js';
import { notificationSettingsPutSchema } from '../../../src/notifications/schemas.js';

describe('notification settings body', () => {
  it('canonicalises the zone and fills defaults', () => {
    expect(notificationSettingsPutSchema.parse({ webhooks: [{ url: 'https://example.com/h', events: ['digest'] }], digest_at: '07:00', timezone: 'europe/berlin' })).toEqual({
      webhooks: [{ url: 'https://example.com/h', events: ['digest'] }],
      email: null,
      digest_at: '07:00',
      timezone: 'Europe/Berlin',
      rotate_secret: false,
    });
  });

  it.each([
    ['an unknown zone', { timezone: 'Mars/Olympus' }, 'timezone'],
    ['a time past 23:59', { digest_at: '24:00' }, 'digest_at'],
    ['a time without minutes', { digest_at: '7' }, 'digest_at'],
    ['an unknown event', { webhooks: [{ url: 'https://e.com', events: ['task.started'] }] }, 'events'],
    ['no events', { webhooks: [{ url: 'https://e.com', events: [] }] }, 'events'],
    ['repeated events', { webhooks: [{ url: 'https://e.com', events: ['digest', 'digest'] }] }, 'repeat'],
    ['a bad e-mail address', { email: { address: 'nope', events: ['digest'] } }, 'address'],
    ['an unknown field', { webhook: [] }, 'webhook'],
    ['eleven webhooks', { webhooks: Array.from({ length: 11 }, () => ({ url: 'https://e.com', events: ['digest'] })) }, 'webhooks'],
  ])('refuses %s', (_what, body, mentioned) => {
    const result = notificationSettingsPutSchema.safeParse(body);
    expect(result.success).toBe(false);
    expect(JSON.stringify(result.error?.issues)).toContain(mentioned);
  });
});

describe('delivery backoff', () => {
  it.each([
    [1, 30, 0, 30],
    [2, 30, 0, 60],
    [5, 30, 0, 480],
    [2, 30, 0.999, 72],
    [20, 30, 0, MAX_BACKOFF_SECONDS],
  ])('attempt %i with base %i s (jitter %f) waits %i s', (attempt, base, random, expected) => {
    expect(backoffSeconds(attempt, base, random)).toBe(expected);
  });

  it('gives up once the next attempt would be more than 24 h after the event', () => {
    expect(withinWindow('2026-10-26T00:00:00.000Z', new Date('2026-10-26T23:59:00Z'))).toBe(true);
    expect(withinWindow('2026-10-26T00:00:00.000Z', new Date('2026-10-27T00:00:01Z'))).toBe(false);
  });
});

describe('masking', () => {
  it('shows the host and the last characters of a URL, never the path that carries a Slack secret', () => {
    expect(maskUrl('https://hooks.slack.com/services/T000/B000/XXXXsecretYYYY')).toBe('https://hooks.slack.com/…YYYY');
    expect(maskUrl('http://127.0.0.1:8080')).toBe('http://127.0.0.1:8080');
    expect(maskSecret('whsec_abcdefghijklmnop')).toBe('whsec_…mnop');
  });
});

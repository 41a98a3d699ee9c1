import { describe, expect, it } from 'vitest';
import type { NotificationEvent } from '../../../src/notifications/events.js';
import { isSlackWebhook, slackMessage } from '../../../src/notifications/render.js';

const event: NotificationEvent = {
  id: 'evt_1',
  type: 'task.failed',
  created_at: '2026-10-26T03:00:00.000Z',
  user_id: 'alice',
  title: 'Task "Fix login" failed',
  data: { text: 'Task "Fix login" failed\n\nWhy: Timeout' },
};

describe('Slack-shaped messages', () => {
  it.each([
    ['https://hooks.slack.com/services/T0/B0/abc', true],
    ['https://hooks.slack.com.evil.example/services/x', false],
    ['https://example.com/services/x', false],
    ['not a url', false],
  ])('%s is a Slack incoming webhook: %s', (url, expected) => {
    expect(isSlackWebhook(url)).toBe(expected);
  });

  it('has the fallback text, a header and the story in mrkdwn sections', () => {
    const message = slackMessage(event);
    expect(message.text).toBe('Task "Fix login" failed');
    expect(message.blocks[0]).toEqual({ type: 'header', text: { type: 'plain_text', text: 'Task "Fix login" failed' } });
    expect(message.blocks).toContainEqual({ type: 'section', text: { type: 'mrkdwn', text: 'Why: Timeout' } });
    expect(JSON.stringify(message.blocks.at(-1))).toContain('evt_1');
  });

  it('keeps within Slack limits for a long story', () => {
    const long = { ...event, title: 'x'.repeat(400), data: { text: Array.from({ length: 80 }, (_, i) => `paragraph ${i} ${'y'.repeat(4000)}`).join('\n\n') } };
    const message = slackMessage(long);
    expect(message.blocks.length).toBeLessThanOrEqual(50);
    for (const block of message.blocks as { text?: { text: string } }[]) expect((block.text?.text ?? '').length).toBeLessThanOrEqual(3000);
  });
});

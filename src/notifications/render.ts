import type { NotificationEvent } from './events.js';

/** Slack incoming webhooks answer only to `{text, blocks}`; a plain JSON event would be refused. */
export const isSlackWebhook = (url: string): boolean => {
  try {
    const parsed = new URL(url);
    return parsed.hostname === 'hooks.slack.com' && parsed.pathname.startsWith('/services/');
  } catch {
    return false;
  }
};

/** The event as text for people (e-mail body, Slack's notification fallback). */
export function eventText(event: NotificationEvent): string {
  const text = event.data.text;
  if (typeof text === 'string') return text;
  const details = ['message', 'summary', 'reason', 'pull_request_url']
    .map((name) => event.data[name])
    .filter((value): value is string => typeof value === 'string' && value.length > 0);
  return [event.title, ...details].join('\n');
}

const SLACK_SECTION_LIMIT = 3000;
const SLACK_MAX_BLOCKS = 50;

/** A Slack-shaped message: the title as fallback text, a header, and the story in sections. */
export function slackMessage(event: NotificationEvent): { text: string; blocks: unknown[] } {
  const body = eventText(event);
  const paragraphs = body === event.title ? [] : body.split('\n\n').filter((p) => p !== event.title && p !== `${event.title}.`);
  const sections = paragraphs.slice(0, SLACK_MAX_BLOCKS - 2).map((paragraph) => ({
    type: 'section',
    text: { type: 'mrkdwn', text: paragraph.slice(0, SLACK_SECTION_LIMIT) },
  }));
  return {
    text: event.title,
    blocks: [
      { type: 'header', text: { type: 'plain_text', text: event.title.slice(0, 150) } },
      ...sections,
      { type: 'context', elements: [{ type: 'mrkdwn', text: `${event.type} · ${event.id}` }] },
    ],
  };
}

import { getBatch } from '../batches/batch-store.js';
import { loadTasks } from '../batches/batch-views.js';
import { logger } from '../platform/logger.js';
import { listPendingTasks } from '../tasks/task-store.js';
import { buildDigest, nextDigestAt } from './digest.js';
import { emitEvent, eventId } from './emit.js';
import { getNotificationSettings, listDueDigests, listNightEntries, putNotificationSettings, SettingsChangedError } from './notification-store.js';

const DAY_MS = 24 * 3600 * 1000;
/** Tasks one digest tells at most (a night of thousands gets the first ones and the totals of those). */
const MAX_TASKS = 500;
const MAX_QUEUED = 50;

export interface DigestRunResult {
  due: number;
  sent: number;
  /** Due, but the night had nothing to say. */
  empty: number;
}

/** One user's digest if it is due: emit it (when there is something to say), then move to the next day. */
async function runDigest(userId: string, now: Date, result: DigestRunResult): Promise<void> {
  const settings = await getNotificationSettings(userId);
  if (!settings?.next_digest_at || !settings.digest_at || settings.next_digest_at > now.toISOString()) return;
  const until = new Date(settings.next_digest_at);
  const since = settings.digest_since ? new Date(settings.digest_since) : new Date(until.getTime() - DAY_MS);
  const ids = [...new Set(await listNightEntries(userId, since.toISOString(), until.toISOString(), MAX_TASKS))];
  const finished = await loadTasks(ids);
  const queued = await listPendingTasks(userId, MAX_QUEUED);
  const batchNames: Record<string, string> = {};
  for (const batchId of new Set(finished.map((task) => task.batch_id).filter((id): id is string => id !== null))) {
    batchNames[batchId] = (await getBatch(batchId))?.name ?? batchId;
  }
  const digest = buildDigest({ since, until, timezone: settings.timezone, finished, queued, batchNames });
  if (digest) {
    // The event id and time come from the digest's instant, so a second trigger for the same one sends nothing new.
    await emitEvent(settings, { id: eventId('digest', userId, until.toISOString()), type: 'digest', created_at: until.toISOString(), user_id: userId, title: digest.headline, data: { ...digest } }, now);
    result.sent += 1;
  } else {
    result.empty += 1;
  }
  try {
    await putNotificationSettings(
      { ...settings, digest_since: until.toISOString(), next_digest_at: nextDigestAt(settings.digest_at, settings.timezone, now).toISOString(), version: settings.version + 1 },
      settings.version,
    );
  } catch (error) {
    // Someone changed the settings meanwhile (a PUT, another trigger); the next trigger looks again.
    if (!(error instanceof SettingsChangedError)) throw error;
  }
}

/**
 * The digest trigger (EventBridge every minute in AWS, the local runtime's timer on one machine):
 * the users whose digest time has come, from the sparse due index, each told their night.
 */
export async function runDueDigests(now = new Date(), limit = 100): Promise<DigestRunResult> {
  const result: DigestRunResult = { due: 0, sent: 0, empty: 0 };
  for (const userId of await listDueDigests(now, limit)) {
    result.due += 1;
    try {
      await runDigest(userId, now, result);
    } catch (error) {
      logger.error('could not send a digest; retried next minute', { user_id: userId, error });
    }
  }
  return result;
}

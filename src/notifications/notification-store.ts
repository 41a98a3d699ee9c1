import { ConditionalCheckFailedException } from '@aws-sdk/client-dynamodb';
import { GetCommand, PutCommand, QueryCommand, UpdateCommand } from '@aws-sdk/lib-dynamodb';
import { ddb } from '../platform/aws.js';
import { getConfig } from '../platform/config.js';
import type { NotificationEvent, NotificationEventType } from './events.js';

/*
 * Notifications, all in the user's item collection pk USER#<user> unless said otherwise:
 *   sk NOTIFY#SETTINGS                  channels, digest time and zone, the signing secret
 *                                        due: duepk DIGEST, duesk <next digest instant>#<user>  (only with a digest channel)
 *   sk NOTIFY#DELIVERY#<created>#<id>   one event to one channel: the body and how its attempts went (TTL 30 days)
 *   sk NOTIFY#NIGHT#<ended>#<task>      a task that ended, for the next digest (only with a digest channel; TTL 8 days)
 *   pk NOTIFY#ONCE#<key>, sk ONCE       an event emitted once (a batch run's end, a quota window's warning; TTL 60 days)
 * The signing secret is stored as is: signing needs it (a hash would not do), and it never leaves
 * the API except in the answer that minted it.
 */
const userPk = (userId: string) => `USER#${userId}`;
const SETTINGS_SK = 'NOTIFY#SETTINGS';
const DELIVERY_PREFIX = 'NOTIFY#DELIVERY#';
const NIGHT_PREFIX = 'NOTIFY#NIGHT#';
const DUE_DIGEST = 'DIGEST';
const DERIVED = ['pk', 'sk', 'duepk', 'duesk', 'expires_at'] as const;

const DELIVERY_TTL_SECONDS = 30 * 24 * 3600;
const NIGHT_TTL_SECONDS = 8 * 24 * 3600;
const ONCE_TTL_SECONDS = 60 * 24 * 3600;

export interface WebhookChannel {
  id: string;
  url: string;
  events: NotificationEventType[];
}

export interface NotificationSettings {
  user_id: string;
  webhooks: WebhookChannel[];
  email: { address: string; events: NotificationEventType[] } | null;
  digest_at: string | null;
  timezone: string;
  /** When the next digest is due; null without a digest channel. */
  next_digest_at: string | null;
  /** Start of the window the next digest tells (the previous digest's time). */
  digest_since: string | null;
  secret: string;
  secret_created_at: string;
  created_at: string;
  updated_at: string;
  version: number;
}

export type DeliveryChannel = 'webhook' | 'slack' | 'email';
export type DeliveryStatus = 'pending' | 'retrying' | 'delivered' | 'failed';

export interface Delivery {
  id: string;
  user_id: string;
  /** Sort key part `<created>#<id>`, what a queue message names. */
  key: string;
  event: NotificationEvent;
  channel: DeliveryChannel;
  /** Webhook URL (stored in full; masked on the way out) or e-mail address. */
  target: string;
  status: DeliveryStatus;
  attempts: number;
  last_status_code: number | null;
  last_error: string | null;
  created_at: string;
  last_attempt_at: string | null;
  next_attempt_at: string | null;
  delivered_at: string | null;
}

const strip = (item: Record<string, unknown>): Record<string, unknown> => {
  const copy = { ...item };
  for (const attribute of DERIVED) delete copy[attribute];
  return copy;
};
const epochSeconds = (now: Date, ttl: number) => Math.floor(now.getTime() / 1000) + ttl;

export async function getNotificationSettings(userId: string): Promise<NotificationSettings | null> {
  const result = await ddb().send(new GetCommand({ TableName: getConfig().tableName, Key: { pk: userPk(userId), sk: SETTINGS_SK }, ConsistentRead: true }));
  return result.Item ? (strip(result.Item) as unknown as NotificationSettings) : null;
}

/** Thrown when the settings changed since they were read (a concurrent PUT or digest run). */
export class SettingsChangedError extends Error {
  constructor() {
    super('notification settings changed concurrently');
    this.name = 'SettingsChangedError';
  }
}

/** Writes the settings if they are still at `expectedVersion` (0: not there yet). */
export async function putNotificationSettings(settings: NotificationSettings, expectedVersion: number): Promise<void> {
  const item: Record<string, unknown> = { ...settings, pk: userPk(settings.user_id), sk: SETTINGS_SK };
  if (settings.next_digest_at) {
    item.duepk = DUE_DIGEST;
    item.duesk = `${settings.next_digest_at}#${settings.user_id}`;
  }
  try {
    await ddb().send(
      new PutCommand({
        TableName: getConfig().tableName,
        Item: item,
        ConditionExpression: expectedVersion === 0 ? 'attribute_not_exists(pk)' : 'version = :v',
        ExpressionAttributeValues: expectedVersion === 0 ? undefined : { ':v': expectedVersion },
      }),
    );
  } catch (error) {
    if (error instanceof ConditionalCheckFailedException) throw new SettingsChangedError();
    throw error;
  }
}

/** Users whose digest is due at `now` (the sparse due index; no scan). */
export async function listDueDigests(now: Date, limit: number): Promise<string[]> {
  const result = await ddb().send(
    new QueryCommand({
      TableName: getConfig().tableName,
      IndexName: 'due',
      KeyConditionExpression: 'duepk = :p AND duesk <= :now',
      ExpressionAttributeValues: { ':p': DUE_DIGEST, ':now': `${now.toISOString()}#\uffff` },
      Limit: limit,
    }),
  );
  return (result.Items ?? []).map((item) => String(item.duesk).split('#').slice(1).join('#'));
}

export async function putDelivery(delivery: Delivery, now: Date): Promise<void> {
  await ddb().send(
    new PutCommand({
      TableName: getConfig().tableName,
      Item: { ...delivery, pk: userPk(delivery.user_id), sk: `${DELIVERY_PREFIX}${delivery.key}`, expires_at: epochSeconds(now, DELIVERY_TTL_SECONDS) },
      ConditionExpression: 'attribute_not_exists(pk)',
    }),
  );
}

export async function getDelivery(userId: string, key: string): Promise<Delivery | null> {
  const result = await ddb().send(new GetCommand({ TableName: getConfig().tableName, Key: { pk: userPk(userId), sk: `${DELIVERY_PREFIX}${key}` }, ConsistentRead: true }));
  return result.Item ? (strip(result.Item) as unknown as Delivery) : null;
}

/**
 * Records an attempt's outcome if the delivery is still at `expectedAttempts` attempts; false
 * when another worker got there first (a redelivered queue message), so the caller stops.
 */
export async function recordAttempt(
  delivery: Delivery,
  expectedAttempts: number,
  change: Pick<Delivery, 'status' | 'attempts' | 'last_status_code' | 'last_error' | 'last_attempt_at' | 'next_attempt_at' | 'delivered_at'>,
): Promise<boolean> {
  try {
    await ddb().send(
      new UpdateCommand({
        TableName: getConfig().tableName,
        Key: { pk: userPk(delivery.user_id), sk: `${DELIVERY_PREFIX}${delivery.key}` },
        UpdateExpression:
          'SET #status = :status, attempts = :attempts, last_status_code = :code, last_error = :error, last_attempt_at = :at, next_attempt_at = :next, delivered_at = :delivered',
        ConditionExpression: 'attempts = :expected AND #status IN (:pending, :retrying)',
        ExpressionAttributeNames: { '#status': 'status' },
        ExpressionAttributeValues: {
          ':status': change.status,
          ':attempts': change.attempts,
          ':code': change.last_status_code,
          ':error': change.last_error,
          ':at': change.last_attempt_at,
          ':next': change.next_attempt_at,
          ':delivered': change.delivered_at,
          ':expected': expectedAttempts,
          ':pending': 'pending',
          ':retrying': 'retrying',
        },
      }),
    );
    return true;
  } catch (error) {
    if (error instanceof ConditionalCheckFailedException) return false;
    throw error;
  }
}

/** The user's latest deliveries, newest first. */
export async function listDeliveries(userId: string, limit: number): Promise<Delivery[]> {
  const result = await ddb().send(
    new QueryCommand({
      TableName: getConfig().tableName,
      KeyConditionExpression: 'pk = :p AND begins_with(sk, :s)',
      ExpressionAttributeValues: { ':p': userPk(userId), ':s': DELIVERY_PREFIX },
      ScanIndexForward: false,
      Limit: limit,
    }),
  );
  return (result.Items ?? []).map((item) => strip(item) as unknown as Delivery);
}

/** Notes a task that ended, for the user's next digest. */
export async function putNightEntry(userId: string, taskId: string, endedAt: string, now: Date): Promise<void> {
  await ddb().send(
    new PutCommand({
      TableName: getConfig().tableName,
      Item: { pk: userPk(userId), sk: `${NIGHT_PREFIX}${endedAt}#${taskId}`, task_id: taskId, ended_at: endedAt, expires_at: epochSeconds(now, NIGHT_TTL_SECONDS) },
    }),
  );
}

/** Ids of the tasks that ended in [since, until), oldest first (at most `limit`). */
export async function listNightEntries(userId: string, since: string, until: string, limit: number): Promise<string[]> {
  const result = await ddb().send(
    new QueryCommand({
      TableName: getConfig().tableName,
      KeyConditionExpression: 'pk = :p AND sk BETWEEN :from AND :to',
      ExpressionAttributeValues: { ':p': userPk(userId), ':from': `${NIGHT_PREFIX}${since}`, ':to': `${NIGHT_PREFIX}${until}` },
      Limit: limit,
    }),
  );
  return (result.Items ?? []).map((item) => String(item.task_id));
}

/** True the first time `key` is claimed, false ever after: the guard for once-per-window events. */
export async function claimOnce(key: string, now: Date): Promise<boolean> {
  try {
    await ddb().send(
      new PutCommand({
        TableName: getConfig().tableName,
        Item: { pk: `NOTIFY#ONCE#${key}`, sk: 'ONCE', created_at: now.toISOString(), expires_at: epochSeconds(now, ONCE_TTL_SECONDS) },
        ConditionExpression: 'attribute_not_exists(pk)',
      }),
    );
    return true;
  } catch (error) {
    if (error instanceof ConditionalCheckFailedException) return false;
    throw error;
  }
}

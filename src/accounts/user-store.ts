import { GetCommand, QueryCommand } from '@aws-sdk/lib-dynamodb';
import { batchGetInOrder } from '../platform/dynamodb/batch-get.js';
import { ddb } from '../platform/aws.js';
import { getConfig } from '../platform/config.js';
import { newUserAccount, schedulingState, limitsOf, type SchedulingState, type UserAccount } from './account.js';
import type { TransactItem } from '../platform/dynamodb/transact.js';
import { mergeBySortKey, randomShard, shardedKey, shardKeysToRead } from '../scheduling/shards.js';

/*
 * User accounts: pk USER#<id>, sk PROFILE. The item also carries the scheduler's sparse index
 * keys, derived from the account on every write so they can never disagree with the counters:
 *   ready index: readypk READY#<n>, readysk <running>#<last_served_at>#<id>   (has pending work, a free slot)
 *   due index:   duepk DEFERRED#<n>, duesk <wake time>#<id>                   (waits for not_before or an hours reset)
 * n is the user's shard (src/scheduling/shards.ts, SCHEDULER_SHARDS); readers query every shard.
 */
const key = (userId: string) => ({ pk: `USER#${userId}`, sk: 'PROFILE' });
/** The account item's key (for reading it in one BatchGetItem with other items). */
export const userItemKey = key;
const INDEX_ATTRIBUTES = ['readypk', 'readysk', 'duepk', 'duesk', 'blocked_reason', 'pk', 'sk'] as const;

export interface StoredUser extends UserAccount {
  blocked_reason: string | null;
}

/** The account an item read from the table holds (a BatchGetItem of its `userItemKey`). */
export function toAccount(item: Record<string, unknown>): StoredUser {
  const copy: Record<string, unknown> = { ...item };
  for (const attribute of INDEX_ATTRIBUTES) delete copy[attribute];
  return { ...(copy as unknown as UserAccount), blocked_reason: (item.blocked_reason as string | undefined) ?? null };
}

/** The account, or a fresh free-plan account (not yet stored, version 0) for a first-time user. */
export async function getUser(userId: string, now: Date): Promise<StoredUser> {
  const result = await ddb().send(
    new GetCommand({ TableName: getConfig().tableName, Key: key(userId), ConsistentRead: true }),
  );
  return result.Item ? toAccount(result.Item) : { ...newUserAccount(userId, now), blocked_reason: null };
}

/** The stored accounts of `userIds` (at most 100), as fresh as the table, in one BatchGetItem; users with none are left out. */
export async function getStoredAccounts(userIds: readonly string[]): Promise<Map<string, StoredUser>> {
  const items = await batchGetInOrder(userIds.map(key), { consistent: true });
  return new Map(items.map((item) => [item.user_id as string, toAccount(item)]));
}

/** The account's scheduling state under its limits as configured here: what the indexes file it by. */
export const schedulingStateNow = (account: UserAccount, now: Date): SchedulingState => schedulingState(account, limitsOf(account, getConfig().maxPendingPerUser), now);

/**
 * A transaction item that writes `next` if the stored version is still `next.version - 1`
 * (or the user does not exist yet when that is 0).
 */
export function putUserItem(next: UserAccount, now: Date): TransactItem {
  const state = schedulingStateNow(next, now);
  const item: Record<string, unknown> = { ...next, ...key(next.user_id) };
  item.blocked_reason = null;
  const shards = getConfig().schedulerShards;
  if (state.kind === 'ready') {
    item.readypk = shardedKey('READY', next.user_id, shards);
    item.readysk = state.sortKey;
  } else if (state.kind === 'deferred') {
    item.duepk = shardedKey('DEFERRED', next.user_id, shards);
    item.duesk = `${state.until}#${next.user_id}`;
    item.blocked_reason = state.reason;
  }
  const expected = next.version - 1;
  return {
    Put: {
      TableName: getConfig().tableName,
      Item: item,
      ConditionExpression: expected === 0 ? 'attribute_not_exists(pk) OR version = :v' : 'version = :v',
      ExpressionAttributeValues: { ':v': expected },
    },
  };
}

export interface ReadyUser {
  userId: string;
  /** Tasks the user has claimed or running; the ready index's first ordering key. */
  running: number;
  /** When the user was last served, as the index entry read says (its second ordering key). */
  servedAt?: string | null;
}

/** A read of the ready index: the users, and whether they are all there are. */
export interface ReadyPage {
  users: ReadyUser[];
  /** Every shard was read to its end and nothing was cut: no ready user exists beyond `users` (as the index stood). */
  complete: boolean;
}

/**
 * Users with pending work and a free slot, fewest running first, then least recently served:
 * the best `ceil(limit / shards) + 1` of every shard (queried in parallel), merged in that order
 * and cut to `limit`. The best user of all is always in the answer; a user at rank r in its
 * shard is in it within ceil(r / (ceil(limit / shards) + 1)) passes (docs/data-model.md).
 */
export async function listReadyUsers(limit: number): Promise<ReadyPage> {
  const shards = getConfig().schedulerShards;
  const perShard = shards <= 1 ? limit : Math.ceil(limit / shards) + 1;
  const pages = await Promise.all(
    shardKeysToRead('READY', shards, randomShard(shards, Math.random)).map((partition) =>
      ddb().send(
        new QueryCommand({
          TableName: getConfig().tableName,
          IndexName: 'ready',
          KeyConditionExpression: 'readypk = :p',
          ExpressionAttributeValues: { ':p': partition },
          ProjectionExpression: 'user_id, readysk',
          Limit: perShard,
        }),
      ),
    ),
  );
  const items = pages.map((page) => page.Items ?? []);
  const users = mergeBySortKey(items, 'readysk', limit).map((item) => {
    const [running, servedAt] = String(item.readysk).split('#');
    return { userId: item.user_id as string, running: Number.parseInt(running ?? '0', 10), servedAt: servedAt === undefined || servedAt === 'null' ? null : servedAt };
  });
  const complete = pages.every((page) => !page.LastEvaluatedKey) && items.flat().length <= limit;
  return { users, complete };
}

/**
 * Users still filed under the unsharded `READY` or `DEFERRED` key (accounts last written before
 * the keys were sharded), up to `limit`: the sweeper re-files them into their shards, which is
 * why the orchestrator's reads above skip those keys. None with one shard (the keys are the same).
 */
export async function listUnshardedUserIds(limit: number): Promise<string[]> {
  if (getConfig().schedulerShards <= 1) return [];
  const pages = await Promise.all(
    (
      [
        ['ready', 'readypk', 'READY'],
        ['due', 'duepk', 'DEFERRED'],
      ] as const
    ).map(([index, key, partition]) =>
      ddb().send(
        new QueryCommand({
          TableName: getConfig().tableName,
          IndexName: index,
          KeyConditionExpression: '#k = :p',
          ExpressionAttributeNames: { '#k': key },
          ExpressionAttributeValues: { ':p': partition },
          ProjectionExpression: 'user_id',
          Limit: limit,
        }),
      ),
    ),
  );
  return [...new Set(pages.flatMap((page) => (page.Items ?? []).map((item) => item.user_id as string)))].slice(0, limit);
}

/**
 * Users whose wait (not_before, hours reset) is over by `now`, longest due first, up to `limit`
 * (every shard is queried in parallel and the answers merged).
 */
export async function listDueDeferredUserIds(now: Date, limit: number): Promise<string[]> {
  const shards = getConfig().schedulerShards;
  const pages = await Promise.all(
    shardKeysToRead('DEFERRED', shards, randomShard(shards, Math.random)).map((partition) =>
      ddb().send(
        new QueryCommand({
          TableName: getConfig().tableName,
          IndexName: 'due',
          KeyConditionExpression: 'duepk = :p AND duesk <= :now',
          ExpressionAttributeValues: { ':p': partition, ':now': `${now.toISOString()}#\uffff` },
          ProjectionExpression: 'user_id, duesk',
          Limit: limit,
        }),
      ),
    ),
  );
  return mergeBySortKey(pages.map((page) => page.Items ?? []), 'duesk', limit).map((item) => item.user_id as string);
}

import { BatchGetCommand, DeleteCommand, GetCommand, PutCommand, QueryCommand } from '@aws-sdk/lib-dynamodb';
import { ddb } from '../platform/aws.js';
import { getConfig } from '../platform/config.js';
import { queryByUserPage } from '../platform/dynamodb/query.js';
import { batchGetInOrder } from '../platform/dynamodb/batch-get.js';
import type { TransactItem } from '../platform/dynamodb/transact.js';

/*
 * Spaces and their credit counters, all in the space's partition:
 *   space:   pk SPACE#<id>, sk SPACE              owner, members, quota, active overrides, version
 *   counter: pk SPACE#<id>, sk USAGE#<window>     used_units in one window: `W<first day>` (weekly) or `M<first day>` (monthly)
 *   waiter:  pk SPACE#<id>, sk WAITING#<user>     a user whose tasks wait for this space's quota (TTL: expires_at)
 *   member:  pk SPACE#<id>, sk MEMBER#<user>      the owner and each member; listed per user through byUser with
 *            gsi1pk USER#<user>#SPACES, gsi1sk <space id> (a partition of its own, so a task list never sees them)
 * A new window is a new counter item, so nothing has to reset counters, and a refund always
 * lands in the window its charge was counted in. Personal spaces (`personal:<user>`) have no
 * space item, only counters. Amounts are integer credit units (1/10 000 credit): sums are exact.
 */
const spaceKey = (spaceId: string) => ({ pk: `SPACE#${spaceId}`, sk: 'SPACE' });
const counterKey = (spaceId: string, window: string) => ({ pk: `SPACE#${spaceId}`, sk: `USAGE#${window}` });
const waiterKey = (spaceId: string, userId: string) => ({ pk: `SPACE#${spaceId}`, sk: `WAITING#${userId}` });
const memberKey = (spaceId: string, userId: string) => ({ pk: `SPACE#${spaceId}`, sk: `MEMBER#${userId}` });
const memberListPartition = (userId: string) => `USER#${userId}#SPACES`;

export interface SpaceQuota {
  monthly_limit: number | null;
  weekly_limit: number | null;
  /** Absent: a sub-space with limits uses its own quota, one without draws from its parent. */
  inherit?: boolean;
  weekly_reset_day: number;
  monthly_reset_day: number;
}

/** An admin's time-boxed grant; the space keeps the ones still in force, the ledger keeps all. */
export interface SpaceOverride {
  id: string;
  credits: number;
  expires_at: string;
  created_at: string;
}

export interface Space {
  id: string;
  name: string;
  owner_id: string;
  parent_id: string | null;
  /** Besides the owner, who is always a member. */
  members: string[];
  quota: SpaceQuota | null;
  overrides: SpaceOverride[];
  /** The owner's billing day when the space was made: the monthly reset day unless the quota names one. */
  billing_day: number;
  /** Bumped by every write; charges check it, so a limit or override change re-runs them. */
  version: number;
  created_at: string;
  updated_at: string;
}

/** The users a space's membership items stand for: its owner and its members. */
export const spaceUsers = (space: Pick<Space, 'owner_id' | 'members'>): string[] => [...new Set([space.owner_id, ...space.members])];

/**
 * The writes that move the membership items from the users of `before` (none for a new space) to
 * those of `after`: a put for each user added, a delete for each user removed.
 */
export function membershipChangeItems(spaceId: string, before: readonly string[], after: readonly string[]): TransactItem[] {
  const tableName = getConfig().tableName;
  const added = after.filter((user) => !before.includes(user));
  const removed = before.filter((user) => !after.includes(user));
  return [
    ...added.map((user): TransactItem => ({
      Put: { TableName: tableName, Item: { ...memberKey(spaceId, user), gsi1pk: memberListPartition(user), gsi1sk: spaceId, space_id: spaceId, user_id: user } },
    })),
    ...removed.map((user): TransactItem => ({ Delete: { TableName: tableName, Key: memberKey(spaceId, user) } })),
  ];
}

/** One page of the ids of the spaces `userId` owns or is a member of, by id. */
export async function listMemberSpaceIds(userId: string, options: { limit: number; cursor?: string }): Promise<{ spaceIds: string[]; nextCursor: string | null }> {
  // The membership entry's sort key on the index is the space id: the keys alone answer.
  const page = await queryByUserPage(memberListPartition(userId), { ...options, keysOnly: true });
  return { spaceIds: page.items.map((item) => item.gsi1sk as string), nextCursor: page.nextCursor };
}

/** The spaces of `spaceIds` that exist (at most 100 ids), in the order of `spaceIds`. */
export async function getSpaces(spaceIds: readonly string[]): Promise<Space[]> {
  return (await batchGetInOrder(spaceIds.map((id) => spaceKey(id)), { consistent: true })).map(toSpace);
}

const toSpace = (item: Record<string, unknown>): Space => {
  const { pk: _pk, sk: _sk, ...rest } = item;
  return rest as unknown as Space;
};

export async function getSpace(spaceId: string): Promise<Space | null> {
  const result = await ddb().send(
    new GetCommand({ TableName: getConfig().tableName, Key: spaceKey(spaceId), ConsistentRead: true }),
  );
  return result.Item ? toSpace(result.Item) : null;
}

/** Writes `space` if the stored version is still `space.version - 1` (or, for version 1, if it is new). */
export function putSpaceItem(space: Space): TransactItem {
  const isNew = space.version === 1;
  return {
    Put: {
      TableName: getConfig().tableName,
      Item: { ...space, ...spaceKey(space.id) },
      ConditionExpression: isNew ? 'attribute_not_exists(pk)' : 'version = :v',
      ExpressionAttributeValues: isNew ? undefined : { ':v': space.version - 1 },
    },
  };
}

/** Holds a transaction to the space as it was read (quota, overrides and parent unchanged). */
export function spaceUnchangedItem(space: Pick<Space, 'id' | 'version'>): TransactItem {
  return {
    ConditionCheck: {
      TableName: getConfig().tableName,
      Key: spaceKey(space.id),
      ConditionExpression: 'version = :v',
      ExpressionAttributeValues: { ':v': space.version },
    },
  };
}

/** Units used in each of `windows` (0 for a window nobody has charged yet). */
export async function getUsageUnits(spaceId: string, windows: readonly string[]): Promise<Record<string, number>> {
  const tableName = getConfig().tableName;
  const result = await ddb().send(
    new BatchGetCommand({
      RequestItems: { [tableName]: { Keys: windows.map((window) => counterKey(spaceId, window)), ConsistentRead: true } },
    }),
  );
  const usage: Record<string, number> = Object.fromEntries(windows.map((window) => [window, 0]));
  for (const item of result.Responses?.[tableName] ?? []) usage[item.window as string] = (item.used_units as number | undefined) ?? 0;
  return usage;
}

/**
 * Moves one window's counter by `deltaUnits`. With `maxUnitsBefore`, only while the counter is at
 * most that: this is how the hard limit holds inside the charge's transaction.
 */
export function usageChangeItem(spaceId: string, window: string, deltaUnits: number, now: Date, maxUnitsBefore?: number): TransactItem {
  const values: Record<string, unknown> = { ':d': deltaUnits, ':s': spaceId, ':w': window, ':now': now.toISOString() };
  let condition: string | undefined;
  if (maxUnitsBefore !== undefined) {
    // A negative bound can never be met, not even by a window nobody has charged yet.
    condition = maxUnitsBefore < 0 ? 'used_units <= :max' : 'attribute_not_exists(used_units) OR used_units <= :max';
    values[':max'] = maxUnitsBefore;
  }
  return {
    Update: {
      TableName: getConfig().tableName,
      Key: counterKey(spaceId, window),
      UpdateExpression: 'SET space_id = :s, #w = :w, updated_at = :now ADD used_units :d',
      ConditionExpression: condition,
      ExpressionAttributeNames: { '#w': 'window' },
      ExpressionAttributeValues: values,
    },
  };
}

/** Notes that `userId` has work waiting for this space's quota until `until` (kept a day longer). */
export async function putWaiter(spaceId: string, userId: string, until: Date): Promise<void> {
  await ddb().send(
    new PutCommand({
      TableName: getConfig().tableName,
      Item: {
        ...waiterKey(spaceId, userId),
        user_id: userId,
        until: until.toISOString(),
        expires_at: Math.ceil(until.getTime() / 1000) + 86_400,
      },
    }),
  );
}

/** Users with work waiting for this space's quota (bounded by `limit`). */
export async function listWaiters(spaceId: string, limit = 1000): Promise<string[]> {
  const users: string[] = [];
  let start: Record<string, unknown> | undefined;
  do {
    const result = await ddb().send(
      new QueryCommand({
        TableName: getConfig().tableName,
        KeyConditionExpression: 'pk = :p AND begins_with(sk, :s)',
        ExpressionAttributeValues: { ':p': `SPACE#${spaceId}`, ':s': 'WAITING#' },
        ProjectionExpression: 'user_id',
        Limit: limit - users.length,
        ExclusiveStartKey: start,
      }),
    );
    users.push(...(result.Items ?? []).map((item) => item.user_id as string));
    start = result.LastEvaluatedKey;
  } while (start && users.length < limit);
  return users;
}

export async function deleteWaiter(spaceId: string, userId: string): Promise<void> {
  await ddb().send(new DeleteCommand({ TableName: getConfig().tableName, Key: waiterKey(spaceId, userId) }));
}

import { GetCommand } from '@aws-sdk/lib-dynamodb';
import { ddb } from '../platform/aws.js';
import { getConfig } from '../platform/config.js';
import { ValidationError } from '../platform/errors.js';
import { BATCH_GET_MAX_KEYS, queryWholeItems } from '../platform/dynamodb/batch-get.js';
import type { TransactItem } from '../platform/dynamodb/transact.js';
import { sortKeyOf, type OverrideRequest, type OverrideRequestStatus } from './override-request.js';

/*
 * Override requests: pk OVERRIDE_REQUEST#<id>, sk OVERRIDE_REQUEST, listed newest first through
 *   byUser:       gsi1pk SPACE#<space>#OVERRIDE_REQUESTS, gsi1sk <created_at>#<id>   a space's requests
 *   byUserStatus: gsi2pk OVERRIDE_REQUESTS#<status>,      gsi2sk <created_at>#<id>   admins' queue per status
 * Deciding moves the item to another status partition but keeps its sort key, so a listing's
 * cursor (the sort key of the last row it returned) stays valid across decisions. Admins' list of
 * every status merges the three partitions: requests are few, and no index is added for them.
 */
const key = (requestId: string) => ({ pk: `OVERRIDE_REQUEST#${requestId}`, sk: 'OVERRIDE_REQUEST' });
const spacePartition = (spaceId: string) => `SPACE#${spaceId}#OVERRIDE_REQUESTS`;
const statusPartition = (status: OverrideRequestStatus) => `OVERRIDE_REQUESTS#${status}`;
const KEYS = ['pk', 'sk', 'gsi1pk', 'gsi1sk', 'gsi2pk', 'gsi2sk'] as const;

const toRequest = (item: Record<string, unknown>): OverrideRequest => {
  const copy: Record<string, unknown> = { ...item };
  for (const attribute of KEYS) delete copy[attribute];
  return copy as unknown as OverrideRequest;
};

const itemOf = (request: OverrideRequest): Record<string, unknown> => ({
  ...request,
  ...key(request.request_id),
  gsi1pk: spacePartition(request.space_id),
  gsi1sk: sortKeyOf(request),
  gsi2pk: statusPartition(request.status),
  gsi2sk: sortKeyOf(request),
});

export async function getOverrideRequest(requestId: string): Promise<OverrideRequest | null> {
  const result = await ddb().send(new GetCommand({ TableName: getConfig().tableName, Key: key(requestId), ConsistentRead: true }));
  return result.Item ? toRequest(result.Item) : null;
}

/** A transaction item writing a new request (never over an existing one). */
export function putNewOverrideRequestItem(request: OverrideRequest): TransactItem {
  return { Put: { TableName: getConfig().tableName, Item: itemOf(request), ConditionExpression: 'attribute_not_exists(pk)' } };
}

/** A transaction item writing the decided request, only while the stored one is still pending in the same space. */
export function decideOverrideRequestItem(decided: OverrideRequest): TransactItem {
  return {
    Put: {
      TableName: getConfig().tableName,
      Item: itemOf(decided),
      ConditionExpression: '#status = :pending AND space_id = :space',
      ExpressionAttributeNames: { '#status': 'status' },
      ExpressionAttributeValues: { ':pending': 'pending', ':space': decided.space_id },
    },
  };
}

/** The cursor of a listing: the sort key of the last row it returned, opaque to callers. */
const SORT_KEY = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d{1,3})?Z#[0-9a-f-]{36}$/;

function decodeBefore(cursor: string | undefined): string | undefined {
  if (cursor === undefined) return undefined;
  const before = Buffer.from(cursor, 'base64url').toString('utf8');
  if (!SORT_KEY.test(before)) throw new ValidationError('cursor is not a cursor this listing returned');
  return before;
}

export const encodeBefore = (request: OverrideRequest): string => Buffer.from(sortKeyOf(request), 'utf8').toString('base64url');

async function queryNewestFirst(index: 'byUser' | 'byUserStatus', partition: string, limit: number, before: string | undefined): Promise<OverrideRequest[]> {
  const [pk, sk] = index === 'byUser' ? ['gsi1pk', 'gsi1sk'] : ['gsi2pk', 'gsi2sk'];
  const requests: OverrideRequest[] = [];
  let start: Record<string, unknown> | undefined;
  do {
    // Keys-only index: each page's requests come from one BatchGetItem (one that has left this
    // status since is left out).
    const result = await queryWholeItems({
      IndexName: index,
      KeyConditionExpression: before ? `${pk} = :p AND ${sk} < :before` : `${pk} = :p`,
      ExpressionAttributeValues: before ? { ':p': partition, ':before': before } : { ':p': partition },
      ScanIndexForward: false,
      Limit: Math.min(limit - requests.length, BATCH_GET_MAX_KEYS),
      ExclusiveStartKey: start,
    });
    requests.push(...result.Items.map(toRequest));
    start = result.LastEvaluatedKey;
  } while (start && requests.length < limit);
  return requests;
}

export interface OverrideRequestSource {
  /** One space's requests, or admins' queue: one status, or (none) all of them. */
  spaceId?: string;
  status?: OverrideRequestStatus;
}

/**
 * Up to `limit + 1` requests older than the cursor per partition read, newest first: the caller
 * keeps `limit` and knows from the extra one whether a next page exists.
 */
export async function listOverrideRequestPages(
  source: OverrideRequestSource,
  options: { limit: number; cursor?: string },
): Promise<OverrideRequest[][]> {
  const before = decodeBefore(options.cursor);
  const read = options.limit + 1;
  if (source.spaceId !== undefined) return [await queryNewestFirst('byUser', spacePartition(source.spaceId), read, before)];
  const statuses: OverrideRequestStatus[] = source.status ? [source.status] : ['pending', 'granted', 'declined'];
  return Promise.all(statuses.map((status) => queryNewestFirst('byUserStatus', statusPartition(status), read, before)));
}

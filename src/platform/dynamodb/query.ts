import { QueryCommand } from '@aws-sdk/lib-dynamodb';
import { ddb } from '../aws.js';
import { getConfig } from '../config.js';
import { decodeCursor, encodeCursor } from './cursor.js';
import { BATCH_GET_MAX_KEYS, queryWholeItems } from './batch-get.js';

/**
 * One page of a per-user listing on the `byUser` index (`gsi1pk = partition`, by `gsi1sk`), with
 * the cursor of the next page: only a cursor this listing returned is accepted (cursor.ts). The
 * index holds keys only, so the page's whole items come from one BatchGetItem (batch-get.ts);
 * `keysOnly` answers the index entries alone (pk, sk, gsi1pk, gsi1sk) without that read.
 */
export async function queryByUserPage(
  partition: string,
  options: { limit: number; cursor?: string; newestFirst?: boolean; keysOnly?: boolean },
): Promise<{ items: Record<string, unknown>[]; nextCursor: string | null }> {
  const input = {
    IndexName: 'byUser',
    KeyConditionExpression: 'gsi1pk = :p',
    ExpressionAttributeValues: { ':p': partition },
    ScanIndexForward: !options.newestFirst,
    Limit: Math.min(options.limit, BATCH_GET_MAX_KEYS),
    ExclusiveStartKey: decodeCursor(options.cursor, { partitionAttribute: 'gsi1pk', partitionValue: partition, sortAttribute: 'gsi1sk' }),
  };
  if (options.keysOnly) {
    const result = await ddb().send(new QueryCommand({ ...input, TableName: getConfig().tableName }));
    return { items: result.Items ?? [], nextCursor: encodeCursor(result.LastEvaluatedKey) };
  }
  const result = await queryWholeItems(input);
  return { items: result.Items, nextCursor: encodeCursor(result.LastEvaluatedKey) };
}

/**
 * Every item of one partition whose sort key starts with `prefix`, following pages. Only for
 * partitions a person keeps small (their devices, their API keys).
 */
export async function queryAllWithPrefix(partitionKey: string, prefix: string, consistent = false): Promise<Record<string, unknown>[]> {
  const items: Record<string, unknown>[] = [];
  let start: Record<string, unknown> | undefined;
  do {
    const result = await ddb().send(
      new QueryCommand({
        TableName: getConfig().tableName,
        KeyConditionExpression: 'pk = :p AND begins_with(sk, :s)',
        ExpressionAttributeValues: { ':p': partitionKey, ':s': prefix },
        ConsistentRead: consistent,
        ExclusiveStartKey: start,
      }),
    );
    items.push(...(result.Items ?? []));
    start = result.LastEvaluatedKey;
  } while (start);
  return items;
}

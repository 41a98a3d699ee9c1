import { QueryCommand } from '@aws-sdk/lib-dynamodb';
import { ddb } from '../aws.js';
import { getConfig } from '../config.js';

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

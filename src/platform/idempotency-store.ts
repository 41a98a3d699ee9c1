import { gunzipSync, gzipSync } from 'node:zlib';
import { ConditionalCheckFailedException } from '@aws-sdk/client-dynamodb';
import { DeleteCommand, GetCommand, PutCommand, UpdateCommand } from '@aws-sdk/lib-dynamodb';
import { ddb } from './aws.js';
import { getConfig } from './config.js';

/*
 * Idempotency records, one per (user, Idempotency-Key): pk IDEMPOTENCY#<user>#<key>, sk IDEMPOTENCY.
 * `expires_at` (epoch seconds) is the table's TTL attribute; an expired record still present counts
 * as absent. While the first request runs the record is `in_progress` until `locked_until`; then it
 * holds the answer (status code and gzipped body), so a retry gets the same answer.
 */
export interface IdempotencyRecord {
  userId: string;
  key: string;
  requestHash: string;
  state: 'in_progress' | 'completed';
  statusCode: number | null;
  body: string | null;
  /** Epoch ms until which an in-progress record belongs to the request that made it. */
  lockedUntil: number;
  /** Epoch seconds. */
  expiresAt: number;
}

const recordKey = (userId: string, key: string) => ({ pk: `IDEMPOTENCY#${userId}#${key}`, sk: 'IDEMPOTENCY' });

function toRecord(item: Record<string, unknown>): IdempotencyRecord {
  const packed = item.body;
  return {
    userId: String(item.user_id),
    key: String(item.idempotency_key),
    requestHash: String(item.request_hash),
    state: item.state === 'completed' ? 'completed' : 'in_progress',
    statusCode: typeof item.status_code === 'number' ? item.status_code : null,
    body: packed instanceof Uint8Array ? gunzipSync(packed).toString('utf8') : null,
    lockedUntil: Number(item.locked_until ?? 0),
    expiresAt: Number(item.expires_at ?? 0),
  };
}

/**
 * Takes the key for a request: true when this request is the first (or the earlier record expired,
 * or its holder's lock ran out), false when another record holds it.
 */
export async function claimIdempotencyKey(
  record: Pick<IdempotencyRecord, 'userId' | 'key' | 'requestHash' | 'lockedUntil' | 'expiresAt'>,
  nowMs: number,
): Promise<boolean> {
  try {
    await ddb().send(
      new PutCommand({
        TableName: getConfig().tableName,
        Item: {
          ...recordKey(record.userId, record.key),
          user_id: record.userId,
          idempotency_key: record.key,
          request_hash: record.requestHash,
          state: 'in_progress',
          locked_until: record.lockedUntil,
          expires_at: record.expiresAt,
        },
        ConditionExpression: 'attribute_not_exists(pk) OR expires_at < :nowSeconds OR (#state = :progress AND locked_until < :nowMs AND request_hash = :hash)',
        ExpressionAttributeNames: { '#state': 'state' },
        ExpressionAttributeValues: { ':nowSeconds': Math.floor(nowMs / 1000), ':nowMs': nowMs, ':progress': 'in_progress', ':hash': record.requestHash },
      }),
    );
    return true;
  } catch (error) {
    if (error instanceof ConditionalCheckFailedException) return false;
    throw error;
  }
}

export async function getIdempotencyRecord(userId: string, key: string): Promise<IdempotencyRecord | null> {
  const result = await ddb().send(new GetCommand({ TableName: getConfig().tableName, Key: recordKey(userId, key), ConsistentRead: true }));
  return result.Item ? toRecord(result.Item) : null;
}

/** Stores the first request's answer on its record. */
export async function completeIdempotencyRecord(userId: string, key: string, statusCode: number, body: string): Promise<void> {
  await ddb().send(
    new UpdateCommand({
      TableName: getConfig().tableName,
      Key: recordKey(userId, key),
      UpdateExpression: 'SET #state = :completed, status_code = :status, body = :body',
      ExpressionAttributeNames: { '#state': 'state' },
      ExpressionAttributeValues: { ':completed': 'completed', ':status': statusCode, ':body': gzipSync(Buffer.from(body, 'utf8')) },
    }),
  );
}

/** Frees the key after the first request failed, so a retry may run it again. */
export async function releaseIdempotencyKey(userId: string, key: string): Promise<void> {
  await ddb().send(new DeleteCommand({ TableName: getConfig().tableName, Key: recordKey(userId, key) }));
}

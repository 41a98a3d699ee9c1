import { queryAllWithPrefix } from '../platform/dynamodb/query.js';
import { GetCommand } from '@aws-sdk/lib-dynamodb';
import { ddb } from '../platform/aws.js';
import { getConfig } from '../platform/config.js';
import { transact } from '../platform/dynamodb/transact.js';

/*
 * API keys, two items per key written in one transaction:
 *   owner's record: pk USER#<user>, sk APIKEY#<key id>  (listing, revoking; never the secret)
 *   lookup item:    pk APIKEY#<sha256 of the key>, sk APIKEY  (authentication is one GetItem)
 * Revoking stamps the record and deletes the lookup item, so a revoked key is simply not found.
 *
 * The table's TTL attribute is `expires_at` and TTL only acts on numbers: the lookup item keeps
 * the expiry as epoch seconds so DynamoDB eventually deletes expired lookups, while the owner's
 * record keeps an ISO string (ignored by TTL) so an expired key stays listed until revoked.
 */
const recordKey = (userId: string, keyId: string) => ({ pk: `USER#${userId}`, sk: `APIKEY#${keyId}` });
const lookupKey = (keyHash: string) => ({ pk: `APIKEY#${keyHash}`, sk: 'APIKEY' });

export interface ApiKeyRecord {
  id: string;
  user_id: string;
  name: string;
  /** The first characters of the key, so people can tell their keys apart; not enough to use it. */
  prefix: string;
  key_hash: string;
  created_at: string;
  expires_at: string | null;
  revoked_at: string | null;
}

/** What authentication needs to know about a presented key. */
export interface ApiKeyLookup {
  key_id: string;
  user_id: string;
  expires_at: string | null;
}

const toRecord = (item: Record<string, unknown>): ApiKeyRecord => ({
  id: item.id as string,
  user_id: item.user_id as string,
  name: item.name as string,
  prefix: item.prefix as string,
  key_hash: item.key_hash as string,
  created_at: item.created_at as string,
  expires_at: (item.expires_at as string | undefined) ?? null,
  revoked_at: (item.revoked_at as string | undefined) ?? null,
});

/** Stores a new key (record and lookup); fails if either already exists. */
export async function putApiKey(record: ApiKeyRecord): Promise<void> {
  const tableName = getConfig().tableName;
  await transact([
    {
      Put: {
        TableName: tableName,
        // revoked_at stays absent until revocation: `if_not_exists` would keep a stored null.
        Item: { ...record, revoked_at: record.revoked_at ?? undefined, ...recordKey(record.user_id, record.id) },
        ConditionExpression: 'attribute_not_exists(pk)',
      },
    },
    {
      Put: {
        TableName: tableName,
        Item: {
          ...lookupKey(record.key_hash),
          key_id: record.id,
          user_id: record.user_id,
          expires_at_iso: record.expires_at,
          expires_at: record.expires_at === null ? undefined : Math.ceil(Date.parse(record.expires_at) / 1000),
        },
        ConditionExpression: 'attribute_not_exists(pk)',
      },
    },
  ]);
}

/** The key presented for authentication, by the hash of its secret; null if unknown or revoked. */
export async function findApiKeyByHash(keyHash: string): Promise<ApiKeyLookup | null> {
  const result = await ddb().send(new GetCommand({ TableName: getConfig().tableName, Key: lookupKey(keyHash) }));
  const item = result.Item;
  if (!item) return null;
  return { key_id: item.key_id as string, user_id: item.user_id as string, expires_at: (item.expires_at_iso as string | null | undefined) ?? null };
}

export async function getApiKey(userId: string, keyId: string): Promise<ApiKeyRecord | null> {
  const result = await ddb().send(
    new GetCommand({ TableName: getConfig().tableName, Key: recordKey(userId, keyId), ConsistentRead: true }),
  );
  return result.Item ? toRecord(result.Item) : null;
}

/** Every key of a user (active, expired and revoked), oldest first. */
export async function listApiKeys(userId: string): Promise<ApiKeyRecord[]> {
  const records = (await queryAllWithPrefix(`USER#${userId}`, 'APIKEY#', true)).map(toRecord);
  return records.sort((a, b) => a.created_at.localeCompare(b.created_at));
}

/** Marks the record revoked (keeping the first revocation time) and deletes the lookup item. */
export async function revokeApiKey(record: ApiKeyRecord, now: Date): Promise<void> {
  const tableName = getConfig().tableName;
  await transact([
    {
      Update: {
        TableName: tableName,
        Key: recordKey(record.user_id, record.id),
        UpdateExpression: 'SET revoked_at = if_not_exists(revoked_at, :now)',
        ConditionExpression: 'attribute_exists(pk)',
        ExpressionAttributeValues: { ':now': now.toISOString() },
      },
    },
    { Delete: { TableName: tableName, Key: lookupKey(record.key_hash) } },
  ]);
}

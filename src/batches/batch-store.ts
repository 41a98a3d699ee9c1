import { GetCommand, QueryCommand, UpdateCommand } from '@aws-sdk/lib-dynamodb';
import { ConditionalCheckFailedException } from '@aws-sdk/client-dynamodb';
import { ddb } from '../platform/aws.js';
import { getConfig } from '../platform/config.js';
import type { Batch, BatchOccurrence } from './batch.js';
import type { TaskCreate } from '../tasks/schemas.js';
import { BATCH_GET_MAX_KEYS, queryWholeItems } from '../platform/dynamodb/batch-get.js';
import { decodeCursor, encodeCursor } from '../platform/dynamodb/cursor.js';
import type { TransactItem } from '../platform/dynamodb/transact.js';

/*
 * Batches live in one item collection, pk BATCH#<id>:
 *   sk BATCH          the batch (header)
 *                       byUser: gsi1pk USER#<user>#BATCHES, gsi1sk <created_at>#<id>    (a user's batches, newest first)
 *                       due:    duepk BATCH_NEXT, duesk <next_occurrence_at>#<id>      (active recurring batches: next run)
 *   sk TEMPLATE       the task create bodies, in batch order (written once with the batch)
 *   sk OCC#<key>      one occurrence: exactly-once guard and its task ids (key `once` or a UTC minute)
 *                       due:    duepk BATCH_RESUME, duesk <materialized_at>#<id>#<key>  (only while materializing)
 * Tasks keep their own layout (task-store.ts) and carry batch_id.
 */
const pk = (batchId: string) => `BATCH#${batchId}`;
const headerKey = (batchId: string) => ({ pk: pk(batchId), sk: 'BATCH' });
const templateKey = (batchId: string) => ({ pk: pk(batchId), sk: 'TEMPLATE' });
const occurrenceKey = (batchId: string, key: string) => ({ pk: pk(batchId), sk: `OCC#${key}` });

const DUE_NEXT = 'BATCH_NEXT';
const DUE_RESUME = 'BATCH_RESUME';
const DERIVED = ['pk', 'sk', 'gsi1pk', 'gsi1sk', 'duepk', 'duesk'] as const;

function strip(item: Record<string, unknown>): Record<string, unknown> {
  const copy: Record<string, unknown> = { ...item };
  for (const attribute of DERIVED) delete copy[attribute];
  return copy;
}

const fromHeader = (item: Record<string, unknown>): Batch => strip(item) as unknown as Batch;
const fromOccurrence = (item: Record<string, unknown>): BatchOccurrence => strip(item) as unknown as BatchOccurrence;

function headerItem(batch: Batch): Record<string, unknown> {
  const item: Record<string, unknown> = {
    ...batch,
    ...headerKey(batch.id),
    gsi1pk: `USER#${batch.user_id}#BATCHES`,
    gsi1sk: `${batch.created_at}#${batch.id}`,
  };
  if (batch.status === 'active' && batch.next_occurrence_at) {
    item.duepk = DUE_NEXT;
    item.duesk = `${batch.next_occurrence_at}#${batch.id}`;
  }
  return item;
}

/** A transaction item creating the batch (only if new). */
export function putBatchItem(batch: Batch): TransactItem {
  return { Put: { TableName: getConfig().tableName, Item: headerItem(batch), ConditionExpression: 'attribute_not_exists(pk)' } };
}

/** A transaction item storing the batch's task bodies (only if new). */
export function putTemplateItem(batch: Pick<Batch, 'id' | 'user_id'>, tasks: TaskCreate[]): TransactItem {
  return {
    Put: {
      TableName: getConfig().tableName,
      Item: { ...templateKey(batch.id), batch_id: batch.id, user_id: batch.user_id, tasks },
      ConditionExpression: 'attribute_not_exists(pk)',
    },
  };
}

/**
 * A transaction item recording that an occurrence ran: moves the next run on, while the batch is
 * still active (a cancelled batch makes the whole occurrence transaction fail).
 */
export function advanceBatchItem(batchId: string, occurrenceKeyValue: string, nextOccurrenceAt: string | null): TransactItem {
  const names = { '#status': 'status' };
  const values: Record<string, unknown> = { ':active': 'active', ':key': occurrenceKeyValue, ':one': 1 };
  let update = 'SET last_occurrence_key = :key ADD occurrence_count :one';
  if (nextOccurrenceAt) {
    values[':next'] = nextOccurrenceAt;
    values[':duepk'] = DUE_NEXT;
    values[':duesk'] = `${nextOccurrenceAt}#${batchId}`;
    update = 'SET last_occurrence_key = :key, next_occurrence_at = :next, duepk = :duepk, duesk = :duesk ADD occurrence_count :one';
  } else {
    update = 'SET last_occurrence_key = :key, next_occurrence_at = :none ADD occurrence_count :one REMOVE duepk, duesk';
    values[':none'] = null;
  }
  return {
    Update: {
      TableName: getConfig().tableName,
      Key: headerKey(batchId),
      UpdateExpression: update,
      ConditionExpression: '#status = :active',
      ExpressionAttributeNames: names,
      ExpressionAttributeValues: values,
    },
  };
}

/** A transaction item making a rerun the batch's latest run (whatever its status: finished work may always be rerun). */
export function recordRerunItem(batchId: string, occurrenceKeyValue: string): TransactItem {
  return {
    Update: {
      TableName: getConfig().tableName,
      Key: headerKey(batchId),
      UpdateExpression: 'SET last_occurrence_key = :key ADD occurrence_count :one',
      ConditionExpression: 'attribute_exists(pk)',
      ExpressionAttributeValues: { ':key': occurrenceKeyValue, ':one': 1 },
    },
  };
}

/** A transaction item creating an occurrence record; it fails if the occurrence already ran. */
export function putOccurrenceItem(occurrence: BatchOccurrence): TransactItem {
  const item: Record<string, unknown> = { ...occurrence, ...occurrenceKey(occurrence.batch_id, occurrence.key) };
  if (occurrence.state === 'materializing') {
    item.duepk = DUE_RESUME;
    item.duesk = `${occurrence.materialized_at}#${occurrence.batch_id}#${occurrence.key}`;
  }
  return { Put: { TableName: getConfig().tableName, Item: item, ConditionExpression: 'attribute_not_exists(pk)' } };
}

/** A transaction item marking a materializing occurrence complete (all its tasks written). */
export function completeOccurrenceItem(batchId: string, key: string): TransactItem {
  return {
    Update: {
      TableName: getConfig().tableName,
      Key: occurrenceKey(batchId, key),
      UpdateExpression: 'SET #state = :enqueued REMOVE duepk, duesk, unwritten_tasks',
      ConditionExpression: '#state = :materializing',
      ExpressionAttributeNames: { '#state': 'state' },
      ExpressionAttributeValues: { ':enqueued': 'enqueued', ':materializing': 'materializing' },
    },
  };
}

export async function getBatch(batchId: string): Promise<Batch | null> {
  const result = await ddb().send(new GetCommand({ TableName: getConfig().tableName, Key: headerKey(batchId), ConsistentRead: true }));
  return result.Item ? fromHeader(result.Item) : null;
}

export async function getBatchTemplate(batchId: string): Promise<TaskCreate[] | null> {
  const result = await ddb().send(new GetCommand({ TableName: getConfig().tableName, Key: templateKey(batchId), ConsistentRead: true }));
  return result.Item ? (result.Item.tasks as TaskCreate[]) : null;
}

export async function getOccurrence(batchId: string, key: string): Promise<BatchOccurrence | null> {
  const result = await ddb().send(
    new GetCommand({ TableName: getConfig().tableName, Key: occurrenceKey(batchId, key), ConsistentRead: true }),
  );
  return result.Item ? fromOccurrence(result.Item) : null;
}

/** A batch's occurrences, newest first (keys are UTC minutes, so they sort by time). */
export async function listOccurrences(batchId: string, limit: number): Promise<BatchOccurrence[]> {
  const result = await ddb().send(
    new QueryCommand({
      TableName: getConfig().tableName,
      KeyConditionExpression: 'pk = :p AND begins_with(sk, :occ)',
      ExpressionAttributeValues: { ':p': pk(batchId), ':occ': 'OCC#' },
      ScanIndexForward: false,
      ConsistentRead: true,
      Limit: limit,
    }),
  );
  return (result.Items ?? []).map(fromOccurrence);
}

/**
 * Marks the batch cancelled and takes it off the due index. Returns the batch as it is now, or
 * null when it does not exist. Cancelling twice is harmless.
 */
export async function markBatchCancelled(batchId: string, now: Date): Promise<Batch | null> {
  try {
    const result = await ddb().send(
      new UpdateCommand({
        TableName: getConfig().tableName,
        Key: headerKey(batchId),
        UpdateExpression: 'SET #status = :cancelled, cancelled_at = :now, next_occurrence_at = :none REMOVE duepk, duesk',
        ConditionExpression: '#status = :active',
        ExpressionAttributeNames: { '#status': 'status' },
        ExpressionAttributeValues: { ':cancelled': 'cancelled', ':active': 'active', ':now': now.toISOString(), ':none': null },
        ReturnValues: 'ALL_NEW',
      }),
    );
    return result.Attributes ? fromHeader(result.Attributes) : null;
  } catch (error) {
    if (error instanceof ConditionalCheckFailedException) return getBatch(batchId);
    throw error;
  }
}

export interface BatchPage {
  batches: Batch[];
  nextCursor: string | null;
}

/** A user's batches, newest first. */
export async function listUserBatches(userId: string, options: { limit: number; cursor?: string }): Promise<BatchPage> {
  // Keys-only index: the page's batches come from one BatchGetItem.
  const result = await queryWholeItems({
    IndexName: 'byUser',
    KeyConditionExpression: 'gsi1pk = :p',
    ExpressionAttributeValues: { ':p': `USER#${userId}#BATCHES` },
    ScanIndexForward: false,
    Limit: Math.min(options.limit, BATCH_GET_MAX_KEYS),
    ExclusiveStartKey: decodeCursor(options.cursor, { partitionAttribute: 'gsi1pk', partitionValue: `USER#${userId}#BATCHES`, sortAttribute: 'gsi1sk' }),
  });
  return { batches: result.Items.map(fromHeader), nextCursor: encodeCursor(result.LastEvaluatedKey) };
}

/** Active recurring batches whose next occurrence is due by `now` (the local scheduler's view). */
export async function listDueRecurringBatches(now: Date, limit: number): Promise<{ batchId: string; nextOccurrenceAt: string }[]> {
  const result = await ddb().send(
    new QueryCommand({
      TableName: getConfig().tableName,
      IndexName: 'due',
      KeyConditionExpression: 'duepk = :p AND duesk <= :now',
      ExpressionAttributeValues: { ':p': DUE_NEXT, ':now': `${now.toISOString()}#\uffff` },
      ProjectionExpression: 'id, next_occurrence_at',
      Limit: limit,
    }),
  );
  return (result.Items ?? []).map((item) => ({ batchId: item.id as string, nextOccurrenceAt: item.next_occurrence_at as string }));
}

/** Occurrences still materializing since before `before` (their commit's follow-up write was lost). */
export async function listStalledOccurrences(before: Date, limit: number): Promise<{ batchId: string; key: string }[]> {
  const result = await ddb().send(
    new QueryCommand({
      TableName: getConfig().tableName,
      IndexName: 'due',
      KeyConditionExpression: 'duepk = :p AND duesk <= :before',
      ExpressionAttributeValues: { ':p': DUE_RESUME, ':before': `${before.toISOString()}#\uffff` },
      ProjectionExpression: 'batch_id, #key',
      ExpressionAttributeNames: { '#key': 'key' },
      Limit: limit,
    }),
  );
  return (result.Items ?? []).map((item) => ({ batchId: item.batch_id as string, key: item.key as string }));
}

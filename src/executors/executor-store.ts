import { GetCommand, UpdateCommand } from '@aws-sdk/lib-dynamodb';
import { ConditionalCheckFailedException } from '@aws-sdk/client-dynamodb';
import { ddb } from '../platform/aws.js';
import { getConfig } from '../platform/config.js';
import type { Task } from '../tasks/task.js';
import { fromItem, localQueueKey } from '../tasks/task-store.js';
import { BATCH_GET_MAX_KEYS, queryWholeItems } from '../platform/dynamodb/batch-get.js';
import { queryAllWithPrefix } from '../platform/dynamodb/query.js';
import type { TransactItem } from '../platform/dynamodb/transact.js';

/*
 * Device executors live in their user's partition, so listing a user's devices is one Query and
 * another user's device is simply not found:
 *   executor: pk USER#<user>, sk EXECUTOR#<executor id>
 * Tasks routed to a device wait in the `pending` index under pendpk LOCALQ#<user>#<executor>
 * (task-store derives that key), in claim order; a lease takes one with a conditional write.
 */
const key = (userId: string, executorId: string) => ({ pk: `USER#${userId}`, sk: `EXECUTOR#${executorId}` });

export interface Executor {
  user_id: string;
  executor_id: string;
  capabilities: string[];
  models: string[];
  max_concurrent: number;
  /** Tasks leased to the device and not finished yet. */
  active_count: number;
  last_heartbeat_at: string;
  registered_at: string;
}

const toExecutor = (item: Record<string, unknown>): Executor => {
  const { pk: _pk, sk: _sk, ...rest } = item;
  return rest as unknown as Executor;
};

/** Registers the device or refreshes it (capabilities, models, slots) and its heartbeat; keeps active_count. */
export async function upsertExecutor(
  userId: string,
  registration: Pick<Executor, 'executor_id' | 'capabilities' | 'models' | 'max_concurrent'>,
  now: Date,
): Promise<Executor> {
  const result = await ddb().send(
    new UpdateCommand({
      TableName: getConfig().tableName,
      Key: key(userId, registration.executor_id),
      UpdateExpression:
        'SET user_id = :u, executor_id = :e, capabilities = :c, models = :m, max_concurrent = :mc, last_heartbeat_at = :now, ' +
        'active_count = if_not_exists(active_count, :zero), registered_at = if_not_exists(registered_at, :now)',
      ExpressionAttributeValues: {
        ':u': userId,
        ':e': registration.executor_id,
        ':c': registration.capabilities,
        ':m': registration.models,
        ':mc': registration.max_concurrent,
        ':now': now.toISOString(),
        ':zero': 0,
      },
      ReturnValues: 'ALL_NEW',
    }),
  );
  return toExecutor(result.Attributes ?? {});
}

/** A lease is a sign of life: refreshes the heartbeat of a registered device; false if it is not registered. */
export async function touchExecutor(userId: string, executorId: string, now: Date): Promise<boolean> {
  try {
    await ddb().send(
      new UpdateCommand({
        TableName: getConfig().tableName,
        Key: key(userId, executorId),
        UpdateExpression: 'SET last_heartbeat_at = :now',
        ConditionExpression: 'attribute_exists(pk)',
        ExpressionAttributeValues: { ':now': now.toISOString() },
      }),
    );
    return true;
  } catch (error) {
    if (error instanceof ConditionalCheckFailedException) return false;
    throw error;
  }
}

export async function getExecutor(userId: string, executorId: string): Promise<Executor | null> {
  const result = await ddb().send(
    new GetCommand({ TableName: getConfig().tableName, Key: key(userId, executorId), ConsistentRead: true }),
  );
  return result.Item ? toExecutor(result.Item) : null;
}

/** The user's devices (bounded by how many a person registers). */
export async function listExecutors(userId: string): Promise<Executor[]> {
  return (await queryAllWithPrefix(`USER#${userId}`, 'EXECUTOR#')).map(toExecutor);
}

/** Takes one of the device's slots, only while it has one free (part of the lease transaction). */
export function takeExecutorSlotItem(userId: string, executorId: string): TransactItem {
  return {
    Update: {
      TableName: getConfig().tableName,
      Key: key(userId, executorId),
      UpdateExpression: 'ADD active_count :one',
      ConditionExpression: 'attribute_exists(pk) AND active_count < max_concurrent',
      ExpressionAttributeValues: { ':one': 1 },
    },
  };
}

/**
 * Gives a slot back when a leased task ends. Unconditional: the task transition it rides with
 * happens once, and a finishing task must never be held up by its device's record.
 */
export function releaseExecutorSlotItem(userId: string, executorId: string): TransactItem {
  return {
    Update: {
      TableName: getConfig().tableName,
      Key: key(userId, executorId),
      UpdateExpression: 'ADD active_count :minus',
      ExpressionAttributeValues: { ':minus': -1 },
    },
  };
}

/** The next tasks routed to the device and waiting for it, in claim order (priority, then age). */
export async function listQueuedForExecutor(userId: string, executorId: string, limit = 10): Promise<Task[]> {
  // Keys-only index: the tasks come from one BatchGetItem (those no longer queued here are left
  // out); the lease's conditional write is what decides.
  const result = await queryWholeItems(
    {
      IndexName: 'pending',
      KeyConditionExpression: 'pendpk = :p',
      ExpressionAttributeValues: { ':p': localQueueKey(userId, executorId) },
      Limit: Math.min(limit, BATCH_GET_MAX_KEYS),
    },
    { consistent: true },
  );
  return result.Items.map(fromItem);
}

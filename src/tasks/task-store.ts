import { GetCommand, QueryCommand } from '@aws-sdk/lib-dynamodb';
import { ddb } from '../platform/aws.js';
import { getConfig } from '../platform/config.js';
import { ACTIVE_STATUSES, type AttemptRecord, type Task, type TaskStatus } from './task.js';
import { DEFAULT_MAX_ATTEMPTS, DEFAULT_RETRY_BACKOFF_SECONDS } from './retry-policy.js';
import { decodeCursor, encodeCursor } from '../platform/dynamodb/cursor.js';
import { BATCH_GET_MAX_KEYS, batchGetInOrder, queryWholeItems } from '../platform/dynamodb/batch-get.js';
import type { GetItems } from '../platform/dynamodb/group-get.js';
import type { TransactItem } from '../platform/dynamodb/transact.js';
import { deviceWaitDeadline, type DeviceWaitLimits } from '../routing/device-wait.js';
import { mergeBySortKey, randomShard, shardedKey, shardKeysToRead } from '../scheduling/shards.js';

/*
 * Tasks: pk TASK#<id>, sk TASK. Index keys are derived from the task on every write:
 *   byUser:       gsi1pk USER#<user>,                gsi1sk <created_at>#<id>
 *   byUserStatus: gsi2pk USER#<user>#STATUS#<status>, gsi2sk <created_at>#<id>   (claimed and running
 *                 share the partition STATUS#active, so a task that starts running stays where it is)
 *   pending:      pendpk PENDING#<user>, pendsk <priority>#<created_at>#<id>   (only while pending)
 *                 pendpk LOCALQ#<user>#<executor> instead for a task routed to a device: devices
 *                 lease those (executor-store), the orchestrator never sees them
 *   due:          duepk SWEEP#<n>, duesk <deadline>#<id>   (claimed: stale deadline; running: timeout_at;
 *                 pending on a device: when it stops waiting for the lease, see routing/device-wait);
 *                 n is the task's shard (src/scheduling/shards.ts), the sweeper reads every shard
 */
const key = (taskId: string) => ({ pk: `TASK#${taskId}`, sk: 'TASK' });
const DERIVED = ['pk', 'sk', 'gsi1pk', 'gsi1sk', 'gsi2pk', 'gsi2sk', 'pendpk', 'pendsk', 'duepk', 'duesk'] as const;

/**
 * Fields a task may hold as null. A null is not stored (its name alone costs bytes: a new task
 * carries some 40 of them, enough to push a small task over 1 KB, where every one of its writes
 * costs twice the write units: DynamoDB charges a write by the KB, started); `fromItem` gives
 * them back as null.
 */
const NULLABLE_FIELDS = [
  'project_id', 'group_id', 'batch_id', 'integration', 'action', 'input', 'executor_id', 'model', 'model_params',
  'estimated_tokens', 'estimated_minutes', 'actual_credits', 'not_before', 'claimed_at', 'started_at', 'completed_at',
  'timeout_at', 'reserved_seconds', 'hours_window', 'used_seconds', 'sandbox_id', 'result_summary', 'files_changed',
  'failure_reason', 'blocked_reason', 'result_truncated', 'routing_note', 'callback_token_hash', 'sandbox_token_hash',
  'base_ref', 'repository', 'branch', 'base_commit', 'head_commit', 'diff_stat', 'pull_request_url', 'push_error',
  'agent_report', 'rerun_of',
] as const satisfies readonly (keyof Task)[];

/** A status as the byUserStatus index files it: claimed and running together, as `active`. */
export type StatusPartition = Exclude<TaskStatus, 'claimed' | 'running'> | 'active';

export const statusPartitionOf = (status: TaskStatus): StatusPartition => (ACTIVE_STATUSES.has(status) ? 'active' : (status as StatusPartition));

const statusPartitionKey = (userId: string, partition: StatusPartition): string => `USER#${userId}#STATUS#${partition}`;

/** Where a pending task routed to a device waits for that device's lease. */
export const localQueueKey = (userId: string, executorId: string): string => `LOCALQ#${userId}#${executorId}`;

export const pendingSortKey = (task: Pick<Task, 'priority' | 'created_at' | 'id'>): string =>
  `${task.priority}#${task.created_at}#${task.id}`;

export interface SweepSettings {
  staleSeconds: number;
  deviceWait: DeviceWaitLimits;
}

/** When the sweeper must look at an active task, or at a pending one waiting for a device's lease. */
export function sweepDeadline(task: Task, settings: SweepSettings): string | null {
  const staleSeconds = settings.staleSeconds;
  if (task.status === 'pending' && task.execution_location === 'local' && task.executor_id) {
    return deviceWaitDeadline(task, settings.deviceWait);
  }
  if (task.status === 'claimed' && task.claimed_at) {
    return new Date(Date.parse(task.claimed_at) + staleSeconds * 1000).toISOString();
  }
  if (task.status === 'running' && task.timeout_at) return task.timeout_at;
  return null;
}

function toItem(task: Task): Record<string, unknown> {
  const created = `${task.created_at}#${task.id}`;
  const item: Record<string, unknown> = {
    ...compact(task),
    ...key(task.id),
    gsi1pk: `USER#${task.user_id}`,
    gsi1sk: created,
    gsi2pk: statusPartitionKey(task.user_id, statusPartitionOf(task.status)),
    gsi2sk: created,
  };
  if (task.status === 'pending') {
    item.pendpk =
      task.execution_location === 'local' && task.executor_id
        ? localQueueKey(task.user_id, task.executor_id)
        : `PENDING#${task.user_id}`;
    item.pendsk = pendingSortKey(task);
  }
  const config = getConfig();
  const deadline = sweepDeadline(task, {
    staleSeconds: config.staleClaimingThresholdSeconds,
    deviceWait: { leaseTimeoutSeconds: config.localLeaseTimeoutSeconds, maxWaitSeconds: config.localMaxWaitSeconds },
  });
  if (deadline) {
    item.duepk = shardedKey('SWEEP', task.id, config.sweepShards);
    item.duesk = `${deadline}#${task.id}`;
  }
  return item;
}

/** Fields of an attempt record that may be null, stored the same way. */
const NULLABLE_ATTEMPT_FIELDS = ['started_at', 'failure_reason', 'credits'] as const satisfies readonly (keyof AttemptRecord)[];

/** Fields stored only when they differ from the value a task without them has always meant. */
const DEFAULTS = { max_attempts: DEFAULT_MAX_ATTEMPTS, retry_backoff_seconds: DEFAULT_RETRY_BACKOFF_SECONDS } as const satisfies Partial<Task>;

const dropNulls = (record: object): Record<string, unknown> => Object.fromEntries(Object.entries(record).filter(([, value]) => value !== null));

/** The stored form of a task's own fields: no nulls and no defaults, attempt records likewise. */
function compact(task: Task): Record<string, unknown> {
  const stored = dropNulls(task);
  for (const [field, value] of Object.entries(DEFAULTS)) if (stored[field] === value) delete stored[field];
  if (task.attempt_history) stored.attempt_history = task.attempt_history.map(dropNulls);
  return stored;
}

export function fromItem(item: Record<string, unknown>): Task {
  const copy: Record<string, unknown> = { ...item };
  for (const attribute of DERIVED) delete copy[attribute];
  for (const field of NULLABLE_FIELDS) copy[field] ??= null;
  for (const [field, value] of Object.entries(DEFAULTS)) copy[field] ??= value;
  if (Array.isArray(copy.attempt_history)) {
    copy.attempt_history = (copy.attempt_history as Record<string, unknown>[]).map((record) => {
      const full = { ...record };
      for (const field of NULLABLE_ATTEMPT_FIELDS) full[field] ??= null;
      return full;
    });
  }
  return copy as unknown as Task;
}

export async function getTask(taskId: string): Promise<Task | null> {
  const result = await ddb().send(
    new GetCommand({ TableName: getConfig().tableName, Key: key(taskId), ConsistentRead: true }),
  );
  return result.Item ? fromItem(result.Item) : null;
}

/**
 * A transaction item writing `task`. With `expected`, the write only happens while the stored
 * task is still in that status (and, when given, that attempt); without it, only if new.
 */
export function putTaskItem(task: Task, expected?: { status: TaskStatus; attempts?: number }): TransactItem {
  const base = { TableName: getConfig().tableName, Item: toItem(task) };
  if (!expected) return { Put: { ...base, ConditionExpression: 'attribute_not_exists(pk)' } };
  const byAttempt = expected.attempts !== undefined;
  return {
    Put: {
      ...base,
      ConditionExpression: byAttempt ? '#s = :s AND attempts = :a' : '#s = :s',
      ExpressionAttributeNames: { '#s': 'status' },
      ExpressionAttributeValues: byAttempt ? { ':s': expected.status, ':a': expected.attempts } : { ':s': expected.status },
    },
  };
}

export interface TaskPage {
  tasks: Task[];
  nextCursor: string | null;
}

/**
 * A user's tasks, newest first, optionally in one status or in `active` (claimed and running).
 * claimed and running share one partition of the index: a page asked for one of the two holds
 * only that status, and may then hold fewer tasks than `limit` with a cursor for more.
 */
export async function listUserTasks(
  userId: string,
  options: { status?: TaskStatus | 'active'; limit: number; cursor?: string },
): Promise<TaskPage> {
  const status = options.status;
  const byStatus = status !== undefined;
  const partition = byStatus ? statusPartitionKey(userId, status === 'active' ? 'active' : statusPartitionOf(status)) : `USER#${userId}`;
  const start = decodeCursor(options.cursor, {
    partitionAttribute: byStatus ? 'gsi2pk' : 'gsi1pk',
    partitionValue: partition,
    sortAttribute: byStatus ? 'gsi2sk' : 'gsi1sk',
  });
  // Keys-only index: the page's tasks come from one BatchGetItem; one that has left this status since is left out.
  const result = await queryWholeItems({
    IndexName: byStatus ? 'byUserStatus' : 'byUser',
    KeyConditionExpression: byStatus ? 'gsi2pk = :p' : 'gsi1pk = :p',
    ExpressionAttributeValues: { ':p': partition },
    ScanIndexForward: false,
    Limit: Math.min(options.limit, BATCH_GET_MAX_KEYS),
    ExclusiveStartKey: start,
  });
  const tasks = result.Items.map(fromItem).filter((task) => status === undefined || status === 'active' || task.status === status);
  return { tasks, nextCursor: encodeCursor(result.LastEvaluatedKey) };
}

/** Most pending tasks a user may ever have (the admin override's ceiling): reading this many reads them all. */
export const MAX_PENDING_READ = 10_000;

/** A user's pending tasks in claim order (priority, then age), up to `limit` (default: all of them). */
export async function listPendingTasks(userId: string, limit = MAX_PENDING_READ): Promise<Task[]> {
  const tasks: Task[] = [];
  for await (const page of pendingTaskPages(userId, [Math.min(limit, BATCH_GET_MAX_KEYS)])) {
    tasks.push(...page.tasks);
    if (tasks.length >= limit) break;
  }
  return tasks.slice(0, limit);
}

/**
 * A user's pending tasks in claim order, one page at a time: page i holds up to `pageSizes[i]`
 * tasks (at most 100; the last size repeats), so a caller that usually needs the first few reads
 * only those. The index is keys only: each page is one Query and one strongly consistent
 * BatchGetItem, so a task is as fresh as the table; one no longer pending is left out. The first
 * page's BatchGetItem also reads the items at `alsoGet` (the claim's account) and at the keys
 * `alsoGetFor` gives for the ids of the page's tasks in claim order (the charge row of the first),
 * returned as `also`. `getItems` reads the items instead of a BatchGetItem of its own (a pass's
 * group get).
 */
export async function* pendingTaskPages(
  userId: string,
  pageSizes: readonly number[],
  alsoGet: readonly Record<string, unknown>[] = [],
  getItems?: GetItems,
  alsoGetFor?: (taskIds: string[]) => readonly Record<string, unknown>[],
): AsyncGenerator<{ tasks: Task[]; also: Record<string, unknown>[] }> {
  let start: Record<string, unknown> | undefined;
  let page = 0;
  do {
    const result = await queryWholeItems(
      {
        IndexName: 'pending',
        KeyConditionExpression: 'pendpk = :p',
        ExpressionAttributeValues: { ':p': `PENDING#${userId}` },
        Limit: Math.min(pageSizes[Math.min(page, pageSizes.length - 1)] ?? BATCH_GET_MAX_KEYS, BATCH_GET_MAX_KEYS - (page === 0 ? alsoGet.length : 0)),
        ExclusiveStartKey: start,
      },
      {
        consistent: true,
        alsoGet: page === 0 ? alsoGet : [],
        ...(page === 0 && alsoGetFor ? { alsoGetFor: (entries: Record<string, unknown>[]) => alsoGetFor(entries.map((entry) => String(entry.pk).slice('TASK#'.length))) } : {}),
        ...(getItems ? { getItems } : {}),
      },
    );
    page += 1;
    yield { tasks: result.Items.map(fromItem), also: result.Also };
    start = result.LastEvaluatedKey;
  } while (start);
}

/** A due task whose item could not be read this pass (the sweeper reports it and retries next pass). */
export interface UnreadableTask {
  id: string;
  unreadable: unknown;
}

export type DueTask = Task | UnreadableTask;

/** Active tasks whose sweep deadline has passed, earliest first (every shard, merged), up to `limit`. */
export async function listDueActiveTasks(now: Date, limit: number): Promise<DueTask[]> {
  const shards = getConfig().sweepShards;
  const pages = await Promise.all(
    shardKeysToRead('SWEEP', shards, randomShard(shards, Math.random), { withUnsharded: true }).map(async (partition) => {
      const result = await ddb().send(
        new QueryCommand({
          TableName: getConfig().tableName,
          IndexName: 'due',
          KeyConditionExpression: 'duepk = :p AND duesk <= :now',
          ExpressionAttributeValues: { ':p': partition, ':now': `${now.toISOString()}#\uffff` },
          ProjectionExpression: 'pk, sk, duepk, duesk',
          Limit: Math.min(limit, BATCH_GET_MAX_KEYS),
        }),
      );
      return result.Items ?? [];
    }),
  );
  // The index carries keys: the earliest `limit` tasks are read whole, strongly consistent, with
  // one BatchGetItem. One that has left the due index since is left out; the sweeper re-checks
  // the rest (status, deadline, attempt) and its writes are conditional.
  const entries = mergeBySortKey(pages, 'duesk', Math.min(limit, BATCH_GET_MAX_KEYS));
  const items = await batchGetInOrder(entries, { consistent: true }).catch(async () => {
    // One task that cannot be read must not hide the others: read them one by one, and hand the
    // sweeper each failure as an unreadable task of its own (reported, retried next pass).
    const reads = await Promise.allSettled(
      entries.map(async (entry) => {
        const result = await ddb().send(new GetCommand({ TableName: getConfig().tableName, Key: { pk: entry.pk, sk: entry.sk }, ConsistentRead: true }));
        return result.Item;
      }),
    );
    return reads.flatMap((read, i): Record<string, unknown>[] => {
      if (read.status === 'fulfilled') return read.value ? [read.value] : [];
      return [{ ...entries[i], unreadable: read.reason as unknown }];
    });
  });
  return items.flatMap((item): DueTask[] => {
    if ('unreadable' in item) return [{ id: String(item.pk).slice('TASK#'.length), unreadable: item.unreadable }];
    return item.duepk !== undefined ? [fromItem(item)] : [];
  });
}

/**
 * Running tasks, from the `due` index (every running task is on it until its timeout), a page at
 * a time up to `limit`: what the sweeper asks the sandbox provider about. Bounded by how many
 * tasks may run at once, not by the backlog. The index lags: callers re-read before acting.
 */
export async function listRunningTasks(limit: number): Promise<Task[]> {
  const tasks: Task[] = [];
  const shards = getConfig().sweepShards;
  const partitions = shardKeysToRead('SWEEP', shards, randomShard(shards, Math.random), { withUnsharded: true });
  // Up to 8 shards at a time: a sweep's round trips do not grow with the shard count.
  const readShards = async (): Promise<void> => {
    for (let partition = partitions.shift(); partition !== undefined && tasks.length < limit; partition = partitions.shift()) {
      let start: Record<string, unknown> | undefined;
      do {
        // `status` is projected, so the filter runs on the index; the page's tasks are then read whole.
        const result = await queryWholeItems(
          {
            IndexName: 'due',
            KeyConditionExpression: 'duepk = :p',
            FilterExpression: '#s = :running',
            ExpressionAttributeNames: { '#s': 'status' },
            ExpressionAttributeValues: { ':p': partition, ':running': 'running' },
            Limit: BATCH_GET_MAX_KEYS,
            ExclusiveStartKey: start,
          },
          { consistent: true },
        );
        tasks.push(...result.Items.filter((item) => item.status === 'running').map(fromItem));
        start = result.LastEvaluatedKey;
      } while (start && tasks.length < limit);
    }
  };
  await Promise.all(Array.from({ length: Math.min(8, partitions.length) }, readShards));
  return tasks.slice(0, limit);
}

import type { SpawnTimings } from '../scheduling/spawn-timings.js';

/**
 * The one description of Nightshift's storage and queues. The CDK stack (lib/) and the local
 * bootstrap (scripts/local/) both build from these objects, so local and AWS cannot drift.
 * Key layout per item type is documented in docs/data-model.md; the code that writes keys lives
 * in each capability's `*-store.ts`.
 */

/**
 * What an index entry carries besides the table's and the index's keys. An index write costs by
 * the size of that entry, and a table write that changes no projected attribute and no index key
 * costs the index nothing, so indexes carry only what their queries read; a reader that needs the
 * whole item fetches it with one BatchGetItem (src/platform/dynamodb/batch-get.ts).
 */
export type IndexProjection =
  | { readonly type: 'KEYS_ONLY' }
  | { readonly type: 'INCLUDE'; readonly attributes: readonly string[] };

export interface IndexDefinition {
  readonly name: string;
  readonly partitionKey: string;
  readonly sortKey: string;
  readonly projection: IndexProjection;
}

export interface TableDefinition {
  readonly logicalName: string;
  readonly partitionKey: string;
  readonly sortKey: string;
  readonly indexes: readonly IndexDefinition[];
  readonly ttlAttribute: string;
}

/** Single table: tasks, users, spaces, ledger, executors, api keys, batches. */
export const MAIN_TABLE: TableDefinition = {
  logicalName: 'Main',
  partitionKey: 'pk',
  sortKey: 'sk',
  indexes: [
    // A user's tasks (and batches, projects, ledger rows, override requests), newest first
    // (GET /tasks). Keys only: the listing reads the page's items with one BatchGetItem.
    { name: 'byUser', partitionKey: 'gsi1pk', sortKey: 'gsi1sk', projection: { type: 'KEYS_ONLY' } },
    // A user's tasks in one status (GET /tasks?status=). Keys only, as byUser.
    { name: 'byUserStatus', partitionKey: 'gsi2pk', sortKey: 'gsi2sk', projection: { type: 'KEYS_ONLY' } },
    // Sparse: a user's pending tasks in claim order (priority, then age). Keys only: the claim
    // reads its page of tasks with one BatchGetItem.
    { name: 'pending', partitionKey: 'pendpk', sortKey: 'pendsk', projection: { type: 'KEYS_ONLY' } },
    // Sparse: users with pending work and a free slot, fewest running first, then least recently served.
    { name: 'ready', partitionKey: 'readypk', sortKey: 'readysk', projection: { type: 'INCLUDE', attributes: ['user_id'] } },
    // Sparse: things due at a time (sweeper deadlines, deferred users, digests, batch starts and
    // stalled runs): what those queries read; the sweeper reads its tasks with one BatchGetItem.
    {
      name: 'due',
      partitionKey: 'duepk',
      sortKey: 'duesk',
      projection: { type: 'INCLUDE', attributes: ['user_id', 'id', 'status', 'next_occurrence_at', 'batch_id', 'key'] },
    },
  ],
  ttlAttribute: 'expires_at',
};

/** Every attribute an entry of `index` carries: the table's keys, the index's keys, its projection. */
export function projectedAttributes(table: TableDefinition, index: IndexDefinition): string[] {
  const keys = [table.partitionKey, table.sortKey, index.partitionKey, index.sortKey];
  return [...new Set(index.projection.type === 'INCLUDE' ? [...keys, ...index.projection.attributes] : keys)];
}

/** The projection as DynamoDB's API spells it (CreateTable, DescribeTable, CloudFormation). */
export function apiProjection(index: IndexDefinition): { ProjectionType: 'KEYS_ONLY' | 'INCLUDE'; NonKeyAttributes?: string[] } {
  return index.projection.type === 'INCLUDE'
    ? { ProjectionType: 'INCLUDE', NonKeyAttributes: [...index.projection.attributes] }
    : { ProjectionType: 'KEYS_ONLY' };
}

export function indexDefinition(table: TableDefinition, name: string): IndexDefinition {
  const index = table.indexes.find((candidate) => candidate.name === name);
  if (!index) throw new Error(`no index ${name} on table ${table.logicalName}`);
  return index;
}

export interface QueueDefinition {
  readonly logicalName: string;
  readonly visibilityTimeoutSeconds: number;
  readonly receiveWaitTimeSeconds: number;
  readonly messageRetentionSeconds: number;
  /** Receives before a message moves to the dead-letter queue; absent means no DLQ. */
  readonly maxReceiveCount?: number;
}

/**
 * Claimed tasks waiting for a sandbox. Its visibility and receives come from the spawn path's
 * timings (src/scheduling/spawn-timings.ts): just longer than the spawner's timeout, so a failed
 * start is retried soon and every receive is used before the sweeper would requeue the claim.
 * (AWS's advice of six times the function timeout guards against a message redelivered while
 * throttled invocations hold it; a spawn is idempotent per task attempt, so that is harmless.)
 */
export const spawnQueueDefinition = (timings: SpawnTimings): QueueDefinition => ({
  logicalName: 'Spawn',
  visibilityTimeoutSeconds: timings.visibilityTimeoutSeconds,
  receiveWaitTimeSeconds: timings.receiveWaitSeconds,
  messageRetentionSeconds: 4 * 24 * 3600,
  maxReceiveCount: timings.maxReceiveCount,
});

/** Nudges that wake the orchestrator (task created, slot freed, not_before reached). */
export const WAKE_QUEUE: QueueDefinition = {
  logicalName: 'Wake',
  visibilityTimeoutSeconds: 60,
  receiveWaitTimeSeconds: 20,
  messageRetentionSeconds: 3600,
};

/**
 * How the orchestrator consumes the wake queue: the Lambda event source's batch size and its
 * maximum concurrency (AWS's minimum is 2), which the local runtime copies with as many pollers,
 * so a pass in progress never holds back the wake-ups that arrive meanwhile. Passes woken for
 * different users claim for those users alone (wakes name their user), so more of them at once
 * do not race for the same accounts: 4, measured against 2 in docs/performance.md.
 */
export const WAKE_CONSUMER = { batchSize: 10, maxConcurrency: 4 } as const;

/**
 * Notification deliveries (webhooks, Slack, e-mail). Retries with backoff are new messages with a
 * delay, sent by the worker itself, so a message is received more than once only when the worker
 * crashed; those go to the DLQ after 5 receives. Visibility is 6x the worker's timeout.
 */
export const NOTIFY_QUEUE: QueueDefinition = {
  logicalName: 'Notify',
  visibilityTimeoutSeconds: 360,
  receiveWaitTimeSeconds: 20,
  messageRetentionSeconds: 4 * 24 * 3600,
  maxReceiveCount: 5,
};

export const NOTIFIER_TIMEOUT_SECONDS = 60;
/** Messages per notifier invocation: each may take the 10 s delivery timeout. */
export const NOTIFIER_BATCH_SIZE = 5;

/** Patches and full agent logs; kept this many days unless the stack is told otherwise. */
export const ARTIFACT_RETENTION_DAYS_DEFAULT = 90;

export const ORCHESTRATOR_TIMEOUT_SECONDS = 50;

/** Environment variable names shared by the stack and the local runtime. */
export const ENV = {
  tableName: 'TABLE_NAME',
  spawnQueueUrl: 'SPAWN_QUEUE_URL',
  spawnDlqUrl: 'SPAWN_DLQ_URL',
  wakeQueueUrl: 'WAKE_QUEUE_URL',
  artifactsBucket: 'ARTIFACTS_BUCKET',
  notifyQueueUrl: 'NOTIFY_QUEUE_URL',
  notificationsEmailFrom: 'NOTIFICATIONS_EMAIL_FROM',
} as const;

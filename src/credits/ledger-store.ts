import { GetCommand } from '@aws-sdk/lib-dynamodb';
import { ddb } from '../platform/aws.js';
import { getConfig } from '../platform/config.js';
import { BATCH_GET_MAX_KEYS, queryWholeItems } from '../platform/dynamodb/batch-get.js';
import { decodeCursor, encodeCursor } from '../platform/dynamodb/cursor.js';
import type { TransactItem } from '../platform/dynamodb/transact.js';

/*
 * The credit ledger, append-only; each row is written in the transaction that moves the counters it explains.
 *   charge:   pk TASK#<task>,  sk LEDGER#CHARGE[#<attempt>]   at most one per attempt: each attempt is charged exactly once
 *   refund:   pk TASK#<task>,  sk LEDGER#REFUND[#<attempt>]   at most one per attempt (the first attempt has no suffix)
 *   override: pk SPACE#<space>, sk LEDGER#OVERRIDE#<id>
 *   override_request / override_declined: pk SPACE#<space>, sk LEDGER#OVERRIDE_REQUEST#<request> / LEDGER#OVERRIDE_DECLINED#<request>
 *             (a user asked for an override, an admin declined it: no counter moves, no window is named)
 * Indexes (the generic ones, with their own key prefixes):
 *   byUser:       gsi1pk SPACE#<charged space>#LEDGER, gsi1sk <created_at>#<id>   a space's ledger, newest first
 *   byUserStatus: gsi2pk SPACE#<task's space>#LEDGER,  gsi2sk <created_at>#<id>   only when the task's space
 *                 draws from an ancestor's quota, so a sub-space still lists its own tasks' rows
 */
export const LEDGER_REASONS = ['charge', 'refund', 'override', 'override_request', 'override_declined'] as const;
export type LedgerReason = (typeof LEDGER_REASONS)[number];

export interface LedgerEntry {
  id: string;
  task_id: string | null;
  /** The space whose counters (or, for an override, whose cap) this row moved. */
  space_id: string;
  /** The task's own space, when it draws from `space_id` as an ancestor. */
  task_space_id: string | null;
  executor_id: string | null;
  /**
   * Signed change of the space's usage: + for a charge, - for a refund, so charge and refund rows
   * sum to the counters. An override row carries the credits it grants (they raise the cap); an
   * override request's rows carry the credits asked for and name no window, so they move no sum.
   */
  credits: number;
  /** `credits` in integer units (1/10 000 credit), for exact sums. */
  units: number;
  reason: LedgerReason;
  /** Who caused it: the task's user for charges and refunds, the admin for overrides. */
  actor: string;
  created_at: string;
  /** The counter windows a charge or refund moved. */
  weekly_window: string | null;
  monthly_window: string | null;
  /** Override rows: the admin's reason and when the grant ends; request rows: the user's or admin's reason. */
  note: string | null;
  expires_at: string | null;
  /** Charges and refunds: the task's attempt (see tasks/retry-policy); absent means the first. */
  attempt?: number;
  /** The override request an override row granted, or a request row is about (absent on older rows). */
  request_id?: string | null;
}

const KEYS = ['pk', 'sk', 'gsi1pk', 'gsi1sk', 'gsi2pk', 'gsi2sk'] as const;

function baseKey(entry: LedgerEntry): { pk: string; sk: string } {
  if (entry.reason === 'override') return { pk: `SPACE#${entry.space_id}`, sk: `LEDGER#OVERRIDE#${entry.id}` };
  if (entry.reason === 'override_request') return { pk: `SPACE#${entry.space_id}`, sk: `LEDGER#OVERRIDE_REQUEST#${entry.id}` };
  if (entry.reason === 'override_declined') return { pk: `SPACE#${entry.space_id}`, sk: `LEDGER#OVERRIDE_DECLINED#${entry.id}` };
  if (!entry.task_id) throw new Error(`a ${entry.reason} ledger row needs a task`);
  return { pk: `TASK#${entry.task_id}`, sk: attemptSortKey(entry.reason === 'charge' ? 'LEDGER#CHARGE' : 'LEDGER#REFUND', entry.attempt ?? 1) };
}

const attemptSortKey = (base: string, attempt: number): string => (attempt <= 1 ? base : `${base}#${attempt}`);

const ledgerPartition = (spaceId: string): string => `SPACE#${spaceId}#LEDGER`;

function toEntry(item: Record<string, unknown>): LedgerEntry {
  const copy: Record<string, unknown> = { ...item };
  for (const attribute of KEYS) delete copy[attribute];
  return copy as unknown as LedgerEntry;
}

/** A transaction item appending `entry`; a second charge or refund of the same task fails the transaction. */
export function putLedgerItem(entry: LedgerEntry): TransactItem {
  const sort = `${entry.created_at}#${entry.id}`;
  const item: Record<string, unknown> = { ...entry, ...baseKey(entry), gsi1pk: ledgerPartition(entry.space_id), gsi1sk: sort };
  if (entry.task_space_id && entry.task_space_id !== entry.space_id) {
    item.gsi2pk = ledgerPartition(entry.task_space_id);
    item.gsi2sk = sort;
  }
  return { Put: { TableName: getConfig().tableName, Item: item, ConditionExpression: 'attribute_not_exists(pk)' } };
}

/** The key of the charge row of a task's attempt: to read it beside other items (a claim's BatchGetItem). */
export const chargeEntryKey = (taskId: string, attempt = 1): { pk: string; sk: string } => ({ pk: `TASK#${taskId}`, sk: attemptSortKey('LEDGER#CHARGE', attempt) });

/** A charge row read as an item at `chargeEntryKey`. */
export const chargeEntryOf = (item: Record<string, unknown>): LedgerEntry => toEntry(item);

/** The charge row of a task's attempt, if it was charged. */
export async function getChargeEntry(taskId: string, attempt = 1): Promise<LedgerEntry | null> {
  const result = await ddb().send(new GetCommand({ TableName: getConfig().tableName, Key: chargeEntryKey(taskId, attempt), ConsistentRead: true }));
  return result.Item ? toEntry(result.Item) : null;
}

/** Holds a transaction to a task having no charge row (one made meanwhile re-runs the settlement). */
export function noChargeItem(taskId: string, attempt = 1): TransactItem {
  return {
    ConditionCheck: {
      TableName: getConfig().tableName,
      Key: { pk: `TASK#${taskId}`, sk: attemptSortKey('LEDGER#CHARGE', attempt) },
      ConditionExpression: 'attribute_not_exists(pk)',
    },
  };
}

export interface LedgerPage {
  entries: LedgerEntry[];
  nextCursor: string | null;
}

/**
 * A space's ledger, newest first. `charged`: rows that moved this space's counters (they sum to
 * them); `own-tasks`: rows of this space's tasks charged to an ancestor's quota.
 */
export async function listLedger(
  spaceId: string,
  options: { view: 'charged' | 'own-tasks'; limit: number; cursor?: string },
): Promise<LedgerPage> {
  const byCharged = options.view === 'charged';
  const partitionAttribute = byCharged ? 'gsi1pk' : 'gsi2pk';
  const start = decodeCursor(options.cursor, {
    partitionAttribute,
    partitionValue: ledgerPartition(spaceId),
    sortAttribute: byCharged ? 'gsi1sk' : 'gsi2sk',
  });
  // Keys-only index: the page's rows come from one BatchGetItem.
  const result = await queryWholeItems({
    IndexName: byCharged ? 'byUser' : 'byUserStatus',
    KeyConditionExpression: `${partitionAttribute} = :p`,
    ExpressionAttributeValues: { ':p': ledgerPartition(spaceId) },
    ScanIndexForward: false,
    Limit: Math.min(options.limit, BATCH_GET_MAX_KEYS),
    ExclusiveStartKey: start,
  });
  return { entries: result.Items.map(toEntry), nextCursor: encodeCursor(result.LastEvaluatedKey) };
}

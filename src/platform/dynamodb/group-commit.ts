import { TransactionCanceledException } from '@aws-sdk/client-dynamodb';
import { TransactWriteCommand } from '@aws-sdk/lib-dynamodb';
import { ddb } from '../aws.js';
import { MAIN_TABLE } from '../resources.js';
import { requestGroups } from './request-groups.js';
import { transact, TransactionConflictError, type TransactItem } from './transact.js';

/** Most items one TransactWriteItems takes. */
export const MAX_TRANSACTION_ITEMS = 100;
/**
 * DynamoDB takes at most 4 MB in one transaction; a group stops at this many bytes of its items'
 * JSON (a little more than their stored size), so one large task input cannot push it over.
 */
export const MAX_GROUP_BYTES = 3 * 1024 * 1024;

/** Writes `items` atomically: resolves once they are written, rejects as `transact` does. */
export type Commit = (items: TransactItem[]) => Promise<void>;

interface Waiting {
  items: TransactItem[];
  keys: string[];
  bytes: number;
  resolve: () => void;
  reject: (error: unknown) => void;
}

/** The item a transaction item writes or checks, as one string (table, partition key, sort key). */
function itemKey(item: TransactItem): string {
  const { Put: put, Update: update, Delete: del, ConditionCheck: check } = item;
  const table = put?.TableName ?? update?.TableName ?? del?.TableName ?? check?.TableName;
  const key: Record<string, unknown> | undefined = put ? put.Item : (update?.Key ?? del?.Key ?? check?.Key);
  return JSON.stringify([table, key?.[MAIN_TABLE.partitionKey], key?.[MAIN_TABLE.sortKey]]);
}

const sizeOf = (items: TransactItem[]): number => items.reduce((sum, item) => sum + JSON.stringify(item).length, 0);

/**
 * Group commit: concurrent callers' transactions go to DynamoDB together, as ONE TransactWriteItems,
 * whenever they arrive while an earlier one is on its way. Each caller's items keep their own
 * conditions, so every caller's write is exactly as atomic and as guarded as alone (only more
 * atomic: with the others of its group); what is saved is the request: a round trip, and the
 * per-request work in the client and in DynamoDB, which is most of a small transaction's cost.
 * A caller alone (nothing in flight) is sent at once, with no wait.
 *
 * A group holds no two writes of the same item (DynamoDB refuses such a transaction; the later
 * caller waits for the next group), at most 100 items and `MAX_GROUP_BYTES`. When DynamoDB cancels
 * a group, its cancellation reasons say whose condition failed: those callers get the
 * `TransactionConflictError` they would have got alone, and the others are sent again at once.
 * A group refused as a whole (throttled after the SDK's retries, a request-wide error) is sent
 * again one caller at a time, so each caller sees its own outcome.
 *
 * One per orchestrator pass: groups only form among that pass's concurrent claims.
 */
export function groupCommit(): Commit {
  const takeGroup = (queue: Waiting[]): Waiting[] => {
    const group: Waiting[] = [];
    const keys = new Set<string>();
    let items = 0;
    let bytes = 0;
    for (let i = 0; i < queue.length; ) {
      const next = queue[i] as Waiting;
      const fits =
        group.length === 0 ||
        (items + next.items.length <= MAX_TRANSACTION_ITEMS && bytes + next.bytes <= MAX_GROUP_BYTES && next.keys.every((key) => !keys.has(key)));
      if (!fits) {
        i += 1;
        continue;
      }
      queue.splice(i, 1);
      group.push(next);
      for (const key of next.keys) keys.add(key);
      items += next.items.length;
      bytes += next.bytes;
    }
    return group;
  };

  const alone = async (waiting: Waiting): Promise<void> => {
    try {
      await transact(waiting.items);
      waiting.resolve();
    } catch (error) {
      waiting.reject(error);
    }
  };

  const send = async (group: Waiting[], requeue: (again: Waiting[]) => void): Promise<void> => {
    if (group.length === 1) return alone(group[0] as Waiting);
    const items = group.flatMap((waiting) => waiting.items);
    try {
      await ddb().send(new TransactWriteCommand({ TransactItems: items }));
      for (const waiting of group) waiting.resolve();
      return;
    } catch (error) {
      const reasons = error instanceof TransactionCanceledException ? error.CancellationReasons : undefined;
      const refused = (index: number): boolean => {
        const code = reasons?.[index]?.Code;
        return code !== undefined && code !== 'None';
      };
      if (!reasons || reasons.length !== items.length || !items.some((_, index) => refused(index))) {
        await Promise.all(group.map(alone));
        return;
      }
      const again: Waiting[] = [];
      let offset = 0;
      for (const waiting of group) {
        const failed = waiting.items.map((_, index) => (refused(offset + index) ? index : -1)).filter((index) => index >= 0);
        offset += waiting.items.length;
        if (failed.length > 0) waiting.reject(new TransactionConflictError(failed, { cause: error }));
        else again.push(waiting);
      }
      requeue(again);
    }
  };

  const enqueue = requestGroups(takeGroup, send);
  return (items) => new Promise<void>((resolve, reject) => enqueue({ items, keys: items.map(itemKey), bytes: sizeOf(items), resolve, reject }));
}

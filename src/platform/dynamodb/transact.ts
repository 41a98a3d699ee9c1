import { ConditionalCheckFailedException, TransactionCanceledException, TransactionConflictException } from '@aws-sdk/client-dynamodb';
import { DeleteCommand, PutCommand, TransactWriteCommand, UpdateCommand, type TransactWriteCommandInput } from '@aws-sdk/lib-dynamodb';
import { ddb } from '../aws.js';

export type TransactItem = NonNullable<TransactWriteCommandInput['TransactItems']>[number];

/** A conditional write in a transaction failed; `failedIndexes` says which items' conditions. */
export class TransactionConflictError extends Error {
  constructor(readonly failedIndexes: number[], options?: { cause?: unknown }) {
    super(`Transaction condition failed on items ${failedIndexes.join(', ')}`, options);
    this.name = 'TransactionConflictError';
  }
}

/**
 * The single-item request a one-item transaction amounts to. A conditional PutItem, UpdateItem or
 * DeleteItem is as atomic as a transaction of that one write, and DynamoDB charges it half: a
 * transactional write costs two write units per KB, in the table and in every index it changes.
 * A lone ConditionCheck has no such request and stays a transaction.
 */
function singleWrite(item: TransactItem): (() => Promise<unknown>) | null {
  const { Put: put, Update: update, Delete: del } = item;
  if (put) return () => ddb().send(new PutCommand(put));
  if (update) return () => ddb().send(new UpdateCommand(update));
  if (del) return () => ddb().send(new DeleteCommand(del));
  return null;
}

/** Runs one atomic write; condition failures and write conflicts become TransactionConflictError. */
export async function transact(items: TransactItem[]): Promise<void> {
  const single = items.length === 1 && items[0] ? singleWrite(items[0]) : null;
  try {
    if (single) await single();
    else await ddb().send(new TransactWriteCommand({ TransactItems: items }));
  } catch (error) {
    // A single write's condition failed, or a transaction held the item: the same lost race.
    if (single && (error instanceof ConditionalCheckFailedException || error instanceof TransactionConflictException)) {
      throw new TransactionConflictError([0], { cause: error });
    }
    if (error instanceof TransactionCanceledException) {
      const reasons = error.CancellationReasons ?? [];
      const failed = reasons
        .map((reason, index) => (reason.Code && reason.Code !== 'None' ? index : -1))
        .filter((index) => index >= 0);
      throw new TransactionConflictError(failed, { cause: error });
    }
    throw error;
  }
}

/** Retries `attempt` when it loses an optimistic race, with exponential backoff and full jitter. */
export async function withOptimisticRetry<T>(attempt: () => Promise<T>, tries = 8): Promise<T> {
  for (let i = 1; ; i++) {
    try {
      return await attempt();
    } catch (error) {
      if (!(error instanceof TransactionConflictError) || i >= tries) throw error;
      await new Promise((resolve) => setTimeout(resolve, Math.random() * Math.min(200, 5 * 2 ** i)));
    }
  }
}

/** DynamoDB errors that say "busy, try again" (the SDK already retried them with backoff). */
const BUSY_ERRORS = new Set([
  'ProvisionedThroughputExceededException',
  'ThrottlingException',
  'RequestLimitExceeded',
  'TransactionInProgressException',
  'TransactionConflictException',
  'InternalServerError',
]);

/**
 * Whether a request failed only because storage was busy: throttled, or it kept losing races
 * after its retries. Such a request changed nothing (each write is one transaction) and may be
 * sent again: the API answers 503 with Retry-After, not 500.
 */
export function isStorageBusy(error: unknown): boolean {
  if (error instanceof TransactionConflictError) return true;
  if (!(error instanceof Error)) return false;
  if (BUSY_ERRORS.has(error.name)) return true;
  if (error instanceof TransactionCanceledException) {
    return (error.CancellationReasons ?? []).some((reason) => reason.Code === 'TransactionConflict' || reason.Code === 'ThrottlingError' || reason.Code === 'ProvisionedThroughputExceeded');
  }
  return false;
}

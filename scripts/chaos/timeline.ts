import type { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import type { LimitOverrides, PlanName } from '../../src/accounts/plans.js';
import type { TaskStatus } from '../../src/tasks/task.js';

/** A task item as one committed transaction wrote it. */
export interface TaskWrite {
  taskId: string;
  userId: string;
  status: TaskStatus;
  attempts: number;
  /** The status the write was conditioned on; null for a new task. */
  expectedStatus: TaskStatus | null;
  reservedSeconds: number | null;
  hoursWindow: string | null;
  usedSeconds: number | null;
  startedAt: string | null;
}

/** A user account as one committed transaction wrote it. */
export interface AccountWrite {
  userId: string;
  version: number;
  plan: PlanName;
  overrides: LimitOverrides;
  runningCount: number;
  pendingCount: number;
  hoursWindow: string;
  hoursUsedSeconds: number;
  hoursReservedSeconds: number;
}

/** A credit ledger row written by a transaction. */
export interface LedgerWrite {
  taskId: string;
  reason: string;
  units: number;
}

export interface TimelineEntry {
  /** Commit order as this process saw the answers (exact per user through `AccountWrite.version`). */
  seq: number;
  tasks: TaskWrite[];
  accounts: AccountWrite[];
  ledger: LedgerWrite[];
}

const text = (value: unknown): string | null => (typeof value === 'string' ? value : null);
const number = (value: unknown): number | null => (typeof value === 'number' ? value : null);

function taskWrite(item: Record<string, unknown>, values: Record<string, unknown> | undefined): TaskWrite {
  return {
    taskId: String(item.id),
    userId: String(item.user_id),
    status: item.status as TaskStatus,
    attempts: number(item.attempts) ?? 0,
    expectedStatus: (text(values?.[':s']) as TaskStatus | null) ?? null,
    reservedSeconds: number(item.reserved_seconds),
    hoursWindow: text(item.hours_window),
    usedSeconds: number(item.used_seconds),
    startedAt: text(item.started_at),
  };
}

function accountWrite(item: Record<string, unknown>): AccountWrite {
  return {
    userId: String(item.user_id),
    version: number(item.version) ?? 0,
    plan: item.plan as PlanName,
    overrides: (item.overrides ?? {}) as LimitOverrides,
    runningCount: number(item.running_count) ?? 0,
    pendingCount: number(item.pending_count) ?? 0,
    hoursWindow: String(item.hours_window),
    hoursUsedSeconds: number(item.hours_used_seconds) ?? 0,
    hoursReservedSeconds: number(item.hours_reserved_seconds) ?? 0,
  };
}

const isTask = (item: Record<string, unknown>) => String(item.pk).startsWith('TASK#') && item.sk === 'TASK';
const isAccount = (item: Record<string, unknown>) => String(item.pk).startsWith('USER#') && item.sk === 'PROFILE';

interface TransactInput {
  TransactItems?: {
    Put?: { Item?: Record<string, unknown>; ExpressionAttributeValues?: Record<string, unknown> };
    Update?: { Key?: Record<string, unknown> };
    Delete?: { Key?: Record<string, unknown> };
  }[];
}

/**
 * Records every committed TransactWriteItems (and PutItem, a one-item transaction's request) at
 * the SDK: the task, account and ledger items it wrote. Each account write carries the account's new version, so a user's writes can be put in
 * their exact commit order afterwards, whatever order the answers arrived in. Writes to tasks or
 * accounts outside a transaction are noted separately: the checker cannot order those.
 */
export class TransactionTimeline {
  readonly entries: TimelineEntry[] = [];
  readonly untrackedWrites: string[] = [];
  private seq = 0;

  install(client: DynamoDBDocumentClient): void {
    client.middlewareStack.add(
      (next, context) => async (args) => {
        const result = await next(args);
        const command = context.commandName ?? '';
        if (command === 'TransactWriteItemsCommand') this.record(args.input as TransactInput);
        // A one-item write goes out as a conditional PutItem (src/platform/dynamodb/transact.ts): the same commit.
        else if (command === 'PutItemCommand') this.record({ TransactItems: [{ Put: args.input as NonNullable<TransactInput['TransactItems']>[number]['Put'] }] });
        else if (/^(Update|Delete)ItemCommand$/.test(command)) this.noteSingleWrite(command, args.input as Record<string, unknown>);
        return result;
      },
      { step: 'initialize', name: 'nightshiftChaosTimeline', override: true },
    );
  }

  private record(input: TransactInput): void {
    const entry: TimelineEntry = { seq: ++this.seq, tasks: [], accounts: [], ledger: [] };
    for (const write of input.TransactItems ?? []) {
      const item = write.Put?.Item;
      if (!item) continue;
      if (isTask(item)) entry.tasks.push(taskWrite(item, write.Put?.ExpressionAttributeValues));
      else if (isAccount(item)) entry.accounts.push(accountWrite(item));
      else if (String(item.sk).startsWith('LEDGER#') && item.task_id) {
        entry.ledger.push({ taskId: String(item.task_id), reason: String(item.reason), units: number(item.units) ?? 0 });
      }
    }
    this.entries.push(entry);
  }

  private noteSingleWrite(command: string, input: Record<string, unknown>): void {
    const item = (input.Item ?? input.Key ?? {}) as Record<string, unknown>;
    if (isTask(item) || isAccount(item)) this.untrackedWrites.push(`${command} ${String(item.pk)}`);
  }
}

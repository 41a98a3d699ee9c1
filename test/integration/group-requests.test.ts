import { GetCommand, PutCommand } from '@aws-sdk/lib-dynamodb';
import { ThrottlingException } from '@aws-sdk/client-dynamodb';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { ddb } from '../../src/platform/aws.js';
import { getConfig } from '../../src/platform/config.js';
import { groupCommit, MAX_TRANSACTION_ITEMS } from '../../src/platform/dynamodb/group-commit.js';
import { groupGet } from '../../src/platform/dynamodb/group-get.js';
import { TransactionConflictError, type TransactItem } from '../../src/platform/dynamodb/transact.js';
import { useFreshTable } from '../support/local-env.js';
import { watchRequests, type RequestWatch } from '../support/watch-requests.js';

/*
 * Group commit and group get against DynamoDB Local: what a pass's claims rely on when they share
 * a TransactWriteItems or a BatchGetItem. Each caller must see exactly the outcome its own request
 * would have had.
 */

const table = () => getConfig().tableName;

/** A claim-shaped pair: a new row, and a counter row moved from `from` to `from + 1`. */
function step(name: string, from: number): TransactItem[] {
  return [
    { Put: { TableName: table(), Item: { pk: `ROW#${name}#${from + 1}`, sk: 'ROW' }, ConditionExpression: 'attribute_not_exists(pk)' } },
    {
      Put: {
        TableName: table(),
        Item: { pk: `COUNTER#${name}`, sk: 'COUNTER', version: from + 1 },
        ConditionExpression: from === 0 ? 'attribute_not_exists(pk)' : 'version = :v',
        ...(from === 0 ? {} : { ExpressionAttributeValues: { ':v': from } }),
      },
    },
  ];
}

const versionOf = async (name: string): Promise<number | undefined> =>
  (await ddb().send(new GetCommand({ TableName: table(), Key: { pk: `COUNTER#${name}`, sk: 'COUNTER' }, ConsistentRead: true }))).Item?.version as number | undefined;
const rowExists = async (name: string, n: number): Promise<boolean> =>
  (await ddb().send(new GetCommand({ TableName: table(), Key: { pk: `ROW#${name}#${n}`, sk: 'ROW' }, ConsistentRead: true }))).Item !== undefined;

/** The items of every TransactWriteItems sent; `refuse` may fail one before it is sent. */
const watchTransactions = (refuse?: (items: number) => Error | undefined): RequestWatch =>
  watchRequests('TransactWriteItemsCommand', (input) => (input.TransactItems as unknown[]).length, refuse);

const keyOf = (i: number) => ({ pk: `TASK#${i}`, sk: 'TASK' });
const put = (i: number, title = `task ${i}`) => ddb().send(new PutCommand({ TableName: getConfig().tableName, Item: { ...keyOf(i), title } }));
const titles = (items: Record<string, unknown>[]) => items.map((item) => item.title);

/** The keys of every BatchGetItem sent; `refuse` may fail one before it is sent. */
const watchBatchGets = (refuse?: (keys: number) => Error | undefined): RequestWatch =>
  watchRequests('BatchGetItemCommand', (input) => Object.values(input.RequestItems as Record<string, { Keys: unknown[] }>)[0]?.Keys.length ?? 0, refuse);

let watch: RequestWatch | undefined;
beforeEach(async () => {
  await useFreshTable();
});
afterEach(() => {
  watch?.stop();
  watch = undefined;
});

describe('group commit', () => {
  it('sends a lone caller at once, in a transaction of its own', async () => {
    watch = watchTransactions();
    await groupCommit()(step('alone', 0));
    expect(watch.sizes).toEqual([2]);
    expect(await versionOf('alone')).toBe(1);
  });

  it('sends callers that arrive while a transaction is on its way together, and writes every one', async () => {
    const commit = groupCommit();
    watch = watchTransactions();
    const names = ['a', 'b', 'c', 'd', 'e'];
    await Promise.all(names.map((name) => commit(step(name, 0))));
    // The five arrive in the same turn of the event loop: one request for all ten items.
    expect(watch.sizes).toEqual([10]);
    for (const name of names) {
      expect(await versionOf(name)).toBe(1);
      expect(await rowExists(name, 1)).toBe(true);
    }
  });

  it('refuses only the caller whose condition failed; the others of its group are written', async () => {
    const commit = groupCommit();
    await commit(step('moved', 0));
    watch = watchTransactions();
    const outcomes = await Promise.allSettled([commit(step('fresh', 0)), commit(step('moved', 0)), commit(step('other', 0))]);

    expect(outcomes.map((outcome) => outcome.status)).toEqual(['fulfilled', 'rejected', 'fulfilled']);
    const refused = (outcomes[1] as PromiseRejectedResult).reason as TransactionConflictError;
    expect(refused).toBeInstanceOf(TransactionConflictError);
    // Indexes of its own items: both had moved on (the row exists, the counter is at 1).
    expect(refused.failedIndexes).toEqual([0, 1]);
    expect(await versionOf('fresh')).toBe(1);
    expect(await versionOf('other')).toBe(1);
    expect(await versionOf('moved')).toBe(1);
    expect(await rowExists('moved', 1)).toBe(true);
    // The group was refused once, then the two others went again together.
    expect(watch.sizes).toEqual([6, 4]);
  });

  it('never puts two writes of the same item in one transaction: the later caller goes next, with its own outcome', async () => {
    const commit = groupCommit();
    watch = watchTransactions();
    // Both move the same counter from 0: in one transaction DynamoDB would refuse the request as invalid.
    const outcomes = await Promise.allSettled([commit(step('same', 0)), commit(step('same', 0)), commit(step('else', 0))]);

    expect(outcomes.map((outcome) => outcome.status)).toEqual(['fulfilled', 'rejected', 'fulfilled']);
    expect((outcomes[1] as PromiseRejectedResult).reason).toBeInstanceOf(TransactionConflictError);
    expect(watch.sizes).toEqual([4, 2]);
    expect(await versionOf('same')).toBe(1);
  });

  it('keeps a group within 100 items', async () => {
    const commit = groupCommit();
    watch = watchTransactions();
    const names = Array.from({ length: 60 }, (_, i) => `n${i}`);
    await Promise.all(names.map((name) => commit(step(name, 0))));
    expect(Math.max(...watch.sizes)).toBeLessThanOrEqual(MAX_TRANSACTION_ITEMS);
    expect(watch.sizes.reduce((sum, items) => sum + items, 0)).toBe(120);
    for (const name of names) expect(await versionOf(name)).toBe(1);
  });

  it('sends each caller alone when a group is refused as a whole, so each sees its own outcome', async () => {
    const commit = groupCommit();
    await commit(step('stale', 0));
    // A throttled group (after the SDK's own retries) says nothing about whose write was at fault.
    watch = watchTransactions((items) => (items > 2 ? new ThrottlingException({ message: 'Rate exceeded', $metadata: {} }) : undefined));
    const outcomes = await Promise.allSettled([commit(step('x', 0)), commit(step('stale', 0)), commit(step('y', 0))]);

    expect(outcomes.map((outcome) => outcome.status)).toEqual(['fulfilled', 'rejected', 'fulfilled']);
    expect((outcomes[1] as PromiseRejectedResult).reason).toBeInstanceOf(TransactionConflictError);
    expect(watch.sizes).toEqual([6, 2, 2, 2]);
    expect(await versionOf('x')).toBe(1);
    expect(await versionOf('y')).toBe(1);
  });

  it('passes on an error that is not a lost race to the caller whose write it was', async () => {
    const commit = groupCommit();
    watch = watchTransactions();
    // A condition with a placeholder it does not define: DynamoDB refuses the request as invalid.
    const broken: TransactItem[] = [{ Put: { TableName: table(), Item: { pk: 'BROKEN', sk: 'ROW' }, ConditionExpression: 'version = :missing' } }];
    const outcomes = await Promise.allSettled([commit(step('fine', 0)), commit([...broken, ...step('also', 0)])]);

    expect(outcomes[0]?.status).toBe('fulfilled');
    expect(outcomes[1]?.status).toBe('rejected');
    expect((outcomes[1] as PromiseRejectedResult).reason).not.toBeInstanceOf(TransactionConflictError);
    expect(await versionOf('fine')).toBe(1);
    expect(await versionOf('also')).toBeUndefined();
  });
});

describe('group get', () => {
  it('reads for a lone caller at once', async () => {
    await put(1);
    watch = watchBatchGets();
    expect(titles(await groupGet()([keyOf(1)]))).toEqual(['task 1']);
    expect(watch.sizes).toEqual([1]);
  });

  it('reads for callers that ask together in one request, each getting its own items in its order', async () => {
    for (const i of [1, 2, 3, 4, 5]) await put(i);
    const get = groupGet();
    watch = watchBatchGets();
    const [a, b, c] = await Promise.all([get([keyOf(3), keyOf(1)]), get([keyOf(2), keyOf(9), keyOf(3)]), get([keyOf(5)])]);

    expect(titles(a)).toEqual(['task 3', 'task 1']);
    // A key with no item is left out; a key another caller also asked for is read once.
    expect(titles(b)).toEqual(['task 2', 'task 3']);
    expect(titles(c)).toEqual(['task 5']);
    expect(watch.sizes).toEqual([5]);
  });

  it('reads what was written after the caller asked, as its own strongly consistent read would', async () => {
    await put(1, 'before');
    const get = groupGet();
    // The first read is on its way (or done) when the write lands; the second is asked after it.
    const first = get([keyOf(1)]);
    await put(1, 'after');
    const second = get([keyOf(1)]);
    expect(titles(await second)).toEqual(['after']);
    expect(['before', 'after']).toContain(titles(await first)[0]);
  });

  it('keeps a request within 100 keys', async () => {
    const get = groupGet();
    for (const i of Array.from({ length: 150 }, (_, n) => n)) await put(i);
    watch = watchBatchGets();
    const reads = await Promise.all(Array.from({ length: 3 }, (_, caller) => get(Array.from({ length: 50 }, (_, n) => keyOf(caller * 50 + n)))));

    expect(watch.sizes).toEqual([100, 50]);
    expect(reads.map((items) => items.length)).toEqual([50, 50, 50]);
    expect(titles(reads[2] ?? [])[0]).toBe('task 100');
  });

  it('reads again one caller at a time when a shared read fails, so each sees its own outcome', async () => {
    await put(1);
    await put(2);
    const get = groupGet();
    let failures = 0;
    watch = watchBatchGets((keys) => (keys > 1 && failures++ === 0 ? new Error('connection reset') : undefined));
    const [a, b] = await Promise.all([get([keyOf(1)]), get([keyOf(2)])]);

    expect(titles(a)).toEqual(['task 1']);
    expect(titles(b)).toEqual(['task 2']);
    expect(watch.sizes).toEqual([2, 1, 1]);
  });
});

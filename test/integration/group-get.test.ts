import { PutCommand } from '@aws-sdk/lib-dynamodb';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { ddb } from '../../src/platform/aws.js';
import { getConfig } from '../../src/platform/config.js';
import { groupGet } from '../../src/platform/dynamodb/group-get.js';
import { useFreshTable } from '../support/local-env.js';

/*
 * Group get against DynamoDB Local: concurrent reads of a pass share one BatchGetItem, and each
 * caller still gets exactly the items it asked for, in its order, as fresh as its own read.
 */

const keyOf = (i: number) => ({ pk: `TASK#${i}`, sk: 'TASK' });
const put = (i: number, title = `task ${i}`) => ddb().send(new PutCommand({ TableName: getConfig().tableName, Item: { ...keyOf(i), title } }));
const titles = (items: Record<string, unknown>[]) => items.map((item) => item.title);

/** Records the number of keys of every BatchGetItem the shared client sends; `refuse` may fail one before it is sent. */
function watchBatchGets(refuse?: (keys: number) => Error | undefined): { sizes: number[]; stop: () => void } {
  const name = `watch-${Math.random()}`;
  const watch = { sizes: [] as number[], stop: () => void ddb().middlewareStack.remove(name) };
  ddb().middlewareStack.add(
    (next, context) => async (args) => {
      if (context.commandName === 'BatchGetItemCommand') {
        const request = Object.values((args.input as { RequestItems: Record<string, { Keys: unknown[] }> }).RequestItems)[0];
        const keys = request?.Keys.length ?? 0;
        watch.sizes.push(keys);
        const error = refuse?.(keys);
        if (error) throw error;
      }
      return next(args);
    },
    { step: 'initialize', name },
  );
  return watch;
}

let watch: { sizes: number[]; stop: () => void } | undefined;
beforeEach(async () => {
  await useFreshTable();
});
afterEach(() => {
  watch?.stop();
  watch = undefined;
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

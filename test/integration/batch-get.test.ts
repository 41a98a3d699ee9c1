import { PutCommand, UpdateCommand } from '@aws-sdk/lib-dynamodb';
import { beforeEach, describe, expect, it } from 'vitest';
import { ddb } from '../../src/platform/aws.js';
import { getConfig } from '../../src/platform/config.js';
import { batchGetInOrder, queryWholeItems } from '../../src/platform/dynamodb/batch-get.js';
import { useFreshTable } from '../support/local-env.js';

const put = (i: number, extra: Record<string, unknown> = {}) =>
  ddb().send(new PutCommand({ TableName: getConfig().tableName, Item: { pk: `TASK#${i}`, sk: 'TASK', title: `task ${i}`, ...extra } }));
const keyOf = (i: number) => ({ pk: `TASK#${i}`, sk: 'TASK' });

/** Runs `onOutput` after each successful command of `commandName`, with its output (which it may change). */
function afterCommand(commandName: string, onOutput: (output: Record<string, unknown>, input: Record<string, unknown>) => Promise<void> | void): () => void {
  const name = `after-${commandName}-${Math.random()}`;
  ddb().middlewareStack.add(
    (next, context) => async (args) => {
      const result = await next(args);
      if (context.commandName === commandName) await onOutput(result.output as Record<string, unknown>, args.input as Record<string, unknown>);
      return result;
    },
    { step: 'initialize', name },
  );
  return () => {
    ddb().middlewareStack.remove(name);
  };
}

beforeEach(async () => {
  await useFreshTable();
});

describe('batchGetInOrder', () => {
  it('returns the items in the order of the keys asked, leaving out keys with no item', async () => {
    for (const i of [1, 2, 3]) await put(i);
    const items = await batchGetInOrder([keyOf(3), keyOf(9), keyOf(1), keyOf(2)]);
    expect(items.map((item) => item.title)).toEqual(['task 3', 'task 1', 'task 2']);
  });

  it('asks again for the keys a BatchGetItem left unprocessed, and returns them all', async () => {
    for (const i of [1, 2, 3, 4]) await put(i);
    const asked: number[] = [];
    const name = `unprocessed-${Math.random()}`;
    // The first call answers only for its first key and reports the rest unprocessed, as a throttled one does.
    ddb().middlewareStack.add(
      (next, context) => async (args) => {
        if (!/^BatchGet(Item)?Command$/.test(context.commandName ?? '')) return next(args);
        const input = args.input as { RequestItems: Record<string, { Keys: Record<string, unknown>[] }> };
        const [table, request] = Object.entries(input.RequestItems)[0] ?? [];
        if (!table || !request) return next(args);
        asked.push(request.Keys.length);
        if (asked.length > 1) return next(args);
        const [first, ...rest] = request.Keys;
        const result = await next({ ...args, input: { RequestItems: { [table]: { ...request, Keys: [first] } } } });
        (result.output as { UnprocessedKeys?: unknown }).UnprocessedKeys = { [table]: { Keys: rest } };
        return result;
      },
      { step: 'initialize', name },
    );
    try {
      const items = await batchGetInOrder([1, 2, 3, 4].map(keyOf));
      expect(items.map((item) => item.title)).toEqual(['task 1', 'task 2', 'task 3', 'task 4']);
      expect(asked).toEqual([4, 3]);
    } finally {
      ddb().middlewareStack.remove(name);
    }
  });
});

describe('queryWholeItems', () => {
  it('reads whole items behind a keys-only index, in index order, and drops one that left the partition after its entry was read', async () => {
    for (const i of [1, 2, 3]) await put(i, { pendpk: 'PENDING#u', pendsk: `5#${i}` });
    await ddb().send(new PutCommand({ TableName: getConfig().tableName, Item: { pk: 'USER#u', sk: 'PROFILE', version: 7 } }));
    // Between the index read and the item read, task 2 stops being pending (as a claim by another orchestrator would).
    const restore = afterCommand('QueryCommand', async () => {
      await ddb().send(new UpdateCommand({ TableName: getConfig().tableName, Key: keyOf(2), UpdateExpression: 'REMOVE pendpk, pendsk SET #s = :c', ExpressionAttributeNames: { '#s': 'status' }, ExpressionAttributeValues: { ':c': 'claimed' } }));
    });
    let page;
    try {
      page = await queryWholeItems({ IndexName: 'pending', KeyConditionExpression: 'pendpk = :p', ExpressionAttributeValues: { ':p': 'PENDING#u' }, Limit: 10 }, { consistent: true, alsoGet: [{ pk: 'USER#u', sk: 'PROFILE' }] });
    } finally {
      restore();
    }
    // The index holds keys only, yet the titles are there: the items were read whole.
    expect(page.Items.map((item) => item.title)).toEqual(['task 1', 'task 3']);
    // The account asked for alongside came in the same read, apart from the tasks.
    expect(page.Also.map((item) => item.version)).toEqual([7]);
  });
});

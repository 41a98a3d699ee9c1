import { beforeEach, describe, expect, it } from 'vitest';
import { GetCommand, PutCommand } from '@aws-sdk/lib-dynamodb';
import type { SQSEvent } from 'aws-lambda';
import { claimNextTasks } from '../../src/scheduling/claim.js';
import { createTask } from '../../src/tasks/create-task.js';
import { completeTask } from '../../src/tasks/finish-task.js';
import { taskCreateSchema } from '../../src/tasks/schemas.js';
import { getTask } from '../../src/tasks/task-store.js';
import { updateUserAccount } from '../../src/accounts/limits.js';
import { getUser, userItemKey } from '../../src/accounts/user-store.js';
import type { WakeMessage } from '../../src/platform/queue/messages.js';
import { ddb } from '../../src/platform/aws.js';
import { getConfig } from '../../src/platform/config.js';
import { handler as orchestrator } from '../../functions/orchestrator/handler.js';
import { takeSpawnMessages, takeWakeMessages, useFreshTable, type TestEnv } from '../support/local-env.js';

/*
 * A create or a freed slot concerns one user (limits are per user), so its wake names that user
 * and the pass it wakes claims for them from their account, with no read of the `ready` index:
 * concurrent passes woken for different users do not race for the same accounts, and an index
 * that lags behind the waking write cannot hide the user.
 */

let env: TestEnv;
let n = 0;
const user = () => `named-${++n}-${Date.now()}`;
const queueTask = (owner: string, title: string) => createTask(owner, taskCreateSchema.parse({ title }), new Date());

const takeWakes = () => takeWakeMessages(env.queues.wakeQueueUrl);

/** Counts the Queries of the `ready` index the shared client sends until `stop`. */
function countReadyQueries(): { count: number; stop: () => void } {
  const counter = { count: 0, stop: () => void ddb().middlewareStack.remove('countReadyQueries') };
  ddb().middlewareStack.add(
    (next) => async (args) => {
      if ((args.input as { IndexName?: string }).IndexName === 'ready') counter.count += 1;
      return next(args);
    },
    { step: 'initialize', name: 'countReadyQueries' },
  );
  return counter;
}

/** The account as stored, but missing from the `ready` index: what a reader sees while the index lags behind the write. */
async function hideFromReadyIndex(owner: string): Promise<void> {
  const item = (await ddb().send(new GetCommand({ TableName: getConfig().tableName, Key: userItemKey(owner), ConsistentRead: true }))).Item;
  if (!item) throw new Error('no account');
  const { readypk: _readypk, readysk: _readysk, ...rest } = item;
  await ddb().send(new PutCommand({ TableName: getConfig().tableName, Item: rest }));
}

const sqsEvent = (...wakes: WakeMessage[]): SQSEvent =>
  ({ Records: wakes.map((wake, i) => ({ messageId: String(i), receiptHandle: '', body: JSON.stringify(wake), attributes: {}, messageAttributes: {}, md5OfBody: '', eventSource: 'aws:sqs', eventSourceARN: 'arn:aws:sqs:us-east-1:000000000000:wake', awsRegion: 'us-east-1' })) }) as unknown as SQSEvent;

beforeEach(async () => {
  env = await useFreshTable();
});

describe('wakes that name their user', () => {
  it('a create and a freed slot name their owner; a create while every slot is taken wakes nobody', async () => {
    const owner = user();
    const first = await queueTask(owner, 'first');
    expect(await takeWakes()).toEqual([{ reason: 'task-created', user_id: owner }]);
    await claimNextTasks({ forUsers: [owner], readReady: false });
    const [spawn] = await takeSpawnMessages(env.queues.spawnQueueUrl);

    // A free plan runs one task at a time: the second task can only start when the first ends.
    await queueTask(owner, 'second');
    expect(await takeWakes()).toEqual([]);

    await completeTask(first.id, spawn?.callback_token ?? '', { status: 'completed' });
    expect(await takeWakes()).toEqual([{ reason: 'slot-freed', user_id: owner }]);
  });

  it('a pass for named users claims for them from their accounts, reads no ready shard, and leaves other users to their own wakes', async () => {
    const [named, other] = [user(), user()];
    const namedTask = await queueTask(named, 'mine');
    const otherTask = await queueTask(other, 'theirs');
    const readyQueries = countReadyQueries();

    const pass = await claimNextTasks({ forUsers: [named], readReady: false });
    readyQueries.stop();

    expect(pass.claimed.map((task) => task.id)).toEqual([namedTask.id]);
    expect(readyQueries.count).toBe(0);
    expect((await getTask(otherTask.id))?.status).toBe('pending');
    // A pass that reads the index (the schedule's, an unnamed wake's) serves the other user.
    expect((await claimNextTasks()).claimed.map((task) => task.id)).toEqual([otherTask.id]);
  });

  it('claims for a named user whom the ready index does not show yet; a pass that only reads the index does not see them', async () => {
    const owner = user();
    const task = await queueTask(owner, 'behind a lagging index');
    await hideFromReadyIndex(owner);

    expect((await claimNextTasks()).claimed).toEqual([]);
    expect((await claimNextTasks({ forUsers: [owner] })).claimed.map((claimed) => claimed.id)).toEqual([task.id]);
  });

  it('a pass that reads a full page of the ready index still claims for a named user the index does not show', async () => {
    const others = Array.from({ length: 4 }, () => user());
    for (const other of others) await queueTask(other, 'in the index');
    const owner = user();
    const task = await queueTask(owner, 'behind a lagging index');
    await hideFromReadyIndex(owner);

    // A page of 2 users: the index alone fills it.
    const pass = await claimNextTasks({ forUsers: [owner], pageSize: 2, maxClaims: 3 });

    expect(pass.claimed.map((claimed) => claimed.id)).toContain(task.id);
  });

  it('a named user with every slot taken is left as is: nothing claimed, no write', async () => {
    const owner = user();
    await queueTask(owner, 'running');
    await claimNextTasks({ forUsers: [owner], readReady: false });
    await queueTask(owner, 'waiting');
    const before = await getUser(owner, new Date());

    const pass = await claimNextTasks({ forUsers: [owner], readReady: false });

    expect(pass.claimed).toEqual([]);
    expect((await getUser(owner, new Date())).version).toBe(before.version);
  });

  it('a named user with several free slots gets each of them in one pass, in claim order', async () => {
    const owner = user();
    await updateUserAccount(owner, (account) => ({ ...account, plan: 'enterprise' }), 'test-admin');
    const tasks = [await queueTask(owner, 'one'), await queueTask(owner, 'two'), await queueTask(owner, 'three')];

    const pass = await claimNextTasks({ forUsers: [owner], readReady: false });

    expect(pass.claimed.map((task) => task.id)).toEqual(tasks.map((task) => task.id));
  });

  it('claims for every named user when they are more than a round\'s page', async () => {
    const owners = [user(), user(), user()];
    const tasks = [];
    for (const owner of owners) tasks.push(await queueTask(owner, 'mine'));

    const pass = await claimNextTasks({ forUsers: owners, readReady: false, pageSize: 1 });

    expect(pass.claimed.map((task) => task.id).sort()).toEqual(tasks.map((task) => task.id).sort());
  });

  it('passes woken for the same user at once never claim past the user\'s limit', async () => {
    const owner = user();
    await queueTask(owner, 'a');
    await queueTask(owner, 'b');

    const passes = await Promise.all([1, 2, 3].map(() => claimNextTasks({ forUsers: [owner], readReady: false })));

    expect(passes.flatMap((pass) => pass.claimed)).toHaveLength(1);
    expect(await getUser(owner, new Date())).toMatchObject({ running_count: 1, pending_count: 1 });
  });

  it('the orchestrator claims for the users its wakes name; the schedule\'s pass for everyone', async () => {
    const [named, other] = [user(), user()];
    const namedTask = await queueTask(named, 'mine');
    const otherTask = await queueTask(other, 'theirs');

    await orchestrator(sqsEvent({ reason: 'task-created', user_id: named }, { reason: 'slot-freed', user_id: named }));
    expect((await getTask(namedTask.id))?.status).toBe('claimed');
    expect((await getTask(otherTask.id))?.status).toBe('pending');

    // An unnamed wake in the batch (a sweeper's, a limit change) makes the pass read the index too.
    await orchestrator(sqsEvent({ reason: 'sweeper' }));
    expect((await getTask(otherTask.id))?.status).toBe('claimed');
  });
});

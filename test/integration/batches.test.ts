import { DeleteCommand, UpdateCommand } from '@aws-sdk/lib-dynamodb';
import { ReceiveMessageCommand, SQSClient } from '@aws-sdk/client-sqs';
import { beforeAll, describe, expect, it } from 'vitest';
import { handler as batchTrigger } from '../../functions/batch-trigger/handler.js';
import { startBatchScheduler } from '../../scripts/local/batch-scheduler.js';
import { ddb } from '../../src/platform/aws.js';
import { getConfig } from '../../src/platform/config.js';
import type { Task } from '../../src/tasks/task.js';
import { DomainError } from '../../src/platform/errors.js';
import { claimNextTasks } from '../../src/scheduling/claim.js';
import { wakeMessageSchema } from '../../src/platform/queue/messages.js';
import { batchCreateSchema, type BatchCreate } from '../../src/batches/schemas.js';
import { taskCreateSchema } from '../../src/tasks/schemas.js';
import { cancelBatch } from '../../src/batches/cancel-batch.js';
import { createBatch } from '../../src/batches/create-batch.js';
import { getBatchReport } from '../../src/batches/batch-report.js';
import { getBatchView, listBatches } from '../../src/batches/batch-views.js';
import { runBatchOccurrence } from '../../src/batches/run-occurrence.js';
import { enqueueTasks, newTask } from '../../src/tasks/create-task.js';
import { updateUserAccount } from '../../src/accounts/limits.js';
import { getBatch, getOccurrence, listDueRecurringBatches, listStalledOccurrences } from '../../src/batches/batch-store.js';
import { getTask, listUserTasks } from '../../src/tasks/task-store.js';
import { getUser } from '../../src/accounts/user-store.js';
import { useFreshTable, type TestEnv } from '../support/local-env.js';

let env: TestEnv;

beforeAll(async () => {
  env = await useFreshTable({ MAX_PENDING_PER_USER: '10' });
});

const batchBody = (count: number, overrides: Partial<Record<keyof BatchCreate, unknown>> = {}): BatchCreate =>
  batchCreateSchema.parse({
    name: 'tonight',
    tasks: Array.from({ length: count }, (_, i) => ({ title: `task ${i}`, description: 'overnight work', estimated_minutes: 10 })),
    ...overrides,
  });

async function allTasksOf(user: string): Promise<Task[]> {
  const tasks: Task[] = [];
  let cursor: string | undefined;
  do {
    const page = await listUserTasks(user, { limit: 100, cursor });
    tasks.push(...page.tasks);
    cursor = page.nextCursor ?? undefined;
  } while (cursor);
  return tasks;
}

async function rejection(promise: Promise<unknown>): Promise<DomainError> {
  const error = await promise.then(
    () => null,
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(DomainError);
  return error as DomainError;
}

/** Creates a 100-task batch for `user` and undoes its follow-up write, as a crash between the two would. */
async function loseFollowUpWrite(user: string) {
    await updateUserAccount(user, (user) => ({ ...user, overrides: { max_pending_tasks: 200 } }), 'test-admin');
    const view = await createBatch(user, batchBody(100));
    const occurrence = await getOccurrence(view.batch.id, 'once');
    if (!occurrence) throw new Error('no occurrence');
    // Simulate a crash between the commit and the follow-up: the last tasks never got written and
    // the occurrence still holds them, as the commit left it.
    const lost = occurrence.task_ids.slice(occurrence.committed_count);
    expect(lost.length).toBeGreaterThan(0);
    const unwritten = await Promise.all(lost.map((id) => getTask(id)));
    for (const id of lost) await ddb().send(new DeleteCommand({ TableName: getConfig().tableName, Key: { pk: `TASK#${id}`, sk: 'TASK' } }));
    await ddb().send(
      new UpdateCommand({
        TableName: getConfig().tableName,
        Key: { pk: `BATCH#${view.batch.id}`, sk: 'OCC#once' },
        UpdateExpression: 'SET #s = :m, duepk = :p, duesk = :k, unwritten_tasks = :t',
        ExpressionAttributeNames: { '#s': 'state' },
        ExpressionAttributeValues: {
          ':m': 'materializing',
          ':p': 'BATCH_RESUME',
          ':k': `${occurrence.materialized_at}#${view.batch.id}#once`,
          ':t': unwritten,
        },
      }),
    );
  return { view, lost };
}

describe('creating a batch is all or nothing', () => {
  it('queues every task, in order, with the batch id and the user counters for all of them', async () => {
    const view = await createBatch('alice', batchBody(4, { deadline: new Date(Date.now() + 8 * 3600_000).toISOString() }));

    const tasks = await allTasksOf('alice');
    expect(tasks).toHaveLength(4);
    expect(tasks.every((task) => task.batch_id === view.batch.id && task.status === 'pending')).toBe(true);
    expect(view.tasks.map((t) => [t.task.title, t.queue_position])).toEqual([
      ['task 0', 1],
      ['task 1', 2],
      ['task 2', 3],
      ['task 3', 4],
    ]);
    expect((await getUser('alice', new Date())).pending_count).toBe(4);
    expect(view.progress).toMatchObject({ total: 4, pending: 4, finished: false });
    // Free plan, one slot, 4 x 10 min: about 40 minutes, well before a deadline 8 hours away.
    expect(view.eta).toMatchObject({ on_track: true, reason: null });
  });

  it('says when a batch will miss its deadline, and why', async () => {
    const start = new Date(Date.now() + 3600_000);
    const body = batchCreateSchema.parse({
      name: 'too much for one slot',
      not_before: start.toISOString(),
      deadline: new Date(start.getTime() + 60 * 60_000).toISOString(),
      tasks: Array.from({ length: 4 }, (_, i) => ({ title: `long ${i}`, estimated_minutes: 25 })),
    });

    const view = await createBatch('sam', body);

    // One slot on free, 4 x 25 min from the start: 100 minutes, the deadline is after 60.
    expect(view.eta).toMatchObject({ on_track: false, expected_finish_at: new Date(start.getTime() + 100 * 60_000).toISOString() });
    // Times read in the user's zone (UTC here); a finish on the day after the deadline says so.
    const finish = Math.ceil((start.getTime() + 100 * 60_000) / 60_000) * 60_000;
    const deadline = start.getTime() + 60 * 60_000;
    const hhmm = (ms: number) => new Date(ms).toISOString().slice(11, 16);
    const day = (ms: number) => new Date(ms).toISOString().slice(0, 10);
    const dayNote = day(finish) === day(deadline) ? '' : ' (+1 day)';
    expect(view.eta?.reason).toBe(
      `1 slot on free, 4 tasks of ~25 min: expected ${hhmm(finish)}${dayNote}, deadline ${hhmm(deadline)}`,
    );
    expect((await getBatchView('sam', view.batch.id)).eta).toMatchObject({ on_track: false });
  });

  it('a batch that would exceed MAX_PENDING_PER_USER creates nothing and names the first task that does not fit', async () => {
    // Prepare: 6 of bob's 10 pending slots are taken.
    const now = new Date();
    await enqueueTasks('bob', Array.from({ length: 6 }, (_, i) => newTask('bob', taskCreateSchema.parse({ title: `single ${i}` }), now)), now);

    // Act
    const error = await rejection(createBatch('bob', batchBody(6)));

    // Assess
    expect(error.code).toBe('TOO_MANY_PENDING');
    expect(error.details).toEqual({ task_index: 4, title: 'task 4' });
    expect(error.message).toContain('Task 4');
    expect(await allTasksOf('bob')).toHaveLength(6);
    expect((await getUser('bob', new Date())).pending_count).toBe(6);
    expect((await listBatches('bob', { limit: 10 })).batches).toEqual([]);
  });

  it('a batch whose monthly hours are used up creates nothing', async () => {
    await updateUserAccount('carol', (user) => ({ ...user, hours_used_seconds: 10 * 3600 }), 'test-admin');

    const error = await rejection(createBatch('carol', batchBody(2)));

    expect(error.code).toBe('MONTHLY_LIMIT_REACHED');
    expect(error.details).toMatchObject({ task_index: 0 });
    expect(await allTasksOf('carol')).toHaveLength(0);
  });

  it.each([
    { case: "a space the user is not in", task: { title: 'odd one', space_id: 'someone-elses-space' }, code: 'NOT_FOUND' },
    { case: 'a task forced onto a device the user does not have', task: { title: 'odd one', execution_preference: 'local' }, code: 'NO_LOCAL_EXECUTOR' },
  ])('a task that cannot be routed ($case) fails the batch, named, creating nothing', async ({ task, code }) => {
    const body = batchCreateSchema.parse({ name: 'mixed', tasks: [{ title: 'fine' }, { title: 'fine too' }, task] });

    const error = await rejection(createBatch('pia', body));

    expect(error.code).toBe(code);
    expect(error.details).toEqual({ task_index: 2, title: 'odd one' });
    expect(error.message).toMatch(/^Task 2 \("odd one"\): /);
    expect(await allTasksOf('pia')).toHaveLength(0);
    expect((await listBatches('pia', { limit: 10 })).batches).toEqual([]);
  });

  it('rejects a schedule EventBridge cannot run as a validation error, creating nothing', async () => {
    const error = await rejection(createBatch('dave', batchBody(1, { schedule: { cron: '0 1 * *', timezone: 'Europe/Berlin' } })));

    expect(error.code).toBe('VALIDATION_ERROR');
    expect(error.message).toContain('schedule.cron');
    const zone = await rejection(createBatch('dave', batchBody(1, { schedule: { cron: '0 1 * * *', timezone: 'Mars/Olympus' } })));
    expect(zone.message).toContain('schedule.timezone');
    expect((await listBatches('dave', { limit: 10 })).batches).toEqual([]);
  });

  it('100 tasks (more than one transaction holds) are queued completely, or not at all', async () => {
    await updateUserAccount('erin', (user) => ({ ...user, plan: 'team', overrides: { max_pending_tasks: 150 } }), 'test-admin');
    const now = new Date();
    await enqueueTasks('erin', Array.from({ length: 60 }, (_, i) => newTask('erin', taskCreateSchema.parse({ title: `single ${i}` }), now)), now);

    // Too many: 60 + 100 > 150, so nothing of the batch is written.
    const error = await rejection(createBatch('erin', batchBody(100)));
    expect(error.details).toMatchObject({ task_index: 90 });
    expect(await allTasksOf('erin')).toHaveLength(60);

    // Room for it: every task arrives and the counter counts each once.
    await updateUserAccount('erin', (user) => ({ ...user, overrides: { max_pending_tasks: 200 } }), 'test-admin');
    const view = await createBatch('erin', batchBody(100));
    const tasks = (await allTasksOf('erin')).filter((task) => task.batch_id === view.batch.id);
    expect(tasks).toHaveLength(100);
    expect((await getUser('erin', new Date())).pending_count).toBe(160);
    // 96 tasks went with the commit (batch, template, occurrence, user: 4 items), 4 right after.
    expect(view.occurrence).toMatchObject({ state: 'enqueued', committed_count: 96 });
    expect(new Set(view.occurrence?.task_ids)).toEqual(new Set(tasks.map((t) => t.id)));
    expect(view.progress).toMatchObject({ total: 100, pending: 100 });
  }, 60_000);

  it('a run whose follow-up write was lost is finished by the trigger, once, without counting its tasks twice', async () => {
    const { view, lost } = await loseFollowUpWrite('fay');
    expect(await listStalledOccurrences(new Date(Date.now() + 60_000), 100)).toContainEqual({ batchId: view.batch.id, key: 'once' });
    const queueBefore = (await getUser('fay', new Date())).queue_version ?? 0;

    // Act: the batch scheduler hands it to the trigger (twice, as a retry would).
    const first = await batchTrigger({ batch_id: view.batch.id, occurrence: 'once' });
    const second = await batchTrigger({ batch_id: view.batch.id, occurrence: 'once' });

    // Assess
    expect([first.outcome, second.outcome]).toEqual(['resumed', 'already-enqueued']);
    for (const id of lost) expect(await getTask(id)).toMatchObject({ status: 'pending', batch_id: view.batch.id });
    const completed = await getOccurrence(view.batch.id, 'once');
    expect(completed?.state).toBe('enqueued');
    expect(completed).not.toHaveProperty('unwritten_tasks');
    expect((await getUser('fay', new Date())).pending_count).toBe(100);
    // The tasks written late move the queue version once, so no orchestrator's remembered queue head outranks them.
    expect((await getUser('fay', new Date())).queue_version).toBe(queueBefore + 1);
    expect(await listStalledOccurrences(new Date(Date.now() + 60_000), 100)).not.toContainEqual({ batchId: view.batch.id, key: 'once' });

    // Cancelling the batch cancels all of them and frees the counter.
    const { tasks_cancelled } = await cancelBatch('fay', view.batch.id);
    expect(tasks_cancelled).toBe(100);
    expect((await getUser('fay', new Date())).pending_count).toBe(0);
  }, 90_000);
});

describe('not_before', () => {

  it('a run whose follow-up write was lost is finished by the sweeper when nobody else looks at it', async () => {
    const { view, lost } = await loseFollowUpWrite('sweepy');
    const { sweep } = await import('../../src/scheduling/sweep.js');
    expect((await sweep(new Date())).resumedOccurrences).toBe(0); // not yet stalled for 30 s
    expect((await sweep(new Date(Date.now() + 60_000))).resumedOccurrences).toBe(1);
    for (const id of lost) expect(await getTask(id)).toMatchObject({ status: 'pending', batch_id: view.batch.id });
    expect((await getUser('sweepy', new Date())).pending_count).toBe(100);
    expect((await sweep(new Date(Date.now() + 60_000))).resumedOccurrences).toBe(0);
  });
  it('is not claimed before not_before and is claimed after it', async () => {
    const notBefore = new Date(Date.now() + 60 * 60_000);
    const view = await createBatch('gus', batchBody(2, { not_before: notBefore.toISOString() }));
    expect(view.tasks.map((t) => t.task.not_before)).toEqual([notBefore.toISOString(), notBefore.toISOString()]);
    expect(view.tasks.map((t) => t.queue_position)).toEqual([1, 2]);

    const early = await claimNextTasks({ now: () => new Date(notBefore.getTime() - 1000) });
    expect(early.claimed.filter((task) => task.user_id === 'gus')).toEqual([]);

    const onTime = await claimNextTasks({ now: () => new Date(notBefore.getTime() + 500) });
    const claimed = onTime.claimed.filter((task) => task.user_id === 'gus');
    // Free plan: one at a time, the batch's first task first.
    expect(claimed.map((task) => task.title)).toEqual(['task 0']);
  });

  it('wakes the orchestrator at not_before (a delayed wake message), which then claims the task', async () => {
    const sqs = new SQSClient({ useQueueUrlAsEndpoint: false });
    const notBefore = new Date(Date.now() + 2500);
    await createBatch('hana', batchBody(1, { not_before: notBefore.toISOString() }));

    const wake = await (async () => {
      for (let i = 0; i < 10; i++) {
        const received = await sqs.send(new ReceiveMessageCommand({ QueueUrl: env.queues.wakeQueueUrl, WaitTimeSeconds: 5, MaxNumberOfMessages: 10 }));
        const bodies = (received.Messages ?? []).map((m) => wakeMessageSchema.parse(JSON.parse(m.Body ?? '{}')));
        const match = bodies.find((body) => body.at === notBefore.toISOString());
        if (match) return match;
      }
      return null;
    })();
    sqs.destroy();

    expect(wake).toMatchObject({ reason: 'not-before', at: notBefore.toISOString() });
    const claimed = (await claimNextTasks()).claimed.filter((task) => task.user_id === 'hana');
    expect(claimed).toHaveLength(1);
    expect(Date.parse(claimed[0]?.claimed_at ?? '')).toBeGreaterThanOrEqual(notBefore.getTime());
  }, 60_000);
});

describe('recurring batches', () => {
  /** A nightly-style batch whose first occurrence (the next minute after its creation) is already due. */
  async function dueRecurringBatch(user: string, count = 3) {
    const createdAt = new Date(Date.now() - 3 * 60_000);
    return createBatch(user, batchBody(count, { schedule: { cron: '* * * * *', timezone: 'Europe/Berlin' } }), createdAt);
  }

  it('stores a template and queues nothing until an occurrence', async () => {
    const view = await createBatch('ivy', batchBody(3, { schedule: { cron: '0 1 * * 1-5', timezone: 'europe/berlin' } }));

    expect(view.batch.schedule).toEqual({ cron: '0 1 * * 1-5', timezone: 'Europe/Berlin' });
    expect(view.batch.next_occurrence_at).not.toBeNull();
    expect(view.occurrence).toBeNull();
    expect(await allTasksOf('ivy')).toHaveLength(0);
    expect(view.eta?.expected_finish_at).toBeDefined();
  });

  it('the trigger invoked twice for the same occurrence queues one set of tasks', async () => {
    const view = await dueRecurringBatch('jack');

    // Act: two deliveries of the same schedule invocation, at the same time.
    const results = await Promise.all([batchTrigger({ batch_id: view.batch.id }), batchTrigger({ batch_id: view.batch.id })]);
    const again = await batchTrigger({ batch_id: view.batch.id, occurrence: results[0].occurrence ?? undefined });

    // Assess
    expect(results.map((r) => r.outcome).sort()).toEqual(['already-enqueued', 'enqueued']);
    expect(results[0].occurrence).toBe(results[1].occurrence);
    expect(again.outcome).toBe('already-enqueued');
    const tasks = await allTasksOf('jack');
    expect(tasks).toHaveLength(3);
    expect(new Set(tasks.map((task) => task.title))).toEqual(new Set(['task 0', 'task 1', 'task 2']));
    expect((await getUser('jack', new Date())).pending_count).toBe(3);
    const batch = await getBatch(view.batch.id);
    expect(batch).toMatchObject({ occurrence_count: 1, last_occurrence_key: results[0].occurrence });
    expect(Date.parse(batch?.next_occurrence_at ?? '')).toBeGreaterThan(Date.now() - 1000);

    const report = await getBatchReport('jack', view.batch.id, results[0].occurrence ?? undefined);
    expect(report.report.tasks.map((entry) => entry.outcome)).toEqual(['pending', 'pending', 'pending']);
    expect(report.occurrences).toEqual([results[0].occurrence]);
  });

  it('skips (and records) an occurrence the user has no room for', async () => {
    const now = new Date();
    await enqueueTasks('kim', Array.from({ length: 9 }, (_, i) => newTask('kim', taskCreateSchema.parse({ title: `single ${i}` }), now)), now);
    const view = await dueRecurringBatch('kim', 3);

    const result = await batchTrigger({ batch_id: view.batch.id });

    expect(result.outcome).toBe('skipped');
    const occurrence = await getOccurrence(view.batch.id, result.occurrence ?? '');
    expect(occurrence).toMatchObject({ state: 'skipped', skipped_reason: { code: 'TOO_MANY_PENDING' }, task_ids: [] });
    expect(await allTasksOf('kim')).toHaveLength(9);
  });

  it('the local batch scheduler fires due batches through the trigger, once per occurrence', async () => {
    const view = await dueRecurringBatch('lena', 2);
    const fired: unknown[] = [];
    const scheduler = startBatchScheduler({
      trigger: async (event) => {
        fired.push(event);
        return batchTrigger(event);
      },
      intervalMs: 3_600_000,
    });
    try {
      expect((await listDueRecurringBatches(new Date(), 100)).map((due) => due.batchId)).toContain(view.batch.id);
      await scheduler.tick();
      await scheduler.tick();
    } finally {
      await scheduler.stop();
    }

    expect(fired.filter((event) => (event as { batch_id: string }).batch_id === view.batch.id)).toEqual([{ batch_id: view.batch.id }]);
    expect(await allTasksOf('lena')).toHaveLength(2);
    expect((await listDueRecurringBatches(new Date(), 100)).map((due) => due.batchId)).not.toContain(view.batch.id);
  });

  it('DELETE cancels what has not finished and stops the recurrence', async () => {
    const view = await dueRecurringBatch('mia', 2);
    await batchTrigger({ batch_id: view.batch.id });

    const { tasks_cancelled } = await cancelBatch('mia', view.batch.id);

    expect(tasks_cancelled).toBe(2);
    expect((await allTasksOf('mia')).map((task) => task.status)).toEqual(['cancelled', 'cancelled']);
    expect(await getBatch(view.batch.id)).toMatchObject({ status: 'cancelled', next_occurrence_at: null });
    expect((await listDueRecurringBatches(new Date(Date.now() + 86_400_000), 100)).map((d) => d.batchId)).not.toContain(view.batch.id);
    const later = await runBatchOccurrence(view.batch.id, undefined, new Date(Date.now() + 5 * 60_000));
    expect(later.outcome).toBe('batch-cancelled');
    expect(await allTasksOf('mia')).toHaveLength(2);
    // A second DELETE is harmless.
    expect((await cancelBatch('mia', view.batch.id)).tasks_cancelled).toBe(0);
    expect((await getBatchReport('mia', view.batch.id)).report.totals).toMatchObject({ tasks: 2, cancelled: 2 });
  });
});

describe('listing', () => {
  it('pages through the caller’s batches newest first, and refuses a cursor it did not hand out', async () => {
    for (const name of ['first', 'second', 'third']) await createBatch('quinn', batchBody(1, { name }));

    const page1 = await listBatches('quinn', { limit: 2 });
    const page2 = await listBatches('quinn', { limit: 2, cursor: page1.nextCursor ?? undefined });

    expect([...page1.batches, ...page2.batches].map((batch) => batch.name)).toEqual(['third', 'second', 'first']);
    const forged = Buffer.from(JSON.stringify({ gsi1pk: 'USER#quinn#BATCHES' })).toString('base64url');
    expect((await rejection(listBatches('quinn', { limit: 2, cursor: forged }))).code).toBe('VALIDATION_ERROR');
    expect((await rejection(listBatches('rex', { limit: 2, cursor: page1.nextCursor ?? undefined }))).code).toBe('VALIDATION_ERROR');
  });
});

describe('ownership', () => {
  it("another user's batch is not found", async () => {
    const view = await createBatch('nora', batchBody(1));

    const attempts = [() => getBatchView('oscar', view.batch.id), () => getBatchReport('oscar', view.batch.id), () => cancelBatch('oscar', view.batch.id)];
    for (const attempt of attempts) expect((await rejection(attempt())).code).toBe('NOT_FOUND');
    expect((await getTask(view.occurrence?.task_ids[0] ?? ''))?.status).toBe('pending');
  });
});

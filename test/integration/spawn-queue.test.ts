import { DeleteMessageCommand, ReceiveMessageCommand, type Message } from '@aws-sdk/client-sqs';
import { beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { sqs } from '../../src/platform/aws.js';
import { spawnMessageSchema, type SpawnMessage } from '../../src/platform/queue/messages.js';
import { updateUserAccount } from '../../src/accounts/limits.js';
import { batchCreateSchema } from '../../src/batches/schemas.js';
import { cancelBatch } from '../../src/batches/cancel-batch.js';
import { createBatch } from '../../src/batches/create-batch.js';
import { cancelTaskHandingOffSandbox } from '../../src/tasks/finish-task.js';
import { sandboxTaskOf } from '../../src/tasks/sandbox-task.js';
import type { Task } from '../../src/tasks/task.js';
import { handler as spawnDlqHandler } from '../../functions/spawn-dlq/handler.js';
import { handler as spawnerHandler } from '../../functions/spawner/handler.js';
import { claimNextTasks } from '../../src/scheduling/claim.js';
import { setSandboxProvider } from '../../src/sandbox/current.js';
import { taskCreateSchema } from '../../src/tasks/schemas.js';
import { createTask } from '../../src/tasks/create-task.js';
import { getTask } from '../../src/tasks/task-store.js';
import { getUser } from '../../src/accounts/user-store.js';
import { RecordingSandboxProvider } from '../support/recording-provider.js';
import { eventually, useFreshTable, type TestEnv } from '../support/local-env.js';
import { asSqsEvent as asEvent, deliverFromQueue as deliver } from '../support/sqs-delivery.js';

let env: TestEnv;
const provider = new RecordingSandboxProvider();

beforeAll(async () => {
  // Visibility of 1 s so redelivery is quick; 3 receives before the DLQ, as in production.
  env = await useFreshTable({ CALLBACK_BASE_URL: 'http://127.0.0.1:9' }, { spawn: { visibilityTimeoutSeconds: 1 } });
  setSandboxProvider(provider);
});

describe('spawn queue on the SQS server', () => {
  it('starts the sandbox, marks the task running and deletes the message', async () => {
    const task = await createTask('spawn-ok', taskCreateSchema.parse({ title: 'runs' }));
    await claimNextTasks();
    expect(await deliver(env.queues.spawnQueueUrl, spawnerHandler)).toBe(1);
    expect(await getTask(task.id)).toMatchObject({ status: 'running', sandbox_id: `rec-${task.id}-1` });
    expect(provider.spawned.get(`rec-${task.id}-1`)?.callbackUrl).toBe(`http://127.0.0.1:9/api/v1/tasks/${task.id}/complete`);
    // Deleted: nothing comes back after the visibility timeout.
    await new Promise((r) => setTimeout(r, 1500));
    expect(await deliver(env.queues.spawnQueueUrl, spawnerHandler)).toBe(0);
  });

  it('retries a failing provider, redrives to the DLQ after 3 receives, and the DLQ handler fails the task', async () => {
    const task = await createTask('spawn-fails', taskCreateSchema.parse({ title: 'provider down' }));
    await claimNextTasks();
    provider.failNextSpawns = 100;
    const callsBefore = provider.spawnCalls;
    await eventually(async () => {
      await deliver(env.queues.spawnQueueUrl, spawnerHandler);
      return provider.spawnCalls - callsBefore >= 3;
    }, 20_000, 'three spawn attempts');
    expect((await getTask(task.id))?.status).toBe('claimed');
    // As in SQS, the receive after the last allowed one moves the message to the DLQ.
    await eventually(async () => {
      await deliver(env.queues.spawnQueueUrl, spawnerHandler);
      return (await deliver(env.queues.spawnDlqUrl, spawnDlqHandler)) > 0;
    }, 20_000, 'the message in the DLQ');
    provider.failNextSpawns = 0;
    const failed = await getTask(task.id);
    expect(failed?.status).toBe('failed');
    expect(failed?.failure_reason).toMatch(/could not be started/);
    expect(provider.spawnCalls - callsBefore).toBe(3);
    expect(await getUser('spawn-fails', new Date())).toMatchObject({ running_count: 0, hours_reserved_seconds: 0 });
  });

  it('drops a malformed message instead of retrying it forever', async () => {
    const { SendMessageCommand } = await import('@aws-sdk/client-sqs');
    await sqs().send(new SendMessageCommand({ QueueUrl: env.queues.spawnQueueUrl, MessageBody: '{"task_id": 42}' }));
    const response = await spawnerHandler(asEvent([{ MessageId: 'm1', Body: '{"task_id": 42}', ReceiptHandle: 'r' }]));
    expect(response.batchItemFailures).toEqual([]);
  });

  describe('stops handed off by a batch cancel', () => {
    /** The spawn messages the queue holds now, received and deleted (what a spawner would be handed). */
    async function receiveAll(): Promise<Message[]> {
      const all: Message[] = [];
      for (let empty = 0; empty < 2; ) {
        const received = await sqs().send(new ReceiveMessageCommand({ QueueUrl: env.queues.spawnQueueUrl, MaxNumberOfMessages: 10, WaitTimeSeconds: 0 }));
        const messages = received.Messages ?? [];
        if (messages.length === 0) empty += 1;
        for (const message of messages) {
          all.push(message);
          await sqs().send(new DeleteMessageCommand({ QueueUrl: env.queues.spawnQueueUrl, ReceiptHandle: message.ReceiptHandle }));
        }
      }
      return all;
    }
    const bodyOf = (message: Message): unknown => JSON.parse(message.Body ?? '{}');

    // What earlier tests left on the queue (the malformed message) is not this describe's.
    beforeEach(async () => {
      await receiveAll();
    });

    it("the cancel stops no sandbox itself; the spawner stops the running task's sandbox and the one a crashed spawner left for a claimed task", async () => {
      const user = 'batch-stop';
      await updateUserAccount(user, (account) => ({ ...account, plan: 'pro' }), 'test-admin'); // 3 slots
      const view = await createBatch(user, batchCreateSchema.parse({ name: 'tonight', tasks: ['a', 'b', 'c', 'd'].map((title) => ({ title })) }));
      await claimNextTasks();
      const claims = (await receiveAll()).map((message) => spawnMessageSchema.parse(bodyOf(message)));
      expect(claims).toHaveLength(3);
      const [first, second, third] = claims as [SpawnMessage, SpawnMessage, SpawnMessage];
      await spawnerHandler(asEvent([first, second].map((claim, i) => ({ MessageId: `s${i}`, Body: JSON.stringify(claim), ReceiptHandle: 'r' }))));
      // The third task's spawner started its sandbox and crashed before writing `running`.
      const claimed = await getTask(third.task_id);
      expect(claimed?.status).toBe('claimed');
      await provider.spawn({ task: sandboxTaskOf(claimed as Task), timeoutSeconds: 60, callbackUrl: 'http://127.0.0.1:9', callbackToken: third.callback_token });
      const terminatedBefore = provider.terminated.length;

      const { tasks_cancelled } = await cancelBatch(user, view.batch.id);

      expect(tasks_cancelled).toBe(4);
      expect(provider.terminated.length).toBe(terminatedBefore);
      const stops = (await receiveAll()).map(bodyOf);
      // One stop per attempt that had (or may have had) a sandbox; none for the task that was still pending.
      expect(stops).toHaveLength(3);
      expect(new Set(stops)).toEqual(new Set(claims.map((claim) => ({ kind: 'stop-sandbox', task_id: claim.task_id, attempt: 1 }))));

      const response = await spawnerHandler(asEvent(stops.map((stop, i) => ({ MessageId: `x${i}`, Body: JSON.stringify(stop), ReceiptHandle: 'r' }))));

      expect(response.batchItemFailures).toEqual([]);
      expect(provider.terminated.slice(terminatedBefore).sort()).toEqual(claims.map((claim) => `rec-${claim.task_id}-1`).sort());
      for (const claim of claims) expect((await getTask(claim.task_id))?.status).toBe('cancelled');
      expect(await getUser(user, new Date())).toMatchObject({ running_count: 0, pending_count: 0, hours_reserved_seconds: 0 });
    });

    it('a stop about another attempt, or a task that has not ended, stops nothing', async () => {
      const task = await createTask('stop-stale', taskCreateSchema.parse({ title: 'still running' }));
      await claimNextTasks();
      expect(await deliver(env.queues.spawnQueueUrl, spawnerHandler)).toBe(1);
      const before = provider.terminated.length;

      const stale = [
        { kind: 'stop-sandbox', task_id: task.id, attempt: 1 },
        { kind: 'stop-sandbox', task_id: task.id, attempt: 2 },
        { kind: 'stop-sandbox', task_id: 'no-such-task', attempt: 1 },
      ];
      const response = await spawnerHandler(asEvent(stale.map((stop, i) => ({ MessageId: `x${i}`, Body: JSON.stringify(stop), ReceiptHandle: 'r' }))));

      expect(response.batchItemFailures).toEqual([]);
      expect(provider.terminated.length).toBe(before);
      expect(await getTask(task.id)).toMatchObject({ status: 'running', sandbox_id: `rec-${task.id}-1` });
    });

    it('a stop the provider refuses is retried by SQS until the sandbox is stopped', async () => {
      const user = 'stop-retry';
      const task = await createTask(user, taskCreateSchema.parse({ title: 'runs' }));
      await claimNextTasks();
      expect(await deliver(env.queues.spawnQueueUrl, spawnerHandler)).toBe(1);
      await cancelTaskHandingOffSandbox(user, task.id, new Date());
      provider.failNextTerminates = 1;

      await eventually(async () => {
        await deliver(env.queues.spawnQueueUrl, spawnerHandler);
        return provider.terminated.includes(`rec-${task.id}-1`);
      }, 20_000, 'the sandbox stopped on the second delivery');

      expect(provider.failNextTerminates).toBe(0);
      expect(await getTask(task.id)).toMatchObject({ status: 'cancelled', failure_reason: 'Cancelled by user' });
    });

    it('a stop that used up its receives is dropped by the DLQ handler, which fails nothing', async () => {
      const task = await createTask('stop-dlq', taskCreateSchema.parse({ title: 'done already' }));
      await claimNextTasks();
      expect(await deliver(env.queues.spawnQueueUrl, spawnerHandler)).toBe(1);
      await cancelTaskHandingOffSandbox('stop-dlq', task.id, new Date());
      const stop = (await receiveAll()).map(bodyOf);
      expect(stop).toEqual([{ kind: 'stop-sandbox', task_id: task.id, attempt: 1 }]);

      const response = await spawnDlqHandler(asEvent([{ MessageId: 'd1', Body: JSON.stringify(stop[0]), ReceiptHandle: 'r' }]));

      expect(response.batchItemFailures).toEqual([]);
      expect(await getTask(task.id)).toMatchObject({ status: 'cancelled', failure_reason: 'Cancelled by user' });
    });
  });
});

import { beforeAll, describe, expect, it } from 'vitest';
import { sqs } from '../../src/platform/aws.js';
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
});

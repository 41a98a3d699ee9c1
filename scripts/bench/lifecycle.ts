import { DeleteMessageCommand, ReceiveMessageCommand, type Message } from '@aws-sdk/client-sqs';
import { ddb, sqs } from '../../src/platform/aws.js';
import { claimNextTasks } from '../../src/scheduling/claim.js';
import { QueueHeads } from '../../src/scheduling/queue-heads.js';
import { PromotionPace } from '../../src/scheduling/promotion-pace.js';
import { spawnClaimedTask } from '../../src/scheduling/spawn.js';
import { spawnMessageSchema, wakeMessageSchema, type SpawnMessage } from '../../src/platform/queue/messages.js';
import { setSandboxProvider } from '../../src/sandbox/current.js';
import type { Sandbox, SandboxProvider, SpawnRequest } from '../../src/sandbox/provider.js';
import { apiEvent, lambdaContext } from './api-event.js';
import { addReadings, divideReading, DynamoDbMeter, emptyReading, subtractReadings, type MeterReading } from './ddb-meter.js';
import { useFreshTable, type EmulatorEndpoints } from './environment.js';

export const LIFECYCLE_PHASES = ['create', 'claim', 'running', 'complete'] as const;
export type LifecyclePhase = (typeof LIFECYCLE_PHASES)[number];

export interface LifecycleCost {
  lifecycles: number;
  /** Mean per lifecycle, per phase. */
  phases: Record<LifecyclePhase, MeterReading>;
  total: MeterReading;
}

/** Remembers each task's callback token; starts nothing. */
class TokenKeepingProvider implements SandboxProvider {
  readonly name = 'bench';
  readonly tokens = new Map<string, string>();
  async spawn(request: SpawnRequest): Promise<Sandbox> {
    this.tokens.set(request.task.id, request.callbackToken);
    return { id: `bench-${request.task.id}-${request.task.attempt}` };
  }
  async terminate(): Promise<void> {}
  async terminateAttempt(): Promise<void> {}
}

/**
 * DynamoDB requests and consumed capacity of whole task lifecycles through the real entry points:
 * create and complete through the API handler, the claim as the orchestrator pass the create's
 * wake asks for (a pass for the user it names, with the handler's paced promotion and queue
 * heads), running as the spawner. Each lifecycle is a different user's only task, so a pass claims
 * exactly that task (the worst case: nothing is shared with other claims). The claim charges no
 * credits, as these rows always measured; the orchestrator's credit charge adds its ledger row
 * (docs/performance.md, "Wakes that name their user").
 */
export async function measureLifecycle(endpoints: EmulatorEndpoints, lifecycles: number): Promise<LifecycleCost> {
  const env = await useFreshTable(endpoints);
  const provider = new TokenKeepingProvider();
  setSandboxProvider(provider);
  const { handler } = await import('../../functions/api/all-routes.js');
  const queueHeads = new QueueHeads();
  const promotionPace = new PromotionPace();
  const meter = new DynamoDbMeter();
  meter.install(ddb());
  const sums: Record<LifecyclePhase, MeterReading> = { create: emptyReading(), claim: emptyReading(), running: emptyReading(), complete: emptyReading() };
  const measure = async <T>(phase: LifecyclePhase, work: () => Promise<T>): Promise<T> => {
    const before = meter.snapshot();
    const result = await work();
    sums[phase] = addReadings(sums[phase], subtractReadings(meter.snapshot(), before));
    return result;
  };

  try {
    for (let i = 0; i < lifecycles; i++) {
      const userId = `lifecycle-${i}`;
      const created = await measure('create', () =>
        handler(apiEvent({ routeKey: 'POST /api/v1/tasks', userId, body: { title: `lifecycle ${i}`, description: 'bench' } }), lambdaContext()),
      );
      if (created.statusCode !== 201) throw new Error(`create answered ${created.statusCode}: ${created.body}`);
      const taskId = (JSON.parse(created.body ?? '{}') as { id: string }).id;

      const named = (await takeMessages(env.queues.wakeQueueUrl)).map((message) => wakeMessageSchema.parse(JSON.parse(message.Body ?? '')).user_id);
      if (!named.includes(userId)) throw new Error(`the create's wake did not name ${userId}`);
      const claimed = await measure('claim', () => claimNextTasks({ forUsers: [userId], readReady: false, queueHeads, promotionPace }));
      if (claimed.claimed.length !== 1) throw new Error(`expected one claim, got ${claimed.claimed.length}`);

      const [message] = await takeSpawnMessages(env.queues.spawnQueueUrl);
      if (!message) throw new Error('no spawn message');
      const outcome = await measure('running', () => spawnClaimedTask(message));
      if (outcome !== 'started') throw new Error(`spawn: ${outcome}`);

      const token = provider.tokens.get(taskId) ?? '';
      const done = await measure('complete', () =>
        handler(
          apiEvent({
            routeKey: 'POST /api/v1/tasks/{id}/complete',
            pathParameters: { id: taskId },
            headers: { authorization: `Bearer ${token}` },
            body: { status: 'completed', summary: 'bench' },
          }),
          lambdaContext(),
        ),
      );
      if (done.statusCode !== 200) throw new Error(`complete answered ${done.statusCode}: ${done.body}`);
    }
  } finally {
    setSandboxProvider(undefined);
  }
  const phases: Record<LifecyclePhase, MeterReading> = {
    create: divideReading(sums.create, lifecycles),
    claim: divideReading(sums.claim, lifecycles),
    running: divideReading(sums.running, lifecycles),
    complete: divideReading(sums.complete, lifecycles),
  };
  const total = LIFECYCLE_PHASES.reduce((sum, phase) => addReadings(sum, phases[phase]), emptyReading());
  return { lifecycles, phases, total };
}

/** The messages on a queue now (read and deleted). */
async function takeMessages(queueUrl: string): Promise<Message[]> {
  const result = await sqs().send(new ReceiveMessageCommand({ QueueUrl: queueUrl, MaxNumberOfMessages: 10, WaitTimeSeconds: 1 }));
  const messages = result.Messages ?? [];
  for (const message of messages) await sqs().send(new DeleteMessageCommand({ QueueUrl: queueUrl, ReceiptHandle: message.ReceiptHandle }));
  return messages;
}

async function takeSpawnMessages(queueUrl: string): Promise<SpawnMessage[]> {
  return (await takeMessages(queueUrl)).map((message) => spawnMessageSchema.parse(JSON.parse(message.Body ?? '')));
}

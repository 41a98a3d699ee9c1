import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { claimNextTasks } from '../../src/scheduling/claim.js';
import { spawnClaimedTask } from '../../src/scheduling/spawn.js';
import { sweep } from '../../src/scheduling/sweep.js';
import { setSandboxProvider } from '../../src/sandbox/current.js';
import type { LostSandbox } from '../../src/sandbox/provider.js';
import { enqueueTasks, newTask } from '../../src/tasks/create-task.js';
import { taskCreateSchema } from '../../src/tasks/schemas.js';
import { getTask } from '../../src/tasks/task-store.js';
import { getUser } from '../../src/accounts/user-store.js';
import { updateUserAccount } from '../../src/accounts/limits.js';
import { DaytonaSandboxProvider } from '../../src/sandbox/daytona-provider.js';
import { RecordingSandboxProvider } from '../support/recording-provider.js';
import { startFakeDaytona, type FakeDaytona } from '../support/fake-daytona.js';
import { takeSpawnMessages, useFreshTable, type TestEnv } from '../support/local-env.js';

/** A provider whose sandboxes can die without calling back, as a crashed container would. */
class MortalProvider extends RecordingSandboxProvider {
  readonly dead = new Map<string, Date | undefined>();
  asked: string[][] = [];
  async lostSandboxes(ids: readonly string[]): Promise<LostSandbox[]> {
    this.asked.push([...ids]);
    return ids.filter((id) => this.dead.has(id)).map((id) => {
      const at = this.dead.get(id);
      return at ? { id, lastAliveAt: at } : { id };
    });
  }
}

let env: TestEnv;
let provider: MortalProvider;
const T0 = new Date(Date.UTC(2026, 5, 10, 12));
const at = (seconds: number) => new Date(T0.getTime() + seconds * 1000);

beforeEach(async () => {
  env = await useFreshTable({ TIMEOUT_CHECK_INTERVAL: '60' });
  provider = new MortalProvider();
  setSandboxProvider(provider);
});

afterEach(() => setSandboxProvider(undefined));

async function startTasks(userId: string, count: number) {
  await updateUserAccount(userId, (account) => ({ ...account, plan: count > 3 ? 'team' : 'pro' }), 'test', T0);
  const tasks = Array.from({ length: count }, (_, i) => newTask(userId, taskCreateSchema.parse({ title: `job ${i}` }), new Date(T0.getTime() + i)));
  await enqueueTasks(userId, tasks, T0);
  for (let i = 0; i < count; i++) await claimNextTasks({ now: () => at(1), maxClaims: 1 });
  for (const message of await takeSpawnMessages(env.queues.spawnQueueUrl)) await spawnClaimedTask(message, () => at(2));
  return Promise.all(tasks.map(async (task) => (await getTask(task.id))!));
}

describe('sandboxes that die without calling back', () => {
  it('are failed "sandbox lost" at the next sweep, charging hours only up to when they were last alive', async () => {
    // Prepare: two running tasks; one sandbox dies 10 minutes in.
    const [doomed, healthy] = await startTasks('erin', 2);
    expect(doomed?.status).toBe('running');
    provider.dead.set(doomed!.sandbox_id!, at(2 + 600));

    // Act: the sweep an interval after the death.
    const result = await sweep(at(2 + 660));

    // Assess
    expect(result.lostSandboxes).toEqual([doomed!.id]);
    // One batched question for every running sandbox.
    expect(provider.asked).toHaveLength(1);
    expect([...(provider.asked[0] ?? [])].sort()).toEqual([doomed!.sandbox_id, healthy!.sandbox_id].sort());
    expect(await getTask(doomed!.id)).toMatchObject({ status: 'failed', failure_reason: 'sandbox lost', used_seconds: 600 });
    expect((await getTask(healthy!.id))?.status).toBe('running');
    const account = await getUser('erin', at(2 + 661));
    expect(account).toMatchObject({ running_count: 1, hours_used_seconds: 600 });
  });

  it('without a time from the provider, charges up to the previous sweep, not the whole reservation', async () => {
    const [doomed] = await startTasks('finn', 1);
    provider.dead.set(doomed!.sandbox_id!, undefined);

    await sweep(at(2 + 1800));

    expect(await getTask(doomed!.id)).toMatchObject({ status: 'failed', failure_reason: 'sandbox lost', used_seconds: 1800 - 60 });
  });
});

describe('Daytona sandboxes that die without calling back', () => {
  let daytona: FakeDaytona;

  beforeEach(async () => {
    daytona = await startFakeDaytona({ apiKey: 'dtn_liveness' });
    setSandboxProvider(new DaytonaSandboxProvider({ apiUrl: daytona.url, apiKey: 'dtn_liveness', command: 'agent', pollIntervalMs: 5 }));
  });

  afterEach(async () => {
    await daytona.close();
  });

  it('are found by asking Daytona each sandbox\'s state: deleted or errored is lost, started or unreadable is left running', async () => {
    // Prepare: four tasks running in Daytona sandboxes.
    const [deleted, errored, healthy, unreadable] = await startTasks('gwen', 4);
    for (const task of [deleted, errored, healthy, unreadable]) expect(task).toMatchObject({ status: 'running', sandbox_id: expect.stringMatching(/^fake-sandbox-/) });
    daytona.sandboxes.delete(deleted!.sandbox_id!);
    Object.assign(daytona.sandboxes.get(errored!.sandbox_id!)!, { state: 'error', updatedAt: at(2 + 600).toISOString() });
    daytona.failGetsOf(unreadable!.sandbox_id!);
    const before = daytona.callsTo('GET', /^\/sandbox\/fake-sandbox-\d+$/).length;

    // Act: the sweep an interval after the error.
    const result = await sweep(at(2 + 660));

    // Assess: Daytona was asked about every running sandbox, once each.
    const asked = daytona.callsTo('GET', /^\/sandbox\/fake-sandbox-\d+$/).slice(before).map((call) => call.path.split('/').pop());
    expect(asked.sort()).toEqual([deleted, errored, healthy, unreadable].map((task) => task!.sandbox_id).sort());
    expect(result.lostSandboxes.sort()).toEqual([deleted!.id, errored!.id].sort());
    // Errored: charged up to Daytona's last state change; deleted (no time known): up to the previous sweep.
    expect(await getTask(errored!.id)).toMatchObject({ status: 'failed', failure_reason: 'sandbox lost', used_seconds: 600 });
    expect(await getTask(deleted!.id)).toMatchObject({ status: 'failed', failure_reason: 'sandbox lost', used_seconds: 600 });
    expect((await getTask(healthy!.id))?.status).toBe('running');
    expect((await getTask(unreadable!.id))?.status).toBe('running');
    expect(await getUser('gwen', at(2 + 661))).toMatchObject({ running_count: 2, hours_used_seconds: 1200 });
  });

  it('a stopped sandbox is lost too (the agent only runs in a started one)', async () => {
    const [stopped] = await startTasks('hana', 1);
    daytona.sandboxes.get(stopped!.sandbox_id!)!.state = 'stopped';

    const result = await sweep(at(2 + 120));

    expect(result.lostSandboxes).toEqual([stopped!.id]);
    expect(await getTask(stopped!.id)).toMatchObject({ status: 'failed', failure_reason: 'sandbox lost', used_seconds: 60 });
  });
});

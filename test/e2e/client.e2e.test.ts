import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createNightshiftClient, NightshiftApiError } from '../../src/client/client.js';
import { startTestStack } from '../support/local-env.js';

let stack: Awaited<ReturnType<typeof startTestStack>>;

beforeAll(async () => {
  // Tasks stay pending (a far not_before), so listings are stable while the test pages through them.
  stack = await startTestStack({ POLL_INTERVAL: '2' });
});
afterAll(async () => stack?.stop());

const later = () => new Date(Date.now() + 6 * 3600_000).toISOString();

describe('the typed client against the local stack', () => {
  it('queues tasks with a token and pages through all of them by x-next-cursor', async () => {
    const client = createNightshiftClient({ baseUrl: stack.url, token: await stack.token('client-paula') });
    const created = [];
    for (const title of ['one', 'two', 'three']) created.push(await client.createTask({ title, not_before: later() }));
    expect(created.map((task) => task.status)).toEqual(['pending', 'pending', 'pending']);

    const first = await client.listTasks({ limit: 2 });
    expect(first.items).toHaveLength(2);
    expect(first.nextCursor).toEqual(expect.any(String));
    const titles: string[] = [];
    for await (const task of client.allTasks({ limit: 1 })) titles.push(task.title);
    expect(titles.sort()).toEqual(['one', 'three', 'two']);

    const fetched = await client.getTask(created[0]!.id);
    expect(fetched).toMatchObject({ id: created[0]!.id, title: 'one', queue_position: expect.any(Number) });
    expect(await client.cancelTask(created[0]!.id)).toEqual({ cancelled: true });
    expect((await client.getTask(created[0]!.id)).status).toBe('cancelled');
  });

  it("throws the API's error with its code: another user's task is TASK_NOT_FOUND", async () => {
    const alice = createNightshiftClient({ baseUrl: stack.url, token: await stack.token('client-alice') });
    const bob = createNightshiftClient({ baseUrl: stack.url, token: await stack.token('client-bob') });
    const task = await alice.createTask({ title: 'private', not_before: later() });
    const error = await bob.getTask(task.id).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(NightshiftApiError);
    expect(error).toMatchObject({ status: 404, code: 'TASK_NOT_FOUND' });
    await expect(bob.createTask({ title: '' })).rejects.toMatchObject({ status: 400, code: 'VALIDATION_ERROR' });
  });

  it('works with an API key, and a client without credentials gets UNAUTHORIZED', async () => {
    const owner = createNightshiftClient({ baseUrl: stack.url, token: await stack.token('client-kim') });
    const { key } = await owner.createApiKey({ name: 'cli' });
    const byKey = createNightshiftClient({ baseUrl: stack.url, apiKey: key });
    expect((await byKey.myLimits()).user_id).toBe('client-kim');
    await expect(createNightshiftClient({ baseUrl: stack.url }).myLimits()).rejects.toMatchObject({ status: 401, code: 'UNAUTHORIZED' });
  });

  it('reads the OpenAPI document without credentials', async () => {
    const document = await createNightshiftClient({ baseUrl: stack.url }).openapi();
    expect(document.openapi).toBe('3.1.0');
    expect(Object.keys(document.paths)).toContain('/api/v1/tasks');
  });
});

import { describe, expect, it, vi } from 'vitest';
import { createNightshiftClient, NightshiftApiError } from '../../../src/client/client.js';

const jsonAnswer = (status: number, body: unknown, headers: Record<string, string> = {}) =>
  new Response(JSON.stringify(body), { status, headers: { 'content-type': 'application/json', ...headers } });

/** A fetch that answers from a script and records what it was asked. */
function scriptedFetch(...answers: Response[]) {
  const requests: Request[] = [];
  const fetch = vi.fn(async (input: Request | string | URL) => {
    requests.push(input as Request);
    const next = answers.shift();
    if (!next) throw new Error('no more answers');
    return next;
  });
  return { fetch: fetch as unknown as typeof globalThis.fetch, requests };
}

describe('the Nightshift client', () => {
  it('sends the token as a bearer header to the base URL, whatever its trailing part', async () => {
    const { fetch, requests } = scriptedFetch(jsonAnswer(200, { running: 0 }));
    const client = createNightshiftClient({ baseUrl: 'http://127.0.0.1:3000/api/v1/', token: 'tok', fetch });
    await client.queueStatus();
    expect(requests[0]!.url).toBe('http://127.0.0.1:3000/api/v1/tasks/queue-status');
    expect(requests[0]!.headers.get('authorization')).toBe('Bearer tok');
  });

  it('sends an API key as x-api-key when no token is given', async () => {
    const { fetch, requests } = scriptedFetch(jsonAnswer(200, []));
    await createNightshiftClient({ baseUrl: 'http://127.0.0.1:3000', apiKey: 'nsk_1', fetch }).listApiKeys();
    expect(requests[0]!.headers.get('x-api-key')).toBe('nsk_1');
    expect(requests[0]!.headers.get('authorization')).toBeNull();
  });

  it('throws the error body as a typed error carrying code and status', async () => {
    const { fetch } = scriptedFetch(jsonAnswer(404, { error: { code: 'TASK_NOT_FOUND', message: 'Task t1 was not found' } }));
    const error = await createNightshiftClient({ baseUrl: 'http://127.0.0.1:3000', fetch }).getTask('t1').catch((e: unknown) => e);
    expect(error).toBeInstanceOf(NightshiftApiError);
    expect(error).toMatchObject({ status: 404, code: 'TASK_NOT_FOUND', message: 'Task t1 was not found' });
  });

  it('retries a 503 after Retry-After, then answers the data', async () => {
    const { fetch, requests } = scriptedFetch(
      jsonAnswer(503, { error: { code: 'SERVICE_UNAVAILABLE', message: 'busy' } }, { 'retry-after': '2' }),
      jsonAnswer(201, { id: 't1' }),
    );
    const sleep = vi.fn(async () => {});
    const task = await createNightshiftClient({ baseUrl: 'http://127.0.0.1:3000', fetch, sleep }).createTask({ title: 'x' });
    expect(task).toEqual({ id: 't1' });
    expect(sleep).toHaveBeenCalledWith(2000);
    expect(requests).toHaveLength(2);
    expect(await requests[1]!.json()).toEqual({ title: 'x' });
  });

  it('gives up after its retries and throws SERVICE_UNAVAILABLE', async () => {
    const busy = () => jsonAnswer(503, { error: { code: 'SERVICE_UNAVAILABLE', message: 'busy' } }, { 'retry-after': '100' });
    const { fetch, requests } = scriptedFetch(busy(), busy(), busy());
    const sleep = vi.fn(async () => {});
    const client = createNightshiftClient({ baseUrl: 'http://127.0.0.1:3000', fetch, sleep, retries: 2, maxRetryDelayMs: 5000 });
    await expect(client.queueStatus()).rejects.toMatchObject({ code: 'SERVICE_UNAVAILABLE', status: 503 });
    expect(requests).toHaveLength(3);
    expect(sleep).toHaveBeenCalledWith(5000);
  });

  it('follows x-next-cursor through every page', async () => {
    const { fetch, requests } = scriptedFetch(jsonAnswer(200, [{ id: 'a' }], { 'x-next-cursor': 'c1' }), jsonAnswer(200, [{ id: 'b' }]));
    const ids: string[] = [];
    for await (const task of createNightshiftClient({ baseUrl: 'http://127.0.0.1:3000', fetch }).allTasks({ status: 'pending' })) ids.push(task.id);
    expect(ids).toEqual(['a', 'b']);
    expect(new URL(requests[1]!.url).searchParams.get('cursor')).toBe('c1');
    expect(new URL(requests[1]!.url).searchParams.get('status')).toBe('pending');
  });

  it('says which address it could not reach', async () => {
    const fetch = (async () => {
      throw new TypeError('fetch failed');
    }) as unknown as typeof globalThis.fetch;
    await expect(createNightshiftClient({ baseUrl: 'http://127.0.0.1:9', fetch }).health()).rejects.toMatchObject({
      code: 'NETWORK_ERROR',
      message: expect.stringContaining('http://127.0.0.1:9'),
    });
  });
});

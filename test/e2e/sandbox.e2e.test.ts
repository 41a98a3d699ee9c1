import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { eventually, startTestStack } from '../support/local-env.js';

type Stack = Awaited<ReturnType<typeof startTestStack>>;
let stack: Stack;
let token: string;

// One command, told apart by title: the process provider runs whatever SANDBOX_COMMAND says.
const COMMAND = [
  'case "$NIGHTSHIFT_TASK_TITLE" in',
  '  ok) echo "step 1"; echo "all good";;',
  '  broken) echo "could not compile"; exit 3;;',
  '  hang) echo "working forever"; sleep 120;;',
  'esac',
].join('\n');

async function call(method: string, path: string, body?: unknown) {
  const response = await fetch(`${stack.url}${path}`, {
    method,
    headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  return { status: response.status, body: (await response.json()) as any };
}

const waitForStatus = (id: string, statuses: string[]) =>
  eventually(async () => {
    const task = (await call('GET', `/api/v1/tasks/${id}`)).body;
    return statuses.includes(task.status) ? task : undefined;
  }, 30_000, `task ${id} to be ${statuses.join('|')}`);

beforeAll(async () => {
  stack = await startTestStack({ SANDBOX_COMMAND: COMMAND });
  const admin = await stack.token('root', true);
  await fetch(`${stack.url}/api/v1/admin/users/sandboxer/plan`, {
    method: 'PUT',
    headers: { authorization: `Bearer ${admin}` },
    body: JSON.stringify({ plan: 'team' }),
  });
  token = await stack.token('sandboxer');
}, 60_000);
afterAll(async () => stack?.stop());

describe('the process sandbox provider behind the API', () => {
  it('completes a task whose command exits 0 without calling back, with the tail of its output', async () => {
    const created = await call('POST', '/api/v1/tasks', { title: 'ok' });
    const task = await waitForStatus(created.body.id, ['completed', 'failed']);
    expect(task.status).toBe('completed');
    expect(task.result_summary).toContain('all good');
    const logs = await call('GET', `/api/v1/tasks/${created.body.id}/logs`);
    expect(logs.body).toMatchObject({ available: true, provider: 'process' });
    expect(logs.body.logs).toContain('step 1');
  });

  it('fails a task whose command exits non-zero, with the reason', async () => {
    const created = await call('POST', '/api/v1/tasks', { title: 'broken' });
    const task = await waitForStatus(created.body.id, ['completed', 'failed']);
    expect(task.status).toBe('failed');
    expect(task.failure_reason).toContain('could not compile');
    expect(task.failure_reason).toContain('3');
  });

  /** Whether the sandbox process group of the task's first attempt is still alive. */
  async function sandboxProcess(taskId: string): Promise<() => boolean> {
    const pidFile = join(stack.dataDir, 'sandboxes', `${taskId}-1`, 'pid');
    const pid = await eventually(async () => (existsSync(pidFile) ? Number(readFileSync(pidFile, 'utf8').trim()) : undefined), 10_000, 'pid file');
    return () => {
      try {
        process.kill(-pid, 0);
        const state = readFileSync(`/proc/${pid}/stat`, 'utf8').split(' ')[2];
        return state !== 'Z';
      } catch {
        return false;
      }
    };
  }

  it('kills a running sandbox when its task is cancelled', async () => {
    const created = await call('POST', '/api/v1/tasks', { title: 'hang' });
    const running = await waitForStatus(created.body.id, ['running']);
    const alive = await sandboxProcess(running.id);
    expect(alive()).toBe(true);
    expect(await call('DELETE', `/api/v1/tasks/${running.id}`)).toMatchObject({ status: 200, body: { cancelled: true } });
    await eventually(async () => !alive(), 10_000, 'the sandbox process group to die');
    expect((await call('GET', `/api/v1/tasks/${running.id}`)).body.status).toBe('cancelled');
    const status = await call('GET', '/api/v1/tasks/queue-status');
    expect(status.body.running).toBe(0);
  });

  it('kills the running sandboxes of a cancelled batch: the API hands the stops to the spawner', async () => {
    const created = await call('POST', '/api/v1/batches', { name: 'hang twice', tasks: [{ title: 'hang' }, { title: 'hang' }] });
    expect(created.status).toBe(201);
    const ids: string[] = created.body.tasks.map((task: { id: string }) => task.id);
    for (const id of ids) await waitForStatus(id, ['running']);
    const alive = await Promise.all(ids.map((id) => sandboxProcess(id)));
    expect(alive.map((check) => check())).toEqual([true, true]);

    const cancelled = await call('DELETE', `/api/v1/batches/${created.body.id}`);

    expect(cancelled).toMatchObject({ status: 200, body: { tasks_cancelled: 2 } });
    await eventually(async () => alive.every((check) => !check()), 10_000, 'both sandbox process groups to die');
    for (const id of ids) expect((await call('GET', `/api/v1/tasks/${id}`)).body.status).toBe('cancelled');
    expect((await call('GET', '/api/v1/tasks/queue-status')).body.running).toBe(0);
  });
});

import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import {
  DAYTONA_AGENT_SESSION,
  DAYTONA_LABELS,
  DaytonaApiError,
  DaytonaSandboxProvider,
  agentCommand,
  type DaytonaSandboxProviderOptions,
} from '../../../src/sandbox/daytona-provider.js';
import { SandboxSpawnError, type SpawnRequest } from '../../../src/sandbox/provider.js';
import { startFakeDaytona, type FakeDaytona } from '../../support/fake-daytona.js';

const API_KEY = 'dtn_test_key';

let daytona: FakeDaytona;

beforeEach(async () => {
  daytona = await startFakeDaytona({ apiKey: API_KEY });
});

afterEach(async () => {
  await daytona.close();
});

function provider(options: Partial<DaytonaSandboxProviderOptions> = {}): DaytonaSandboxProvider {
  return new DaytonaSandboxProvider({
    apiUrl: daytona.url,
    apiKey: API_KEY,
    command: 'claude -p "$NIGHTSHIFT_TASK_DESCRIPTION"',
    snapshot: 'nightshift-agent:1',
    target: 'eu',
    pollIntervalMs: 5,
    ...options,
  });
}

function request(attempt = 1): SpawnRequest {
  return {
    task: {
      id: 'task-42',
      attempt,
      title: `Fix "quotes" & $(rm -rf /) 'everywhere'`,
      description: 'Line one\nLine two',
      user_id: 'user-7',
    },
    timeoutSeconds: 1800,
    callbackUrl: 'https://api.example.com/api/v1/tasks/task-42/complete',
    callbackToken: 'cb-token-123',
  };
}

function execCommands(): string[] {
  return daytona
    .callsTo('POST', /^\/toolbox\/[^/]+\/process\/session\/[^/]+\/exec$/)
    .map((call) => (call.body as { command: string }).command);
}

describe('DaytonaSandboxProvider', () => {
  it('creates a sandbox labelled with the task and starts the agent in a session', async () => {
    const sandbox = await provider().spawn(request());

    const [create] = daytona.callsTo('POST', /^\/sandbox$/);
    expect(create?.authorization).toBe(`Bearer ${API_KEY}`);
    expect(create?.body).toMatchObject({
      snapshot: 'nightshift-agent:1',
      target: 'eu',
      labels: {
        [DAYTONA_LABELS.taskId]: 'task-42',
        [DAYTONA_LABELS.attempt]: '1',
        [DAYTONA_LABELS.idempotencyKey]: 'task-42.1',
      },
    });
    expect(daytona.sandboxes.has(sandbox.id)).toBe(true);
    expect(daytona.callsTo('POST', /\/process\/session$/).map((call) => call.body)).toEqual([
      { sessionId: DAYTONA_AGENT_SESSION },
    ]);
    const exec = daytona.callsTo('POST', /\/exec$/)[0];
    expect(exec?.path).toBe(`/toolbox/${sandbox.id}/process/session/${DAYTONA_AGENT_SESSION}/exec`);
    expect(exec?.body).toMatchObject({ runAsync: true });
  });

  it('looks the sandbox up by its idempotency label before creating one', async () => {
    await provider().spawn(request());

    const [list] = daytona.callsTo('GET', /^\/sandbox$/);
    expect(JSON.parse(list?.query.labels ?? '{}')).toEqual({ [DAYTONA_LABELS.idempotencyKey]: 'task-42.1' });
    expect(daytona.calls.findIndex((call) => call.method === 'GET' && call.path === '/sandbox')).toBeLessThan(
      daytona.calls.findIndex((call) => call.method === 'POST' && call.path === '/sandbox'),
    );
  });

  it('spawning the same task attempt again reuses the sandbox and does not rerun the agent', async () => {
    const sandboxes = provider();

    const first = await sandboxes.spawn(request());
    const second = await sandboxes.spawn(request());

    expect(second.id).toBe(first.id);
    expect(daytona.callsTo('POST', /^\/sandbox$/)).toHaveLength(1);
    expect(execCommands()).toHaveLength(1);
  });

  it('a new attempt of the same task gets its own sandbox', async () => {
    const sandboxes = provider();

    const first = await sandboxes.spawn(request(1));
    const second = await sandboxes.spawn(request(2));

    expect(second.id).not.toBe(first.id);
    expect(daytona.sandboxes.get(second.id)?.labels[DAYTONA_LABELS.attempt]).toBe('2');
  });

  it('starts the agent in a sandbox that was created before a crash but never ran it', async () => {
    // A previous spawn died between "create sandbox" and "run agent".
    await fetch(`${daytona.url}/sandbox`, {
      method: 'POST',
      headers: { authorization: `Bearer ${API_KEY}`, 'content-type': 'application/json' },
      body: JSON.stringify({
        labels: {
          [DAYTONA_LABELS.taskId]: 'task-42',
          [DAYTONA_LABELS.attempt]: '1',
          [DAYTONA_LABELS.idempotencyKey]: 'task-42.1',
        },
      }),
    });
    const [orphan] = [...daytona.sandboxes.keys()];

    const sandbox = await provider().spawn(request());

    expect(sandbox.id).toBe(orphan);
    expect(daytona.sandboxes.size).toBe(1);
    expect(execCommands()).toHaveLength(1);
  });

  it('waits until a new sandbox has started before running the agent', async () => {
    daytona.createAs('creating', 3);

    const sandbox = await provider().spawn(request());

    const polls = daytona.callsTo('GET', new RegExp(`^/sandbox/${sandbox.id}$`));
    expect(polls).toHaveLength(3);
    const lastPoll = daytona.calls.lastIndexOf(polls[2]!);
    const exec = daytona.calls.findIndex((call) => call.path.endsWith('/exec'));
    expect(exec).toBeGreaterThan(lastPoll);
  });

  it('runs the agent with the task variables and a timeout, surviving shell metacharacters', async () => {
    await provider({ command: 'printf "%s|%s|%s|%s|%s|%s" "$NIGHTSHIFT_TASK_ID" "$NIGHTSHIFT_TASK_TITLE" "$NIGHTSHIFT_TASK_DESCRIPTION" "$NIGHTSHIFT_CALLBACK_URL" "$NIGHTSHIFT_CALLBACK_TOKEN" "$NIGHTSHIFT_TIMEOUT_SECONDS" > out.txt' }).spawn(request());
    const [command] = execCommands();
    expect(command).toContain('timeout -k 10 1800 ');

    // Run the exact line a Daytona session would run, in a throwaway HOME.
    const home = mkdtempSync(join(tmpdir(), 'nightshift-daytona-'));
    try {
      execFileSync('/bin/sh', ['-c', command ?? ''], { env: { PATH: process.env.PATH, HOME: home }, stdio: 'ignore' });
      expect(readFileSync(join(home, 'work', 'out.txt'), 'utf8')).toBe(
        [
          'task-42',
          `Fix "quotes" & $(rm -rf /) 'everywhere'`,
          'Line one\nLine two',
          'https://api.example.com/api/v1/tasks/task-42/complete',
          'cb-token-123',
          '1800',
        ].join('|'),
      );
    } finally {
      rmSync(home, { recursive: true, force: true });
    }
  });

  it('kills an agent that outlives its timeout', () => {
    const line = agentCommand('sleep 30', { ...request(), timeoutSeconds: 1 });
    const home = mkdtempSync(join(tmpdir(), 'nightshift-daytona-'));
    const started = Date.now();
    try {
      expect(() => execFileSync('/bin/sh', ['-c', line], { env: { PATH: process.env.PATH, HOME: home } })).toThrow();
      expect(Date.now() - started).toBeLessThan(10_000);
    } finally {
      rmSync(home, { recursive: true, force: true });
    }
  });

  it('terminate deletes the sandbox, and deleting one that is gone is fine', async () => {
    const sandboxes = provider();
    const { id } = await sandboxes.spawn(request());

    await sandboxes.terminate(id);
    await sandboxes.terminate(id);

    expect(daytona.sandboxes.has(id)).toBe(false);
    expect(daytona.callsTo('DELETE', new RegExp(`^/sandbox/${id}$`))).toHaveLength(2);
  });

  it.each([
    ['a server error', 500],
    ['a quota refusal', 403],
  ])('maps %s on create to SandboxSpawnError, and a retry then succeeds', async (_what, status) => {
    const sandboxes = provider();
    daytona.failNextCreates(1, status);

    const failure = await sandboxes.spawn(request()).catch((error: unknown) => error);

    expect(failure).toBeInstanceOf(SandboxSpawnError);
    expect((failure as SandboxSpawnError).cause).toBeInstanceOf(DaytonaApiError);
    expect(((failure as SandboxSpawnError).cause as DaytonaApiError).status).toBe(status);
    expect(daytona.sandboxes.size).toBe(0);

    const retried = await sandboxes.spawn(request());
    expect(daytona.sandboxes.has(retried.id)).toBe(true);
  });

  it('maps a rejected API key to SandboxSpawnError', async () => {
    await expect(provider({ apiKey: 'wrong' }).spawn(request())).rejects.toBeInstanceOf(SandboxSpawnError);
    expect(daytona.sandboxes.size).toBe(0);
  });

  it('fails the spawn when the sandbox ends up in an error state', async () => {
    daytona.createAs('error');

    await expect(provider().spawn(request())).rejects.toThrow(/is error/);
    expect(execCommands()).toHaveLength(0);
  });

  it('maps an unreachable API to SandboxSpawnError', async () => {
    const url = daytona.url;
    await daytona.close();

    await expect(provider({ apiUrl: url }).spawn(request())).rejects.toBeInstanceOf(SandboxSpawnError);
    daytona = await startFakeDaytona();
  });

  it('logs returns the tail of the agent command output, null for an unknown sandbox', async () => {
    const sandboxes = provider();
    const { id } = await sandboxes.spawn(request());
    const command = daytona.sandboxes.get(id)?.sessions.get(DAYTONA_AGENT_SESSION)?.[0];
    if (command) command.logs = 'step 1\nstep 2\nall good\n';

    expect(await sandboxes.logs(id)).toBe('step 1\nstep 2\nall good\n');
    expect(await sandboxes.logs(id, 9)).toBe('all good\n');
    expect(await sandboxes.logs('no-such-sandbox')).toBeNull();
  });
});

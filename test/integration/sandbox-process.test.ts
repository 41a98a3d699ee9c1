import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { existsSync, mkdtempSync, readFileSync, realpathSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import {
  ProcessSandboxProvider,
  terminateAllSandboxes,
  type ProcessSandboxProviderOptions,
} from '../../src/sandbox/process-provider.js';
import type { SpawnRequest } from '../../src/sandbox/provider.js';

/** Real child processes against a callback server on 127.0.0.1 that records every report. */

interface Report {
  taskId: string;
  authorization: string | undefined;
  body: { status: string; summary?: string; error?: string; files_changed?: string[] };
  answered: number;
}

let server: Server;
let baseUrl: string;
const reports: Report[] = [];
/** The next N callbacks answer 503 (to exercise the provider's retries). */
let failNextCallbacks = 0;

let dataDir: string;
let providers: ProcessSandboxProvider[] = [];
let taskCounter = 0;
const savedSecret = process.env.AWS_SECRET_ACCESS_KEY;

beforeAll(async () => {
  server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => {
      const taskId = decodeURIComponent(/^\/api\/v1\/tasks\/([^/]+)\/complete$/.exec(req.url ?? '')?.[1] ?? '');
      const answered = failNextCallbacks > 0 ? 503 : 200;
      if (failNextCallbacks > 0) failNextCallbacks--;
      reports.push({
        taskId,
        authorization: req.headers.authorization,
        body: JSON.parse(Buffer.concat(chunks).toString('utf8')) as Report['body'],
        answered,
      });
      res.writeHead(answered, { 'content-type': 'application/json' });
      res.end(JSON.stringify({ ok: answered === 200 }));
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  baseUrl = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  // A secret in the parent's environment that no sandbox may see.
  process.env.AWS_SECRET_ACCESS_KEY = 'parent-secret-must-not-leak';
});

afterAll(async () => {
  if (savedSecret === undefined) delete process.env.AWS_SECRET_ACCESS_KEY;
  else process.env.AWS_SECRET_ACCESS_KEY = savedSecret;
  server.closeAllConnections();
  await new Promise<void>((resolve) => server.close(() => resolve()));
});

beforeEach(() => {
  dataDir = realpathSync(mkdtempSync(join(tmpdir(), 'nightshift-sandbox-')));
  failNextCallbacks = 0;
});

afterEach(async () => {
  await Promise.all(providers.map((provider) => provider.terminateAll()));
  providers = [];
  rmSync(dataDir, { recursive: true, force: true });
});

function provider(command: string, options: Partial<ProcessSandboxProviderOptions> = {}): ProcessSandboxProvider {
  const created = new ProcessSandboxProvider({ command, dataDir, callbackBackoffMs: 20, ...options });
  providers.push(created);
  return created;
}

function request(overrides: Partial<SpawnRequest['task']> = {}, timeoutSeconds = 20): SpawnRequest {
  const id = overrides.id ?? `task-${process.pid}-${++taskCounter}`;
  return {
    task: { id, attempt: 1, title: 'Fix the login bug', description: 'Users cannot log in', user_id: 'user-1', ...overrides },
    timeoutSeconds,
    callbackUrl: `${baseUrl}/api/v1/tasks/${encodeURIComponent(id)}/complete`,
    callbackToken: `token-for-${id}`,
  };
}

function reportsFor(taskId: string): Report[] {
  return reports.filter((report) => report.taskId === taskId && report.answered === 200);
}

async function waitFor<T>(probe: () => T | undefined | false, timeoutMs = 10_000, what = 'condition'): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = probe();
    if (value !== undefined && value !== false) return value;
    if (Date.now() > deadline) throw new Error(`Timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 25));
  }
}

function sandboxDir(req: SpawnRequest): string {
  return join(dataDir, 'sandboxes', `${req.task.id}-${req.task.attempt}`);
}

function groupAlive(pgid: number): boolean {
  try {
    process.kill(-pgid, 0);
    return true;
  } catch {
    return false;
  }
}

/**
 * Killed orphans stay in the group as zombies until PID 1 reaps them, which some container
 * inits do only every second or two; give that a moment (far less than the 60 s the sandboxes
 * would otherwise sleep).
 */
async function expectGroupGone(pgid: number): Promise<void> {
  await waitFor(() => !groupAlive(pgid), 4000, `process group ${pgid} to disappear`);
}

const node = JSON.stringify(process.execPath);

describe('ProcessSandboxProvider', () => {
  it('lets an agent that calls back itself complete its task with its own summary', async () => {
    const script = [
      'fetch(process.env.NIGHTSHIFT_CALLBACK_URL, {',
      '  method: "POST",',
      '  headers: { authorization: "Bearer " + process.env.NIGHTSHIFT_CALLBACK_TOKEN, "content-type": "application/json" },',
      '  body: JSON.stringify({ status: "completed", summary: "agent did: " + process.env.NIGHTSHIFT_TASK_TITLE, files_changed: ["a.ts"] }),',
      '}).then((r) => process.exit(r.ok ? 0 : 5));',
    ].join('\n');
    const req = request();

    const sandbox = await provider(`${node} -e '${script}'`).spawn(req);

    expect(sandbox.id).toBe(`proc-${req.task.id}-1`);
    const [first] = await waitFor(() => reportsFor(req.task.id).length >= 2 && reportsFor(req.task.id), 10_000, 'reports');
    expect(first?.authorization).toBe(`Bearer token-for-${req.task.id}`);
    expect(first?.body).toEqual({ status: 'completed', summary: 'agent did: Fix the login bug', files_changed: ['a.ts'] });
    // The provider's own exit report follows; the API ignores it for a finished task.
    expect(reportsFor(req.task.id)[1]?.body.status).toBe('completed');
  });

  it('completes a task whose command exits 0 without calling back, with the tail of its output', async () => {
    const command = [
      'echo "id=$NIGHTSHIFT_TASK_ID title=$NIGHTSHIFT_TASK_TITLE desc=$NIGHTSHIFT_TASK_DESCRIPTION"',
      'echo "token=$NIGHTSHIFT_CALLBACK_TOKEN url=$NIGHTSHIFT_CALLBACK_URL"',
      'echo "aws=${AWS_SECRET_ACCESS_KEY:-none} cwd=$(pwd)"',
      'i=0; while [ $i -lt 300 ]; do echo "progress line $i"; i=$((i+1)); done',
      'echo "all done"',
    ].join('\n');
    const req = request();

    await provider(command).spawn(req);

    const [report] = await waitFor(() => reportsFor(req.task.id).length > 0 && reportsFor(req.task.id), 10_000, 'report');
    expect(report?.authorization).toBe(`Bearer token-for-${req.task.id}`);
    expect(report?.body.status).toBe('completed');
    const summary = report?.body.summary ?? '';
    expect(summary.length).toBeLessThanOrEqual(2000);
    expect(summary.endsWith('progress line 299\nall done')).toBe(true);
    expect(summary).not.toContain('progress line 0\n');

    const log = readFileSync(join(sandboxDir(req), 'output.log'), 'utf8');
    expect(log).toContain(`id=${req.task.id} title=Fix the login bug desc=Users cannot log in`);
    expect(log).toContain(`token=token-for-${req.task.id} url=${req.callbackUrl}`);
    expect(log).toContain(`aws=none cwd=${join(sandboxDir(req), 'work')}`);
  });

  it('fails a task whose command exits non-zero, with the exit code and output tail', async () => {
    const req = request();

    await provider('echo "compiling"; echo "error: boom" >&2; exit 3').spawn(req);

    const [report] = await waitFor(() => reportsFor(req.task.id).length > 0 && reportsFor(req.task.id), 10_000, 'report');
    expect(report?.body).toEqual({ status: 'failed', error: 'Exited with code 3: compiling\nerror: boom' });
  });

  it('kills the whole process group at the timeout and reports the task failed with "Timeout"', async () => {
    // The shell ignores SIGTERM (so do its children), which forces the SIGKILL escalation;
    // a background sleep checks that the group, not just the shell, dies.
    const req = request({}, 1);
    const started = Date.now();

    await provider('trap "" TERM; sleep 60 & echo started; sleep 60').spawn(req);
    const pgid = Number(readFileSync(join(sandboxDir(req), 'pid'), 'utf8'));
    expect(groupAlive(pgid)).toBe(true);

    const [report] = await waitFor(() => reportsFor(req.task.id).length > 0 && reportsFor(req.task.id), 10_000, 'report');
    expect(report?.body).toEqual({ status: 'failed', error: 'Timeout' });
    // 1 s timeout + 2 s grace before SIGKILL, with slack for a slow machine.
    expect(Date.now() - started).toBeLessThan(5000);
    await expectGroupGone(pgid);
  });

  it('terminate kills a running sandbox without reporting', async () => {
    const req = request();
    const sandboxes = provider('echo started; sleep 60 & sleep 60');
    const { id } = await sandboxes.spawn(req);
    await waitFor(() => readFileSync(join(sandboxDir(req), 'output.log'), 'utf8').includes('started'), 5000, 'output');
    const pgid = Number(readFileSync(join(sandboxDir(req), 'pid'), 'utf8'));

    await sandboxes.terminate(id);

    await expectGroupGone(pgid);
    await new Promise((resolve) => setTimeout(resolve, 300));
    expect(reports.filter((report) => report.taskId === req.task.id)).toEqual([]);
    // Terminating again (already gone) is not an error.
    await expect(sandboxes.terminate(id)).resolves.toBeUndefined();
  });

  it('terminateAll stops every running sandbox of the provider, without reports', async () => {
    const sandboxes = provider('sleep 60');
    const first = request();
    const second = request();
    await sandboxes.spawn(first);
    await sandboxes.spawn(second);
    const pgids = [first, second].map((req) => Number(readFileSync(join(sandboxDir(req), 'pid'), 'utf8')));

    await sandboxes.terminateAll();

    await Promise.all(pgids.map(expectGroupGone));
    expect(reports.filter((report) => [first.task.id, second.task.id].includes(report.taskId))).toEqual([]);
  });

  it('terminateAllSandboxes stops the sandboxes of every provider in the process (shutdown)', async () => {
    const first = request();
    const second = request();
    await provider('sleep 60').spawn(first);
    await provider('sleep 60').spawn(second);
    const pgids = [first, second].map((req) => Number(readFileSync(join(sandboxDir(req), 'pid'), 'utf8')));

    await terminateAllSandboxes();

    await Promise.all(pgids.map(expectGroupGone));
  });

  it('starts one process per task attempt however often it is spawned, even after a restart', async () => {
    const command = 'echo "started once"; sleep 1';
    const req = request();
    const sandboxes = provider(command);

    const [first, second] = await Promise.all([sandboxes.spawn(req), sandboxes.spawn(req)]);
    // A new provider over the same data dir stands for a restarted local runtime.
    const afterRestart = await provider(command).spawn(req);

    expect(second.id).toBe(first.id);
    expect(afterRestart.id).toBe(first.id);
    await waitFor(() => reportsFor(req.task.id).length > 0, 10_000, 'report');
    await new Promise((resolve) => setTimeout(resolve, 300));
    expect(reportsFor(req.task.id)).toHaveLength(1);
    const log = readFileSync(join(sandboxDir(req), 'output.log'), 'utf8');
    expect(log.match(/started once/g)).toHaveLength(1);

    // The next attempt of the same task is a new sandbox.
    const retry = await sandboxes.spawn({ ...req, task: { ...req.task, attempt: 2 } });
    expect(retry.id).toBe(`proc-${req.task.id}-2`);
    expect(existsSync(join(dataDir, 'sandboxes', `${req.task.id}-2`, 'work'))).toBe(true);
  });

  it('knows its children alive, and after a restart finds the sandboxes that died with the old process gone', async () => {
    // Prepare: one sandbox still running (an orphan of an earlier incarnation stays alive), one whose group was killed.
    const sandboxes = provider('echo working; sleep 60');
    const survivor = request();
    const victim = request();
    const [alive, dead] = await Promise.all([sandboxes.spawn(survivor), sandboxes.spawn(victim)]);
    expect(await sandboxes.lostSandboxes([alive.id, dead.id])).toEqual([]);
    const victimPid = Number(readFileSync(join(sandboxDir(victim), 'pid'), 'utf8'));
    process.kill(-victimPid, 'SIGKILL');
    await expectGroupGone(victimPid);

    // Act: a new provider over the same data dir stands for a restarted `npm start`.
    const lost = await provider('true').lostSandboxes([alive.id, dead.id, 'proc-never-started-1']);

    // Assess
    expect(lost.map((sandbox) => sandbox.id).sort()).toEqual([dead.id, 'proc-never-started-1'].sort());
    expect(lost.find((sandbox) => sandbox.id === dead.id)?.lastAliveAt).toBeInstanceOf(Date);
  });

  it('logs returns the tail of the output, and null for an unknown sandbox', async () => {
    const req = request();
    const sandboxes = provider('echo "first line"; echo "0123456789"; sleep 60');
    const { id } = await sandboxes.spawn(req);
    await waitFor(() => readFileSync(join(sandboxDir(req), 'output.log'), 'utf8').includes('0123456789'), 5000, 'output');

    expect(await sandboxes.logs(id)).toBe('first line\n0123456789\n');
    expect(await sandboxes.logs(id, 5)).toBe('6789\n');
    // After a restart the log is still found on disk.
    expect(await provider('true').logs(id)).toBe('first line\n0123456789\n');
    expect(await sandboxes.logs('proc-no-such-task-1')).toBeNull();
    expect(await sandboxes.logs('proc-../../etc-1')).toBeNull();
  });

  it("reports the end of the attempt with the sandbox token, which the agent never sees", async () => {
    const req = { ...request(), sandboxToken: 'sandbox-token-the-agent-must-not-see' };

    await provider('env | grep -c sandbox-token-the-agent-must-not-see; true').spawn(req);

    const [report] = await waitFor(() => reportsFor(req.task.id).length > 0 && reportsFor(req.task.id), 10_000, 'report');
    expect(report?.authorization).toBe('Bearer sandbox-token-the-agent-must-not-see');
    expect(report?.body).toEqual({ status: 'completed', summary: '0' });
  });

  it('retries a callback the API could not take, then delivers it', async () => {
    const req = request();
    failNextCallbacks = 2;

    await provider('echo fine').spawn(req);

    const [report] = await waitFor(() => reportsFor(req.task.id).length > 0 && reportsFor(req.task.id), 10_000, 'report');
    expect(report?.body).toEqual({ status: 'completed', summary: 'fine' });
    expect(reports.filter((r) => r.taskId === req.task.id).map((r) => r.answered)).toEqual([503, 503, 200]);
  });
});

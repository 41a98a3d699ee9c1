import { execFileSync } from 'node:child_process';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { claimNextTasks } from '../../src/scheduling/claim.js';
import { spawnClaimedTask } from '../../src/scheduling/spawn.js';
import { setSandboxProvider } from '../../src/sandbox/current.js';
import { DaytonaSandboxProvider } from '../../src/sandbox/daytona-provider.js';
import { taskCreateSchema, taskResultSchema } from '../../src/tasks/schemas.js';
import { cancelTask, completeTask } from '../../src/tasks/finish-task.js';
import { failLostSandboxes } from '../../src/scheduling/sandbox-liveness.js';
import { getTaskPatch } from '../../src/tasks/task-diff.js';
import { createTask } from '../../src/tasks/create-task.js';
import { getTask } from '../../src/tasks/task-store.js';
import { putProject } from '../../src/projects/projects.js';
import { projectPutSchema } from '../../src/projects/schemas.js';
import { artifactKeys, artifactStore } from '../../src/platform/artifact-store.js';
import { DomainError } from '../../src/platform/errors.js';
import { startFakeDaytona, type FakeDaytona } from '../support/fake-daytona.js';
import { startFakeGitHub } from '../support/fake-github.js';
import { eventually, takeSpawnMessages, useFreshTable, type TestEnv } from '../support/local-env.js';

/**
 * Repository tasks in Daytona, end to end on one machine: the scheduler and the API's completion
 * against DynamoDB Local and s3rver, the real DaytonaSandboxProvider against the fake Daytona,
 * which runs real git and the agent's command in a directory of its own.
 */

const git = (cwd: string, ...args: string[]) => execFileSync('git', args, { cwd, encoding: 'utf8' });

let env: TestEnv;
let daytona: FakeDaytona;
let callbacks: Server;
let callbackBaseUrl: string;
let root: string;
let origin: string;
let n = 0;
const user = () => `daytona-${++n}-${Date.now()}`;
const GIT_SECRET = 'git-token-of-the-provider';

beforeAll(async () => {
  daytona = await startFakeDaytona({ apiKey: 'daytona-key', run: true });
  // The API's completion endpoint, as the sandbox reaches it.
  callbacks = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => {
      const taskId = decodeURIComponent(/^\/api\/v1\/tasks\/([^/]+)\/complete$/.exec(req.url ?? '')?.[1] ?? '');
      const token = (req.headers.authorization ?? '').replace(/^Bearer /, '');
      const body = taskResultSchema.parse(JSON.parse(Buffer.concat(chunks).toString('utf8')));
      completeTask(taskId, token, body).then(
        () => res.writeHead(200).end('{"ok":true}'),
        (error: unknown) => res.writeHead(error instanceof DomainError ? 401 : 500).end(String(error)),
      );
    });
  });
  await new Promise<void>((done) => callbacks.listen(0, '127.0.0.1', done));
  callbackBaseUrl = `http://127.0.0.1:${(callbacks.address() as AddressInfo).port}`;
});

afterAll(async () => {
  await daytona.close();
  callbacks.closeAllConnections();
  await new Promise<void>((done) => callbacks.close(() => done()));
});

beforeEach(async () => {
  env = await useFreshTable({ CALLBACK_BASE_URL: callbackBaseUrl });
  root = mkdtempSync(join(tmpdir(), 'nightshift-daytona-'));
  const upstream = join(root, 'upstream');
  mkdirSync(upstream);
  git(upstream, 'init', '--quiet', '-b', 'main');
  writeFileSync(join(upstream, 'README.md'), 'hello\n');
  git(upstream, 'add', '.');
  git(upstream, '-c', 'user.name=Ann', '-c', 'user.email=ann@example.com', 'commit', '--quiet', '-m', 'first');
  origin = join(root, 'origin.git');
  git(root, 'clone', '--quiet', '--bare', upstream, origin);
});

afterEach(() => {
  setSandboxProvider(undefined);
  rmSync(root, { recursive: true, force: true });
});

function useDaytona(command: string, github?: { apiUrl: string; token: string }): void {
  setSandboxProvider(
    new DaytonaSandboxProvider({
      apiUrl: daytona.url,
      apiKey: 'daytona-key',
      command,
      github,
      artifacts: () => artifactStore(),
      git: { username: 'nightshift-bot', password: GIT_SECRET },
      pollIntervalMs: 10,
    }),
  );
}

async function queueOnProject(owner: string, repoUrl: string, title = 'Add a note', project: Record<string, unknown> = {}) {
  // Project ids are global: one per owner.
  await putProject(owner, `app-${owner}`, projectPutSchema.parse({ repo_url: repoUrl, default_branch: 'main', ...project }));
  const task = await createTask(owner, taskCreateSchema.parse({ title, project_id: `app-${owner}` }));
  await claimNextTasks({ now: () => new Date() });
  for (const message of await takeSpawnMessages(env.queues.spawnQueueUrl)) await spawnClaimedTask(message);
  return task;
}

describe('repository tasks in Daytona', () => {
  it('starts the agent in a fresh clone on nightshift/<task-id>, then commits, pushes and keeps the patch from git', async () => {
    // Prepare: an agent that edits two files and exits without calling back.
    useDaytona('echo "a note" >> NOTES.md && sed -i "s/hello/goodbye/" README.md && git rev-parse --abbrev-ref HEAD');
    const owner = user();

    // Act
    const task = await queueOnProject(owner, origin);
    const done = await eventually(async () => {
      const current = await getTask(task.id);
      return current && ['completed', 'failed'].includes(current.status) ? current : undefined;
    }, 30_000, 'the task to end');

    // Assess: the task carries git's result, the repository has the branch with the agent's commit.
    const branch = `nightshift/${task.id}`;
    const base = git(origin, 'rev-parse', 'main').trim();
    const head = git(origin, 'rev-parse', branch).trim();
    expect(done).toMatchObject({
      status: 'completed',
      branch,
      base_commit: base,
      head_commit: head,
      diff_stat: { files: 2, insertions: 2, deletions: 1 },
      files_changed: ['NOTES.md', 'README.md'],
      push_error: null,
    });
    expect(git(origin, 'log', '--format=%an <%ae>|%s', `main..${branch}`).trim()).toBe('Nightshift agent <agent@nightshift.invalid>|Add a note');
    const patch = await artifactStore().getText(artifactKeys.patch(task.id));
    expect(patch).toContain('+a note');
    expect(patch).toContain('-hello');
    expect(await artifactStore().getText(artifactKeys.agentLog(task.id, 1))).toContain(branch);

    // The git credentials went to the clone and push calls only, never into the agent's command.
    const [clone] = daytona.callsTo('POST', /\/git\/clone$/);
    expect(clone?.body).toMatchObject({ url: origin, branch: 'main', username: 'nightshift-bot', password: GIT_SECRET });
    expect(daytona.callsTo('POST', /\/git\/push$/)[0]?.body).toMatchObject({ password: GIT_SECRET });
    const [exec] = daytona.callsTo('POST', /\/process\/session\/[^/]+\/exec$/);
    expect(JSON.stringify(exec?.body)).not.toContain(GIT_SECRET);
    expect(JSON.stringify(exec?.body)).not.toContain(Buffer.from(GIT_SECRET).toString('base64'));
    // Its work is in git and the store, so the sandbox is gone.
    expect([...daytona.sandboxes.values()].filter((sandbox) => sandbox.labels['nightshift.task-id'] === task.id)).toEqual([]);
  });

  it("keeps the agent's own summary and says when it changed nothing", async () => {
    useDaytona(
      `curl -sS -X POST -H "authorization: Bearer $NIGHTSHIFT_CALLBACK_TOKEN" -H 'content-type: application/json' ` +
        `--data '{"status":"completed","summary":"Looked, nothing to fix","files_changed":["made-up.txt"],"source":"sandbox"}' "$NIGHTSHIFT_CALLBACK_URL"`,
    );
    const task = await queueOnProject(user(), origin, 'Look around');

    const done = await eventually(async () => {
      const current = await getTask(task.id);
      return current?.status === 'completed' ? current : undefined;
    }, 30_000, 'the task to complete');

    expect(done.files_changed).toEqual([]);
    expect(done.diff_stat).toEqual({ files: 0, insertions: 0, deletions: 0 });
    expect(done.result_summary).toContain('Looked, nothing to fix');
    expect(done.result_summary).toContain('No changes');
  });

  it('fails a task whose repository cannot be cloned at start, with git\'s words, and deletes its sandbox', async () => {
    useDaytona('echo never runs');
    const task = await queueOnProject(user(), join(root, 'no-such-repo.git'));

    const done = await eventually(async () => {
      const current = await getTask(task.id);
      return current?.status === 'failed' ? current : undefined;
    }, 30_000, 'the task to fail');

    expect(done.failure_reason).toMatch(/^Could not check out .*no-such-repo\.git at main: .*(does not exist|not appear to be a git repository)/s);
    expect(daytona.callsTo('POST', /\/process\/session\/[^/]+\/exec$/).filter((call) => JSON.stringify(call.body).includes('never runs'))).toEqual([]);
    expect([...daytona.sandboxes.values()].filter((sandbox) => sandbox.labels['nightshift.task-id'] === task.id)).toEqual([]);
  });

  it('opens one draft pull request for a pushed remote branch, and records a rejected push instead', async () => {
    // Prepare: two "remote" repositories that git maps to bare repositories here; one refuses pushes.
    const closed = join(root, 'closed.git');
    git(root, 'clone', '--quiet', '--bare', origin, closed);
    writeFileSync(join(closed, 'hooks', 'pre-receive'), '#!/bin/sh\necho "this repository takes no pushes" >&2\nexit 1\n', { mode: 0o755 });
    const gitconfig = join(root, 'gitconfig');
    writeFileSync(gitconfig, `[url "file://${origin}"]\n\tinsteadOf = https://github.test/ann/app.git\n[url "file://${closed}"]\n\tinsteadOf = https://github.test/ann/closed.git\n`);
    const saved = process.env.GIT_CONFIG_GLOBAL;
    process.env.GIT_CONFIG_GLOBAL = gitconfig;
    const github = await startFakeGitHub('ghp_fake');
    try {
      useDaytona('echo "a note" >> NOTES.md', { apiUrl: github.url, token: 'ghp_fake' });
      const owner = user();
      const ended = (id: string) => eventually(async () => {
        const current = await getTask(id);
        return current && ['completed', 'failed'].includes(current.status) ? current : undefined;
      }, 30_000, 'the task to end');

      // Act
      const pushed = await ended((await queueOnProject(owner, 'https://github.test/ann/app.git', 'Add a note', { push: true, pull_requests: true })).id);
      const refused = await ended((await queueOnProject(`${owner}-b`, 'https://github.test/ann/closed.git', 'Add a note', { push: true, pull_requests: true })).id);

      // Assess
      expect(pushed).toMatchObject({ status: 'completed', push_error: null, pull_request_url: github.pulls[0]?.html_url });
      expect(github.pulls).toHaveLength(1);
      expect(github.pulls[0]).toMatchObject({ owner: 'ann', repo: 'app', head: pushed.branch, base: 'main', draft: true });
      expect(refused).toMatchObject({ status: 'completed', push_error: expect.stringContaining('takes no pushes'), pull_request_url: null });
      expect(refused.diff_stat).toEqual({ files: 1, insertions: 1, deletions: 0 });
    } finally {
      if (saved === undefined) delete process.env.GIT_CONFIG_GLOBAL;
      else process.env.GIT_CONFIG_GLOBAL = saved;
      await github.stop();
    }
  });
});

describe('repository tasks in Daytona that end without a result', () => {
  // An agent that writes half its work, then works on (the test ends its task meanwhile).
  const HALF_DONE = 'echo "half done" >> NOTES.md && sleep 10';

  /** The fake sandbox of the task, once the agent wrote to its checkout. */
  const sandboxAtWork = (taskId: string) =>
    eventually(async () => {
      const sandbox = [...daytona.sandboxes.values()].find((candidate) => candidate.labels['nightshift.task-id'] === taskId);
      return sandbox?.root && existsSync(join(sandbox.root, 'nightshift-work', 'NOTES.md')) ? sandbox : undefined;
    }, 30_000, 'the agent to write');
  const sandboxesOf = (taskId: string) => [...daytona.sandboxes.values()].filter((sandbox) => sandbox.labels['nightshift.task-id'] === taskId);
  // The sweeper looks at sandboxes that ran past the grace period: it sweeps "a minute later".
  const aMinuteLater = () => new Date(Date.now() + 60_000);

  it("saves a cancelled task's work (committed, pushed to its branch, the patch kept) before deleting its sandbox", async () => {
    useDaytona(HALF_DONE);
    const owner = user();
    const task = await queueOnProject(owner, origin, 'Half a feature');
    await sandboxAtWork(task.id);

    await cancelTask(owner, task.id);

    const branch = `nightshift/${task.id}`;
    const done = await getTask(task.id);
    expect(done).toMatchObject({
      status: 'cancelled',
      branch,
      base_commit: git(origin, 'rev-parse', 'main').trim(),
      head_commit: git(origin, 'rev-parse', branch).trim(),
      diff_stat: { files: 1, insertions: 1, deletions: 0 },
      files_changed: ['NOTES.md'],
      pull_request_url: null,
    });
    expect(done?.failure_reason).toMatch(/^Cancelled by user\. The agent's work up to then is saved: 1 file\(s\) changed/);
    expect(git(origin, 'log', '-1', '--format=%an|%s', branch).trim()).toBe('Nightshift agent|Half a feature');
    expect(await getTaskPatch(owner, task.id, { stat: false })).toContain('+half done');
    expect(sandboxesOf(task.id)).toEqual([]);
  });

  it('saves the work of a lost sandbox that was stopped, starting it again, before deleting it', async () => {
    useDaytona(HALF_DONE);
    const owner = user();
    const task = await queueOnProject(owner, origin, 'Until auto-stop');
    const sandbox = await sandboxAtWork(task.id);
    sandbox.state = 'stopped';

    const swept = await failLostSandboxes(aMinuteLater());

    expect(swept.lost).toEqual([task.id]);
    const done = await getTask(task.id);
    expect(done).toMatchObject({ status: 'failed', diff_stat: { files: 1, insertions: 1, deletions: 0 }, head_commit: git(origin, 'rev-parse', `nightshift/${task.id}`).trim() });
    expect(done?.failure_reason).toMatch(/^sandbox lost\. The agent's work up to then is saved/);
    expect(await getTaskPatch(owner, task.id, { stat: false })).toContain('+half done');
    expect(sandboxesOf(task.id)).toEqual([]);
  });

  it('says the work could not be saved when the lost sandbox no longer answers', async () => {
    useDaytona(HALF_DONE);
    const owner = user();
    const task = await queueOnProject(owner, origin, 'Vanished');
    const sandbox = await sandboxAtWork(task.id);
    daytona.sandboxes.delete(sandbox.id);

    await failLostSandboxes(aMinuteLater());

    const done = await getTask(task.id);
    expect(done).toMatchObject({ status: 'failed', head_commit: null, diff_stat: null });
    expect(done?.failure_reason).toMatch(/^sandbox lost\. The agent's work could not be saved: .*no longer exists/);
    expect(() => git(origin, 'rev-parse', '--verify', '--quiet', `nightshift/${task.id}`)).toThrow();
    await expect(getTaskPatch(owner, task.id, { stat: false })).rejects.toMatchObject({ code: 'NOT_FOUND' });
  });
});

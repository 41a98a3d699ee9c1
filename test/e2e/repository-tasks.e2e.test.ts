import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { artifactKeys, S3ArtifactStore } from '../../src/platform/artifact-store.js';
import { eventually, startTestStack } from '../support/local-env.js';

type Stack = Awaited<ReturnType<typeof startTestStack>>;
let stack: Stack;
let alice: string;
let bob: string;
let repo: string;

const git = (cwd: string, ...args: string[]) => execFileSync('git', args, { cwd, encoding: 'utf8' });

/*
 * The agent: waits a little (so tasks overlap), then appends its title to NOTES.md and notes
 * where it ran, unless told to change nothing; "callback" in the description reports by itself.
 */
const AGENT = `
import { appendFileSync, writeFileSync } from 'node:fs';
const env = process.env;
await new Promise((resolve) => setTimeout(resolve, 1500));
if (!env.NIGHTSHIFT_TASK_DESCRIPTION.includes('nothing')) {
  appendFileSync('NOTES.md', env.NIGHTSHIFT_TASK_TITLE + '\\n');
  writeFileSync('where.txt', process.cwd() + ' ' + env.NIGHTSHIFT_BRANCH + ' ' + (env.NIGHTSHIFT_WORKDIR === process.cwd()) + '\\n');
}
console.log('agent done in', process.cwd());
if (env.NIGHTSHIFT_TASK_DESCRIPTION.includes('callback')) {
  await fetch(env.NIGHTSHIFT_CALLBACK_URL, {
    method: 'POST',
    headers: { 'content-type': 'application/json', authorization: 'Bearer ' + env.NIGHTSHIFT_CALLBACK_TOKEN },
    body: JSON.stringify({ status: 'completed', summary: 'agent says it is done', files_changed: ['made-up.txt'] }),
  });
}
`;

async function call(token: string, method: string, path: string, body?: unknown) {
  const response = await fetch(`${stack.url}${path}`, {
    method,
    headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await response.text();
  let parsed: any = text;
  try {
    parsed = JSON.parse(text);
  } catch {
    // a patch, not JSON
  }
  return { status: response.status, type: response.headers.get('content-type'), body: parsed };
}

const finished = (id: string) =>
  eventually(async () => {
    const task = (await call(alice, 'GET', `/api/v1/tasks/${id}`)).body;
    return ['completed', 'failed'].includes(task.status) ? task : undefined;
  }, 60_000, `task ${id} to finish`);

beforeAll(async () => {
  repo = mkdtempSync(join(tmpdir(), 'nightshift-repo-'));
  git(repo, 'init', '--quiet', '-b', 'main');
  writeFileSync(join(repo, 'README.md'), '# app\n');
  git(repo, 'add', '.');
  git(repo, '-c', 'user.name=Ann', '-c', 'user.email=ann@example.com', 'commit', '--quiet', '-m', 'first');
  const agentFile = join(repo, '..', `agent-${Date.now()}.mjs`);
  writeFileSync(agentFile, AGENT);
  stack = await startTestStack({ SANDBOX_COMMAND: `node ${agentFile}` });
  const admin = await stack.token('root', true);
  await fetch(`${stack.url}/api/v1/admin/users/alice/plan`, { method: 'PUT', headers: { authorization: `Bearer ${admin}` }, body: JSON.stringify({ plan: 'team' }) });
  alice = await stack.token('alice');
  bob = await stack.token('bob');
}, 90_000);
afterAll(async () => stack?.stop());

describe('projects', () => {
  it('creates, reads, lists and deletes a project, for its owner only', async () => {
    const created = await call(alice, 'PUT', '/api/v1/projects/scratch', { repo_url: `file://${repo}`, name: 'Scratch' });
    expect(created.status).toBe(201);
    expect(created.body).toMatchObject({ id: 'scratch', name: 'Scratch', owner_id: 'alice', default_branch: 'main', push: false, pull_requests: false });
    expect((await call(alice, 'PUT', '/api/v1/projects/scratch', { repo_url: `file://${repo}`, default_branch: 'main' })).status).toBe(200);
    expect((await call(alice, 'GET', '/api/v1/projects')).body.map((p: any) => p.id)).toContain('scratch');

    expect((await call(bob, 'GET', '/api/v1/projects/scratch')).body.error.code).toBe('PROJECT_NOT_FOUND');
    expect((await call(bob, 'GET', '/api/v1/projects')).body).toEqual([]);
    expect((await call(bob, 'PUT', '/api/v1/projects/scratch', { repo_url: '/tmp/x' })).status).toBe(403);
    expect((await call(bob, 'DELETE', '/api/v1/projects/scratch')).status).toBe(404);
    const onOthers = await call(bob, 'POST', '/api/v1/tasks', { title: 'sneak', project_id: 'scratch' });
    expect(onOthers.status).toBe(404);
    expect(onOthers.body.error.code).toBe('PROJECT_NOT_FOUND');

    expect((await call(alice, 'DELETE', '/api/v1/projects/scratch')).body).toEqual({ deleted: true });
    expect((await call(alice, 'GET', '/api/v1/projects/scratch')).status).toBe(404);
  });

  it.each([
    ['ext::sh -c touch% /tmp/pwned'],
    ['https://alice:ghp_secret@github.com/alice/app.git'],
    ['http://github.com/alice/app.git'],
    ['-uhelp'],
    ['relative/path'],
  ])('refuses repo_url %s with a 400 and stores nothing', async (url) => {
    const response = await call(alice, 'PUT', '/api/v1/projects/bad', { repo_url: url });
    expect(response.status).toBe(400);
    expect(response.body.error.code).toBe('VALIDATION_ERROR');
    expect((await call(alice, 'GET', '/api/v1/projects/bad')).status).toBe(404);
  });

  it('keeps a project_id that names no project as a plain label', async () => {
    const created = await call(alice, 'POST', '/api/v1/tasks', { title: 'labelled', project_id: 'no-such-project', description: 'nothing' });
    expect(created.status).toBe(201);
    const task = await finished(created.body.id);
    expect(task).toMatchObject({ status: 'completed', project_id: 'no-such-project', branch: null, head_commit: null });
    expect((await call(alice, 'GET', `/api/v1/tasks/${task.id}/diff`)).status).toBe(404);
  });
});

describe('tasks on a repository', () => {
  it('gives each of three overlapping tasks its own checkout, commits their work as "Nightshift agent" and hands back branch, stat and patch', async () => {
    expect((await call(alice, 'PUT', '/api/v1/projects/app', { repo_url: repo, default_branch: 'main' })).status).toBe(201);
    const base = git(repo, 'rev-parse', 'main').trim();
    const created = await Promise.all(
      ['fix the header', 'add a footer', 'tidy up'].map((title, index) =>
        call(alice, 'POST', '/api/v1/tasks', { title, project_id: 'app', description: index === 2 ? 'callback' : '' }),
      ),
    );
    expect(created.map((response) => response.status)).toEqual([201, 201, 201]);
    const tasks = await Promise.all(created.map((response) => finished(response.body.id)));

    const where = new Set<string>();
    for (const task of tasks) {
      expect(task).toMatchObject({
        status: 'completed',
        branch: `nightshift/${task.id}`,
        base_commit: base,
        diff_stat: { files: 2, insertions: 2, deletions: 0 },
        files_changed: ['NOTES.md', 'where.txt'],
        push_error: null,
        diff_url: `/api/v1/tasks/${task.id}/diff`,
      });
      expect(task.head_commit).not.toBe(base);
      // The branch is in the user's repository, with the agent's commit on top of main.
      expect(git(repo, 'log', '--format=%an|%s', `main..nightshift/${task.id}`).trim()).toBe(`Nightshift agent|${task.title}`);
      expect(git(repo, 'show', `nightshift/${task.id}:NOTES.md`)).toBe(`${task.title}\n`);
      const [dir, branch, isWorkdir] = git(repo, 'show', `nightshift/${task.id}:where.txt`).trim().split(' ');
      expect([branch, isWorkdir]).toEqual([`nightshift/${task.id}`, 'true']);
      where.add(dir as string);

      const patch = await call(alice, 'GET', `/api/v1/tasks/${task.id}/diff`);
      expect(patch.status).toBe(200);
      expect(patch.type).toMatch(/^text\/x-diff/);
      expect(patch.body).toContain('+++ b/NOTES.md');
      expect(patch.body).toContain(`+${task.title}`);
      const stat = await call(alice, 'GET', `/api/v1/tasks/${task.id}/diff?stat=1`);
      expect(stat.body).toMatch(/NOTES\.md\s+\| 1 \+/);
      expect(stat.body).toContain('2 files changed, 2 insertions(+)');
      expect((await call(bob, 'GET', `/api/v1/tasks/${task.id}/diff`)).status).toBe(404);
    }
    expect(where.size).toBe(3);
    // The agent that reported by itself keeps its summary; the files are git's, not its own list.
    expect(tasks[2]).toMatchObject({ result_summary: 'agent says it is done', files_changed: ['NOTES.md', 'where.txt'] });
    // The user's checkout of main was left alone.
    expect(git(repo, 'status', '--porcelain')).toBe('');

    // The full agent log, git's output included, is kept in the artifact store.
    const store = new S3ArtifactStore(process.env.ARTIFACTS_BUCKET as string);
    const log = await store.getText(artifactKeys.agentLog(tasks[0].id, 1));
    expect(log).toContain('agent done in');
    expect(log).toContain('$ git');
    // ... and served by GET /logs once the sandbox's own directory is gone.
    rmSync(join(stack.dataDir, 'sandboxes', `${tasks[0].id}-1`), { recursive: true, force: true });
    const served = await call(alice, 'GET', `/api/v1/tasks/${tasks[0].id}/logs`);
    expect(served.body).toMatchObject({ available: true, source: 'artifact' });
    expect(served.body.logs).toContain('agent done in');
  });

  it('says so when the agent changed nothing', async () => {
    const created = await call(alice, 'POST', '/api/v1/tasks', { title: 'look only', project_id: 'app', description: 'nothing' });
    const task = await finished(created.body.id);
    expect(task).toMatchObject({ status: 'completed', diff_stat: { files: 0, insertions: 0, deletions: 0 }, files_changed: [] });
    expect(task.head_commit).toBe(task.base_commit);
    expect(task.result_summary).toContain('No changes');
    const patch = await call(alice, 'GET', `/api/v1/tasks/${task.id}/diff`);
    expect([patch.status, patch.body]).toEqual([200, '']);
  });

  it('fails a task whose repository cannot be cloned at start, with git\'s reason in the task and its log', async () => {
    const missing = join(tmpdir(), `nightshift-missing-${Date.now()}`);
    await call(alice, 'PUT', '/api/v1/projects/gone', { repo_url: missing });
    const created = await call(alice, 'POST', '/api/v1/tasks', { title: 'doomed', project_id: 'gone' });
    const task = await finished(created.body.id);
    expect(task.status).toBe('failed');
    expect(task.failure_reason).toContain(`Could not check out ${missing} at main`);
    expect(task.failure_reason).toMatch(/does not exist|not a git repository|not found/i);
    const logs = await call(alice, 'GET', `/api/v1/tasks/${task.id}/logs`);
    expect(logs.body.logs).toContain('$ git clone');
  });

  it('fails a task whose base_ref the repository does not have', async () => {
    const created = await call(alice, 'POST', '/api/v1/tasks', { title: 'old branch', project_id: 'app', base_ref: 'release/9' });
    const task = await finished(created.body.id);
    expect(task.status).toBe('failed');
    expect(task.failure_reason).toContain('no branch, tag or commit named "release/9"');
  });
});

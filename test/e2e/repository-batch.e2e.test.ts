import { execFileSync } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { eventually, startTestStack } from '../support/local-env.js';

type Stack = Awaited<ReturnType<typeof startTestStack>>;
let stack: Stack;
const agent = resolve('scripts/demo-agent.mjs');
const git = (cwd: string, ...args: string[]) => execFileSync('git', args, { cwd, encoding: 'utf8' });

async function call(token: string, method: string, path: string, body?: unknown) {
  const response = await fetch(`${stack.url}${path}`, {
    method,
    headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await response.text();
  return { status: response.status, type: response.headers.get('content-type'), text, body: response.headers.get('content-type')?.includes('json') ? JSON.parse(text) : null };
}

beforeAll(async () => {
  stack = await startTestStack({ SANDBOX_COMMAND: `DEMO_AGENT_SECONDS=0.4 node ${agent}` });
}, 60_000);
afterAll(async () => stack?.stop());

describe('a night of repository work, as a new user tries it', () => {
  it('runs a batch of three tasks on a local project with the demo agent: three branches with their commits, stats and patches in the morning', async () => {
    const repo = mkdtempSync(join(tmpdir(), 'nightshift-night-'));
    git(repo, 'init', '--quiet', '-b', 'main');
    writeFileSync(join(repo, 'README.md'), '# My app\n');
    git(repo, 'add', '.');
    git(repo, '-c', 'user.name=Ann', '-c', 'user.email=ann@example.com', 'commit', '--quiet', '-m', 'first');

    const token = await stack.token('newcomer');
    expect((await call(token, 'PUT', '/api/v1/projects/my-app', { name: 'My app', repo_url: repo })).status).toBe(201);
    const created = await call(token, 'POST', '/api/v1/batches', {
      name: 'Tonight',
      tasks: [
        { title: 'Polish the README', description: 'Make README.md friendlier', project_id: 'my-app' },
        { title: 'Write release notes', project_id: 'my-app' },
        { title: 'List open questions', project_id: 'my-app' },
      ],
    });
    expect(created.status).toBe(201);
    const batchId = created.body.id as string;

    const report = await eventually(async () => {
      const answer = await call(token, 'GET', `/api/v1/batches/${batchId}/report`);
      return answer.body?.totals?.unfinished === 0 && answer.body?.totals?.tasks === 3 ? answer.body : undefined;
    }, 90_000, 'the batch to finish');

    const entries = report.tasks as any[];
    expect(entries.map((entry) => entry.outcome)).toEqual(['completed', 'completed', 'completed']);
    for (const entry of entries) {
      expect(entry.repository).toMatchObject({ branch: `nightshift/${entry.task_id}`, push_error: null, diff_url: `/api/v1/tasks/${entry.task_id}/diff`, fetch_command: `git fetch ${repo} nightshift/${entry.task_id}` });
      expect(entry.repository.diff_stat.files).toBeGreaterThanOrEqual(1);
      // `git log nightshift/<task-id>` in the user's repository shows the agent's commit.
      expect(git(repo, 'log', '-1', '--format=%an|%s', `nightshift/${entry.task_id}`).trim()).toBe(`Nightshift agent|${entry.title}`);
      const patch = await call(token, 'GET', entry.repository.diff_url);
      expect(patch.type).toMatch(/^text\/x-diff/);
      expect(patch.text).toContain(`+## ${entry.title}`);
    }
    // The task that named README.md edited it too, as git (not the agent) reports.
    expect(entries[0].files_changed).toEqual(['NOTES.md', 'README.md']);
    expect(entries[0].repository.diff_stat).toMatchObject({ files: 2 });
    expect(entries[1].files_changed).toEqual(['NOTES.md']);
  });
});

import { execFileSync } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openDraftPullRequest } from '../../src/sandbox/github-pull-requests.js';
import { startFakeGitHub } from '../support/fake-github.js';
import { eventually, startTestStack } from '../support/local-env.js';

type Stack = Awaited<ReturnType<typeof startTestStack>>;
let stack: Stack;
let github: Awaited<ReturnType<typeof startFakeGitHub>>;
let token: string;
let root: string;
const GITHUB_TOKEN = 'ghp_fake_token_for_tests';
const git = (cwd: string, ...args: string[]) => execFileSync('git', args, { cwd, encoding: 'utf8' });

async function call(method: string, path: string, body?: unknown) {
  const response = await fetch(`${stack.url}${path}`, {
    method,
    headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  return { status: response.status, body: (await response.json()) as any };
}

const finished = (id: string) =>
  eventually(async () => {
    const task = (await call('GET', `/api/v1/tasks/${id}`)).body;
    return ['completed', 'failed'].includes(task.status) ? task : undefined;
  }, 60_000, `task ${id} to finish`);

beforeAll(async () => {
  root = mkdtempSync(join(tmpdir(), 'nightshift-remote-'));
  const seed = join(root, 'seed');
  execFileSync('git', ['init', '--quiet', '-b', 'main', seed]);
  writeFileSync(join(seed, 'README.md'), '# remote app\n');
  git(seed, 'add', '.');
  git(seed, '-c', 'user.name=Ann', '-c', 'user.email=ann@example.com', 'commit', '--quiet', '-m', 'first');
  git(root, 'clone', '--quiet', '--bare', seed, join(root, 'app.git'));
  git(root, 'clone', '--quiet', '--bare', seed, join(root, 'closed.git'));
  writeFileSync(join(root, 'closed.git', 'hooks', 'pre-receive'), '#!/bin/sh\necho "this repository takes no pushes" >&2\nexit 1\n', { mode: 0o755 });
  // The "remote" repositories are bare repositories on this machine: git maps their https
  // addresses to them, so nothing leaves 127.0.0.1 and the code path is the remote one.
  const gitconfig = join(root, 'gitconfig');
  writeFileSync(
    gitconfig,
    `[url "file://${join(root, 'app.git')}"]\n\tinsteadOf = https://github.test/ann/app.git\n[url "file://${join(root, 'closed.git')}"]\n\tinsteadOf = https://github.test/ann/closed.git\n`,
  );
  github = await startFakeGitHub(GITHUB_TOKEN);
  const agent = join(root, 'agent.sh');
  writeFileSync(agent, 'echo "$NIGHTSHIFT_TASK_TITLE" >> CHANGES.md\nenv > agent-env.txt\n');
  stack = await startTestStack({ SANDBOX_COMMAND: `sh ${agent}`, GIT_CONFIG_GLOBAL: gitconfig, GITHUB_API_URL: github.url, GITHUB_TOKEN });
  token = await stack.token('ann');
}, 90_000);
afterAll(async () => {
  await stack?.stop();
  await github?.stop();
});

describe('push and pull requests for a remote repository', () => {
  it('pushes the branch and opens a draft pull request, recorded on the task; the token never reaches the agent', async () => {
    await call('PUT', '/api/v1/projects/remote-app', { repo_url: 'https://github.test/ann/app.git', push: true, pull_requests: true });
    const created = await call('POST', '/api/v1/tasks', { title: 'Add a changelog', project_id: 'remote-app' });
    const task = await finished(created.body.id);
    expect(task).toMatchObject({ status: 'completed', push_error: null, pull_request_url: 'https://github.test/ann/app/pull/1', fetch_command: `git fetch https://github.test/ann/app.git nightshift/${task.id}` });
    expect(git(join(root, 'app.git'), 'log', '-1', '--format=%an|%s', `nightshift/${task.id}`).trim()).toBe('Nightshift agent|Add a changelog');
    expect(github.pulls).toEqual([expect.objectContaining({ owner: 'ann', repo: 'app', head: `nightshift/${task.id}`, base: 'main', draft: true, title: 'Add a changelog' })]);
    const agentEnv = git(join(root, 'app.git'), 'show', `nightshift/${task.id}:agent-env.txt`);
    expect(agentEnv).not.toContain(GITHUB_TOKEN);
    expect(agentEnv).not.toContain('AWS_SECRET_ACCESS_KEY');
  });

  it('does not push a remote project without push, and opens no pull request', async () => {
    await call('PUT', '/api/v1/projects/quiet-app', { repo_url: 'https://github.test/ann/app.git' });
    const task = await finished((await call('POST', '/api/v1/tasks', { title: 'Stay local', project_id: 'quiet-app' })).body.id);
    expect(task).toMatchObject({ status: 'completed', pull_request_url: null, fetch_command: null });
    expect(() => git(join(root, 'app.git'), 'rev-parse', '--verify', '--quiet', `nightshift/${task.id}`)).toThrow();
    expect(task.diff_stat.files).toBe(2);
  });

  it('completes a task whose push is rejected, with the push error recorded and no pull request', async () => {
    await call('PUT', '/api/v1/projects/closed', { repo_url: 'https://github.test/ann/closed.git', push: true, pull_requests: true });
    const before = github.pulls.length;
    const task = await finished((await call('POST', '/api/v1/tasks', { title: 'Try to push', project_id: 'closed' })).body.id);
    expect(task.status).toBe('completed');
    expect(task.push_error).toContain('this repository takes no pushes');
    expect(task).toMatchObject({ pull_request_url: null, fetch_command: null, diff_url: `/api/v1/tasks/${task.id}/diff` });
    expect(github.pulls.length).toBe(before);
  });

  it('reuses a pull request that already exists for the branch instead of opening a second', async () => {
    const options = { apiUrl: github.url, token: GITHUB_TOKEN };
    const request = { repoUrl: 'git@github.test:ann/app.git', branch: 'nightshift/again', base: 'main', title: 'Again', body: '' };
    const first = await openDraftPullRequest(options, request);
    const second = await openDraftPullRequest(options, request);
    expect(second).toBe(first);
    expect(github.pulls.filter((pull) => pull.head === 'nightshift/again')).toHaveLength(1);
    await expect(openDraftPullRequest({ ...options, token: 'wrong' }, { ...request, branch: 'nightshift/other' })).rejects.toThrow(/HTTP 401/);
  });
});

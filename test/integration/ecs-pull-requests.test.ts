import { ECSClient, RunTaskCommand } from '@aws-sdk/client-ecs';
import { mockClient } from 'aws-sdk-client-mock';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { putProject } from '../../src/projects/projects.js';
import { projectPutSchema } from '../../src/projects/schemas.js';
import { setSandboxProvider } from '../../src/sandbox/current.js';
import { EcsSandboxProvider } from '../../src/sandbox/ecs-provider.js';
import { claimNextTasks } from '../../src/scheduling/claim.js';
import { spawnClaimedTask } from '../../src/scheduling/spawn.js';
import { createTask } from '../../src/tasks/create-task.js';
import { completeTask } from '../../src/tasks/finish-task.js';
import { taskCreateSchema } from '../../src/tasks/schemas.js';
import { getTask } from '../../src/tasks/task-store.js';
import { startFakeGitHub } from '../support/fake-github.js';
import { takeSpawnMessages, useFreshTable, type TestEnv } from '../support/local-env.js';

/**
 * ECS sandboxes push for themselves (sandbox/ecs-entry.mjs) but hold no GitHub token: when the
 * entry script reports git's result with the sandbox token, Nightshift opens the draft pull
 * request with its own token, through the same code as the other providers, against a fake
 * GitHub API on 127.0.0.1. RunTask is mocked; what the container would report is posted here.
 */

const ecs = mockClient(ECSClient);
const GITHUB_TOKEN = 'ghp_nightshift_own_token';
let github: Awaited<ReturnType<typeof startFakeGitHub>>;
let env: TestEnv;
let n = 0;
const base = '1'.repeat(40);
const head = '2'.repeat(40);

beforeAll(async () => {
  github = await startFakeGitHub(GITHUB_TOKEN);
});
afterAll(async () => {
  await github.stop();
});
beforeEach(async () => {
  env = await useFreshTable();
  ecs.reset();
  ecs.on(RunTaskCommand).callsFake((input: { startedBy?: string }) => ({ tasks: [{ taskArn: `arn:aws:ecs:eu-west-1:123456789012:task/nightshift/${input.startedBy}` }], failures: [] }));
  setSandboxProvider(
    new EcsSandboxProvider({
      cluster: 'nightshift',
      taskDefinition: 'nightshift-agent:1',
      containerName: 'agent',
      subnets: ['subnet-a'],
      securityGroups: ['sg-a'],
      client: new ECSClient({ region: 'eu-west-1' }),
      github: () => Promise.resolve({ apiUrl: github.url, token: GITHUB_TOKEN }),
    }),
  );
});

/** Queues a task on a GitHub project and starts it; answers the task and the container's environment. */
async function startOnProject(project: { push?: boolean; pull_requests?: boolean }) {
  const owner = `ecs-pr-${++n}-${Date.now()}`;
  const projectId = `app-${n}`;
  await putProject(owner, projectId, projectPutSchema.parse({ repo_url: `https://github.test/${owner}/app.git`, push: true, pull_requests: true, ...project }));
  const task = await createTask(owner, taskCreateSchema.parse({ title: 'Add a changelog', project_id: projectId }));
  await claimNextTasks({ now: () => new Date() });
  for (const message of await takeSpawnMessages(env.queues.spawnQueueUrl)) await spawnClaimedTask(message);
  const calls = ecs.commandCalls(RunTaskCommand);
  const environment = calls[calls.length - 1]?.args[0].input.overrides?.containerOverrides?.[0]?.environment ?? [];
  const container = Object.fromEntries(environment.map(({ name, value }) => [name ?? '', value ?? '']));
  return { owner, task, container };
}

const gitResult = (branch: string, pushError: string | null = null) => ({
  branch,
  base_commit: base,
  head_commit: head,
  diff_stat: { files: 1, insertions: 1, deletions: 0 },
  files_changed: ['CHANGES.md'],
  push_error: pushError,
});

describe('pull requests for ECS sandboxes', () => {
  it("opens a draft pull request with Nightshift's token when the entry script reports a pushed branch, and records its URL", async () => {
    const { owner, task, container } = await startOnProject({});
    expect(JSON.stringify(container)).not.toContain(GITHUB_TOKEN);
    const branch = `nightshift/${task.id}`;

    await completeTask(task.id, container.NIGHTSHIFT_SANDBOX_TOKEN ?? '', { status: 'completed', summary: 'Exited with code 0', repository: gitResult(branch) });

    const pull = github.pulls.find((candidate) => candidate.owner === owner);
    expect(pull).toMatchObject({ repo: 'app', head: branch, base: 'main', draft: true, title: 'Add a changelog' });
    expect(await getTask(task.id)).toMatchObject({ status: 'completed', pull_request_url: pull?.html_url, push_error: null, branch });
  });

  it('reuses the pull request that already exists for the branch instead of opening a second', async () => {
    const { owner, task, container } = await startOnProject({});
    const branch = `nightshift/${task.id}`;
    const opened = await fetch(`${github.url}/repos/${owner}/app/pulls`, {
      method: 'POST',
      headers: { authorization: `Bearer ${GITHUB_TOKEN}`, 'content-type': 'application/json' },
      body: JSON.stringify({ title: 'Earlier attempt', head: branch, base: 'main', draft: true }),
    });
    const existing = ((await opened.json()) as { html_url: string }).html_url;

    await completeTask(task.id, container.NIGHTSHIFT_SANDBOX_TOKEN ?? '', { status: 'completed', summary: 'Exited with code 0', repository: gitResult(branch) });

    expect(github.pulls.filter((pull) => pull.owner === owner)).toHaveLength(1);
    expect(await getTask(task.id)).toMatchObject({ status: 'completed', pull_request_url: existing });
  });

  it('completes a task whose push was rejected, with the push error recorded and no pull request', async () => {
    const { owner, task, container } = await startOnProject({});
    const requestsBefore = github.requests.length;

    await completeTask(task.id, container.NIGHTSHIFT_SANDBOX_TOKEN ?? '', { status: 'completed', summary: 'Exited with code 0', repository: gitResult(`nightshift/${task.id}`, 'remote: branch protected') });

    expect(await getTask(task.id)).toMatchObject({ status: 'completed', push_error: 'remote: branch protected', pull_request_url: null });
    expect(github.requests.length).toBe(requestsBefore);
    expect(github.pulls.filter((pull) => pull.owner === owner)).toEqual([]);
  });

  it('opens no pull request for a project without pull_requests, nor for an agent that claims git results with its own token', async () => {
    const quiet = await startOnProject({ pull_requests: false });
    await completeTask(quiet.task.id, quiet.container.NIGHTSHIFT_SANDBOX_TOKEN ?? '', { status: 'completed', summary: 'Exited with code 0', repository: gitResult(`nightshift/${quiet.task.id}`) });
    expect(await getTask(quiet.task.id)).toMatchObject({ status: 'completed', pull_request_url: null });

    const forged = await startOnProject({});
    await completeTask(forged.task.id, forged.container.NIGHTSHIFT_CALLBACK_TOKEN ?? '', { status: 'completed', summary: 'done', repository: gitResult(`nightshift/${forged.task.id}`) });
    expect(await getTask(forged.task.id)).toMatchObject({ status: 'running', pull_request_url: null });
    expect(github.pulls.filter((pull) => pull.owner === quiet.owner || pull.owner === forged.owner)).toEqual([]);
  });
});

import { beforeEach, describe, expect, it } from 'vitest';
import { claimNextTasks } from '../../src/scheduling/claim.js';
import { spawnClaimedTask } from '../../src/scheduling/spawn.js';
import { setSandboxProvider } from '../../src/sandbox/current.js';
import { taskCreateSchema } from '../../src/tasks/schemas.js';
import { completeTask } from '../../src/tasks/finish-task.js';
import { createTask } from '../../src/tasks/create-task.js';
import { getTask } from '../../src/tasks/task-store.js';
import { putProject } from '../../src/projects/projects.js';
import { projectPutSchema } from '../../src/projects/schemas.js';
import { RecordingSandboxProvider } from '../support/recording-provider.js';
import { takeSpawnMessages, useFreshTable, type TestEnv } from '../support/local-env.js';

class CheckoutProvider extends RecordingSandboxProvider {
  readonly supportsRepositories = true;
}

let env: TestEnv;
let n = 0;
const user = () => `repo-${++n}-${Date.now()}`;
const base = '1'.repeat(40);
const head = '2'.repeat(40);

async function queueOnProject(owner: string, projectId: string) {
  await putProject(owner, projectId, projectPutSchema.parse({ repo_url: '/srv/app.git', default_branch: 'trunk' }));
  const task = await createTask(owner, taskCreateSchema.parse({ title: 'Fix it', project_id: projectId }));
  await claimNextTasks({ now: () => new Date() });
  for (const message of await takeSpawnMessages(env.queues.spawnQueueUrl)) await spawnClaimedTask(message);
  return task;
}

beforeEach(async () => {
  env = await useFreshTable();
});

describe('repository tasks in the scheduler', () => {
  it('fails a task on a project at start when the sandbox provider cannot check out repositories', async () => {
    const provider = new RecordingSandboxProvider();
    setSandboxProvider(provider);
    const task = await queueOnProject(user(), 'p1');
    expect(provider.spawnCalls).toBe(0);
    expect(await getTask(task.id)).toMatchObject({ status: 'failed', failure_reason: expect.stringContaining('cannot check out repositories') });
  });

  it("hands the sandbox the checkout to make, keeps the agent's report until Nightshift's own, and takes files from git", async () => {
    const provider = new CheckoutProvider();
    setSandboxProvider(provider);
    const task = await queueOnProject(user(), 'p2');
    const request = [...provider.spawned.values()][0];
    expect(request?.task.repository).toEqual({ url: '/srv/app.git', baseRef: 'trunk', branch: `nightshift/${task.id}`, push: true, pullRequest: false });
    const token = provider.tokenFor(task.id);

    await completeTask(task.id, token, { status: 'completed', summary: 'I fixed it', files_changed: ['whatever.txt'] });
    await completeTask(task.id, token, { status: 'failed', error: 'second thoughts' }); // the first report counts
    expect(await getTask(task.id)).toMatchObject({ status: 'running' });

    const repository = { branch: `nightshift/${task.id}`, base_commit: base, head_commit: head, diff_stat: { files: 1, insertions: 4, deletions: 2 }, files_changed: ['src/fix.ts'], push_error: null };
    await completeTask(task.id, provider.sandboxTokenFor(task.id), { status: 'completed', summary: 'exit 0', source: 'sandbox', repository });
    expect(await getTask(task.id)).toMatchObject({
      status: 'completed',
      result_summary: 'I fixed it',
      files_changed: ['src/fix.ts'],
      branch: `nightshift/${task.id}`,
      base_commit: base,
      head_commit: head,
      diff_stat: { files: 1, insertions: 4, deletions: 2 },
    });
  });

  it("does not take an agent's report for git's, whatever source it claims: only the sandbox token ends the task", async () => {
    const provider = new CheckoutProvider();
    setSandboxProvider(provider);
    const task = await queueOnProject(user(), 'p3');
    const agentToken = provider.tokenFor(task.id);
    const forged = { branch: `nightshift/${task.id}`, base_commit: base, head_commit: head, diff_stat: { files: 9, insertions: 99, deletions: 0 }, files_changed: ['forged.txt'], push_error: null };

    await completeTask(task.id, agentToken, { status: 'completed', summary: 'trust me', files_changed: ['forged.txt'], source: 'sandbox', repository: forged });
    expect(await getTask(task.id)).toMatchObject({ status: 'running', files_changed: null, diff_stat: null, agent_report: { status: 'completed', summary: 'trust me' } });

    const real = { ...forged, diff_stat: { files: 1, insertions: 1, deletions: 0 }, files_changed: ['NOTES.md'] };
    await completeTask(task.id, provider.sandboxTokenFor(task.id), { status: 'completed', summary: 'exit 0', repository: real });
    expect(await getTask(task.id)).toMatchObject({ status: 'completed', result_summary: 'trust me', files_changed: ['NOTES.md'], diff_stat: { files: 1, insertions: 1, deletions: 0 } });
  });

  it('refuses a report made with a token of no attempt of the task', async () => {
    const provider = new CheckoutProvider();
    setSandboxProvider(provider);
    const task = await queueOnProject(user(), 'p4');
    await expect(completeTask(task.id, 'not-a-token-of-this-task', { status: 'completed', summary: 'x' })).rejects.toMatchObject({ code: 'UNAUTHORIZED' });
    expect((await getTask(task.id))?.agent_report ?? null).toBeNull();
  });
});

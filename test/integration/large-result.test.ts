import { beforeEach, describe, expect, it } from 'vitest';
import { claimNextTasks } from '../../src/scheduling/claim.js';
import { enqueueTasks, newTask } from '../../src/tasks/create-task.js';
import { completeTask } from '../../src/tasks/finish-task.js';
import { taskCreateSchema, taskResultSchema } from '../../src/tasks/schemas.js';
import { getTask } from '../../src/tasks/task-store.js';
import { takeSpawnMessages, useFreshTable, type TestEnv } from '../support/local-env.js';

let env: TestEnv;
beforeEach(async () => {
  env = await useFreshTable();
});

describe('a completion too large for one DynamoDB item', () => {
  it('is stored truncated with a marker, and the callback succeeds', async () => {
    // Prepare: a task with a long brief, claimed; its agent reports 1000 long file paths and a long summary.
    const now = new Date();
    // A large `input` (the create body may be up to 256 KB) leaves less room for the result.
    const brief = { notes: 'x'.repeat(150_000) };
    const task = newTask('ivan', taskCreateSchema.parse({ title: 'Rename everything', input: brief }), now);
    await enqueueTasks('ivan', [task], now);
    await claimNextTasks({ now: () => now });
    const [message] = await takeSpawnMessages(env.queues.spawnQueueUrl);
    const files = Array.from({ length: 1000 }, (_, i) => `src/${'deeply/nested/'.repeat(16)}file-${i}.ts`);
    const report = taskResultSchema.parse({ status: 'completed', summary: 's'.repeat(20_000), files_changed: files });

    // Act
    await completeTask(task.id, message?.callback_token ?? '', report, new Date(now.getTime() + 1000));

    // Assess
    const stored = await getTask(task.id);
    expect(stored?.status).toBe('completed');
    expect(stored?.result_truncated).toMatch(/files_changed: \d+ of 1000 not stored/);
    expect(stored?.files_changed?.length).toBeGreaterThan(0);
    expect(stored?.files_changed?.length).toBeLessThan(1000);
    expect(stored?.files_changed?.[0]).toBe(files[0]);
  });
});

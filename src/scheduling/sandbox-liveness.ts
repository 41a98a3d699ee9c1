import { getConfig } from '../platform/config.js';
import { logger } from '../platform/logger.js';
import { count } from '../platform/metrics.js';
import { currentSandboxProvider } from '../sandbox/current.js';
import type { LostSandbox } from '../sandbox/provider.js';
import type { Task } from '../tasks/task.js';
import { failActiveTask } from '../tasks/finish-task.js';
import { listRunningTasks } from '../tasks/task-store.js';

export const SANDBOX_LOST = 'sandbox lost';
/** A sandbox started this recently may not be visible to its provider yet (ECS is eventually consistent). */
export const LIVENESS_GRACE_MS = 30_000;
/** At most this many running tasks are checked per sweep (more than any deployment runs at once). */
const MAX_CHECKED = 5000;

export interface LivenessResult {
  lost: string[];
  failedItems: string[];
}

/**
 * When a lost sandbox was last alive: what the provider says, else the previous sweep (which
 * found it alive, or ran before it started), never before its start nor after `now`.
 */
function lastAlive(task: Task, lost: LostSandbox, now: Date): Date {
  const started = Date.parse(task.started_at ?? task.claimed_at ?? task.created_at);
  const previousSweep = now.getTime() - getConfig().timeoutCheckIntervalSeconds * 1000;
  const known = lost.lastAliveAt?.getTime() ?? previousSweep;
  return new Date(Math.min(now.getTime(), Math.max(started, known)));
}

/**
 * Asks the sandbox provider, in one batch, whether each running task's sandbox is still alive,
 * and fails those it reports gone with "sandbox lost", charging hours and credits up to when
 * the sandbox was last alive. A sandbox that reported meanwhile wins (the write is conditional).
 */
export async function failLostSandboxes(now: Date): Promise<LivenessResult> {
  const result: LivenessResult = { lost: [], failedItems: [] };
  const provider = currentSandboxProvider();
  if (!provider.lostSandboxes) return result;
  const settled = now.getTime() - LIVENESS_GRACE_MS;
  const running = (await listRunningTasks(MAX_CHECKED)).filter(
    (task) => task.sandbox_id && task.started_at && Date.parse(task.started_at) <= settled,
  );
  if (running.length === 0) return result;
  const bySandbox = new Map(running.map((task) => [task.sandbox_id as string, task]));
  let lost: LostSandbox[];
  try {
    lost = await provider.lostSandboxes([...bySandbox.keys()]);
  } catch (error) {
    logger.error('could not ask the sandbox provider which sandboxes are alive; asked again next sweep', { provider: provider.name, error });
    count('PassItemFailures');
    return result;
  }
  for (const gone of lost) {
    const task = bySandbox.get(gone.id);
    if (!task) continue;
    try {
      const expected = { status: 'running' as const, attempt: task.attempts, sandboxId: gone.id };
      if (await failActiveTask(task.id, SANDBOX_LOST, now, expected, lastAlive(task, gone, now))) result.lost.push(task.id);
    } catch (error) {
      result.failedItems.push(task.id);
      logger.error('could not fail a task whose sandbox is lost; retried next sweep', { id: task.id, error });
      count('PassItemFailures');
    }
  }
  return result;
}

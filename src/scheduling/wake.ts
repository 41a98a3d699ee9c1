import { wakeOrchestrator } from '../platform/queue/messages.js';
import type { UserAccount } from '../accounts/account.js';
import { schedulingStateNow } from '../accounts/user-store.js';

/**
 * Wakes the orchestrator for newly queued tasks: at once when any may start now, and once at
 * each distinct later `not_before`. The delay is measured from the moment of sending (not from
 * the request's start), so a slow write does not push the wake-up past not_before. The wake at
 * once names the tasks' owner; a timed wake names nobody (its pass promotes, then reads `ready`).
 *
 * `owner` is the owner's account as the queuing write left it. Limits are per user, so when it is
 * not ready (every slot taken, hours or credits used up, waiting for a time) no claim can start
 * now and there is no wake at once: the freed slot, the reset or the due index wakes the
 * orchestrator then, as for any of the owner's queued work.
 */
export async function wakeForQueuedTasks(tasks: readonly { user_id: string; not_before: string | null }[], reason: string, owner?: UserAccount): Promise<void> {
  const now = new Date().toISOString();
  const later = [...new Set(tasks.map((task) => task.not_before).filter((time): time is string => time !== null && time > now))].sort();
  // Tasks of one user (every caller's) name that user: their pass claims for them alone.
  const owners = new Set(tasks.map((task) => task.user_id));
  const userId = owners.size === 1 ? tasks[0]?.user_id : undefined;
  const startsNow = tasks.some((task) => task.not_before === null || task.not_before <= now);
  if (startsNow && (!owner || schedulingStateNow(owner, new Date()).kind === 'ready')) await wakeOrchestrator(reason, { userId });
  for (const at of later) await wakeOrchestrator('not-before', { at: new Date(at) });
}

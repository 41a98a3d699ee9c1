import { wakeOrchestrator } from '../platform/queue/messages.js';

/**
 * Wakes the orchestrator for newly queued tasks: at once when any may start now, and once at
 * each distinct later `not_before`. The delay is measured from the moment of sending (not from
 * the request's start), so a slow write does not push the wake-up past not_before.
 */
export async function wakeForQueuedTasks(tasks: readonly { not_before: string | null }[], reason: string): Promise<void> {
  const now = new Date().toISOString();
  const later = [...new Set(tasks.map((task) => task.not_before).filter((time): time is string => time !== null && time > now))].sort();
  if (tasks.some((task) => task.not_before === null || task.not_before <= now)) await wakeOrchestrator(reason);
  for (const at of later) await wakeOrchestrator('not-before', new Date(at));
}

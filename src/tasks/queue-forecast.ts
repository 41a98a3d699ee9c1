import type { Task } from './task.js';
import { listUserTasks } from './task-store.js';

/** The user's claimed and running tasks (the lanes they occupy). */
export async function activeTasksOf(userId: string): Promise<Task[]> {
  return (await listUserTasks(userId, { status: 'active', limit: 100 })).tasks;
}

/** The user's recent average run, in minutes, or null without history. */
export async function recentAverageMinutes(userId: string): Promise<number | null> {
  const { tasks } = await listUserTasks(userId, { status: 'completed', limit: 20 });
  const runs = tasks.map((task) => task.used_seconds ?? 0).filter((seconds) => seconds > 0);
  return runs.length === 0 ? null : runs.reduce((sum, seconds) => sum + seconds, 0) / runs.length / 60;
}

/** Minutes an active task may still take: its estimate (or `fallback`) less what it ran, never past its timeout. */
export function remainingMinutes(task: Task, fallback: number, now: Date): number {
  const started = Date.parse(task.started_at ?? task.claimed_at ?? now.toISOString());
  const left = Math.max(0, (task.estimated_minutes ?? fallback) - (now.getTime() - started) / 60_000);
  return task.timeout_at ? Math.min(left, Math.max(0, (Date.parse(task.timeout_at) - now.getTime()) / 60_000)) : left;
}

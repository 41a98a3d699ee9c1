import { getConfig } from '../platform/config.js';
import { logger } from '../platform/logger.js';
import { count } from '../platform/metrics.js';
import type { Task } from '../tasks/task.js';
import { wakeOrchestrator } from '../platform/queue/messages.js';
import { failActiveTask, finishedTask, terminateSandbox } from '../tasks/finish-task.js';
import { transitionTask } from '../tasks/transition.js';
import { finishOccurrence } from '../batches/materialize.js';
import { listStalledOccurrences } from '../batches/batch-store.js';
import { listDueActiveTasks } from '../tasks/task-store.js';
import { promoteDueUsers, refileUnshardedUsers } from './claim.js';
import { failLostSandboxes } from './sandbox-liveness.js';
import { handleUnleasedDeviceTask } from '../routing/unleased-device-work.js';

/** Stale claims are retried this many times before the task fails. */
export const MAX_CLAIM_ATTEMPTS = 3;

export interface SweepResult {
  timedOut: string[];
  requeued: string[];
  failedStale: string[];
  /** Device work not leased in time, now queued for the cloud. */
  rerouted: string[];
  /** `local` work no device leased within LOCAL_MAX_WAIT. */
  failedNoDevice: string[];
  /** Running tasks whose sandbox the provider reports gone, failed "sandbox lost". */
  lostSandboxes: string[];
  /** Tasks (or batch runs) this pass could not handle; logged with the id, retried next pass. */
  failedItems: string[];
  promoted: number;
  /** Users re-filed from the unsharded scheduler keys into their shards (accounts last written before sharding). */
  refiled: number;
  /** Batch runs whose second write was lost (a crash between the two) and are now complete. */
  resumedOccurrences: number;
}

/**
 * Timeouts, stale claims, lost sandboxes: a running task past `timeout_at` is terminated and
 * failed `Timeout` (its hours charged); a task claimed longer than the stale threshold without
 * starting goes back to pending, and fails after MAX_CLAIM_ATTEMPTS. Each freed slot wakes the
 * orchestrator.
 */
export async function sweep(now = new Date(), limit = 100): Promise<SweepResult> {
  const result: SweepResult = { timedOut: [], requeued: [], failedStale: [], rerouted: [], failedNoDevice: [], lostSandboxes: [], failedItems: [], promoted: 0, refiled: 0, resumedOccurrences: 0 };
  for (const candidate of await listDueActiveTasks(now, limit)) {
    if ('unreadable' in candidate) {
      passItemFailed(result, candidate.id, 'task', candidate.unreadable);
      continue;
    }
    try {
      await sweepTask(candidate, now, result);
    } catch (error) {
      // One bad task never aborts the pass: it stays on the due index and is looked at next pass.
      passItemFailed(result, candidate.id, 'task', error);
    }
  }
  const liveness = await failLostSandboxes(now);
  result.lostSandboxes.push(...liveness.lost);
  result.failedItems.push(...liveness.failedItems);
  // Users still under the unsharded keys first, so that those already due are promoted just below.
  result.refiled = await refileUnshardedUsers(now);
  result.promoted = await promoteDueUsers(now);
  // A batch run is written in two steps; finish any whose second step was lost 30 s ago or more.
  for (const stalled of await listStalledOccurrences(new Date(now.getTime() - 30_000), limit)) {
    try {
      if ((await finishOccurrence(stalled.batchId, stalled.key)).length > 0) result.resumedOccurrences += 1;
    } catch (error) {
      passItemFailed(result, `${stalled.batchId}/${stalled.key}`, 'batch run', error);
    }
  }
  if (result.requeued.length + result.promoted + result.refiled + result.resumedOccurrences > 0) await wakeOrchestrator('sweeper');
  return result;
}

function passItemFailed(result: SweepResult, id: string, what: string, error: unknown): void {
  result.failedItems.push(id);
  logger.error(`sweep could not handle a ${what}; retried next pass`, { id, error });
  count('PassItemFailures');
}

async function sweepTask(candidate: Task, now: Date, result: SweepResult): Promise<void> {
  const staleMs = getConfig().staleClaimingThresholdSeconds * 1000;
  if (candidate.status === 'pending') {
    const outcome = await handleUnleasedDeviceTask(candidate, now);
    if (outcome === 'rerouted') result.rerouted.push(candidate.id);
    if (outcome === 'failed') result.failedNoDevice.push(candidate.id);
    return;
  }
  if (candidate.status === 'running' && candidate.timeout_at && candidate.timeout_at <= now.toISOString()) {
    if (await failActiveTask(candidate.id, 'Timeout', now, { status: 'running', attempt: candidate.attempts })) {
      result.timedOut.push(candidate.id);
    }
    return;
  }
  if (candidate.status !== 'claimed' || !candidate.claimed_at) return;
  if (Date.parse(candidate.claimed_at) + staleMs > now.getTime()) return;
  if (candidate.attempts >= MAX_CLAIM_ATTEMPTS) {
    const reason = `No sandbox started after ${candidate.attempts} claims; giving up`;
    if (await failActiveTask(candidate.id, reason, now, { status: 'claimed', attempt: candidate.attempts })) {
      result.failedStale.push(candidate.id);
    }
    return;
  }
  const transition = await transitionTask(candidate, now, (task) => {
    if (task.status !== 'claimed' || task.attempts !== candidate.attempts) return null;
    return {
      ...finishedTask(task, now, { status: 'pending' }),
      completed_at: null,
      claimed_at: null,
      // The earlier attempts' total stays; this claim used no agent time.
      used_seconds: task.used_seconds ?? null,
      reserved_seconds: null,
      hours_window: null,
      callback_token_hash: null,
    };
  });
  if (transition) {
    await terminateSandbox(transition.before);
    logger.warn('stale claim returned to pending', { task_id: candidate.id, user_id: candidate.user_id, attempts: candidate.attempts });
    result.requeued.push(candidate.id);
  }
}

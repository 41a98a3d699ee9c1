import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomUUID } from 'node:crypto';
import type { Task } from '../../src/tasks/task.js';
import { TERMINAL_STATUSES } from '../../src/tasks/task.js';
import { setSandboxProvider } from '../../src/sandbox/current.js';
import { getTask } from '../../src/tasks/task-store.js';
import { signLocalToken } from '../local/local-auth.js';
import { startLocalStack } from '../local/stack.js';
import type { EmulatorEndpoints } from './environment.js';
import { distribution, mapLimit, type Distribution } from './stats.js';

export interface LatencyConfig {
  /** Tasks created one after another, each by a user with nothing else queued. */
  creations: number;
  /** Free-plan users (one slot each) who queue `tasksPerUser` tasks at once. */
  slotUsers: number;
  tasksPerUser: number;
  /**
   * Creations (and then a slot round of `slotUsers` users with `tasksPerUser` tasks each) run first on the same
   * stack and not counted: the first lifecycles of a fresh stack time V8 compiling the handlers and
   * DynamoDB Local preparing its statements for the new tables, which a deployed system pays once
   * per container, not per task. 0: none (the figures are then a cold stack's).
   */
  warmupCreations: number;
  timeoutMs: number;
}

export interface LatencyResult {
  createdToClaimed: Distribution;
  slotFreedToClaimed: Distribution;
  /** The warm-up's own figures (not in the rows' values; their notes say them). Null without a warm-up. */
  warmup: { createdToClaimed: Distribution; slotFreedToClaimed: Distribution } | null;
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

async function waitForTerminal(ids: string[], deadline: number): Promise<Task[]> {
  for (;;) {
    const tasks = await mapLimit(ids, 8, async (id) => getTask(id));
    const done = tasks.filter((task): task is Task => task !== null && TERMINAL_STATUSES.has(task.status));
    if (done.length === ids.length) return done;
    if (Date.now() > deadline) throw new Error(`only ${done.length} of ${ids.length} tasks finished in time`);
    await sleep(250);
  }
}

/**
 * Latency on the whole local stack over HTTP (API adapter, wake queue, orchestrator, spawner,
 * `process` sandboxes running `true`, callbacks): from the moment a create request is sent to the
 * task's `claimed_at`, and from a task's `completed_at` (its slot freed) to the claim of the same
 * user's next task. The orchestrator's timer is set to 30 s so that only the wake path is measured.
 */
export async function measureHttpLatency(endpoints: EmulatorEndpoints, config: LatencyConfig, log: (line: string) => void): Promise<LatencyResult> {
  Object.assign(process.env, { SANDBOX_PROVIDER: 'process', SANDBOX_COMMAND: 'true', POLL_INTERVAL: '30' });
  const dataDir = mkdtempSync(join(tmpdir(), 'nightshift-bench-'));
  const stack = await startLocalStack({ port: 0, dataDir, persist: false, endpoints, namePrefix: `l${randomUUID().slice(0, 8)}`, waitTimeSeconds: 2 });
  const post = async (userId: string, title: string): Promise<string> => {
    const token = await signLocalToken(stack.secret, userId);
    const response = await fetch(`${stack.url}/api/v1/tasks`, {
      method: 'POST',
      headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
      body: JSON.stringify({ title, description: 'latency bench' }),
    });
    const body = (await response.json()) as { id?: string };
    if (response.status !== 201 || !body.id) throw new Error(`create answered ${response.status}`);
    return body.id;
  };
  /** Creations one after another, then `slotUsers` users queueing `tasksPerUser` each at once; users named from `prefix`. */
  const measure = async (prefix: string, creations: number, tasksPerUser: number) => {
    const deadline = Date.now() + config.timeoutMs;
    const sentAt = new Map<string, number>();
    for (let i = 0; i < creations; i++) {
      const started = Date.now();
      sentAt.set(await post(`${prefix}latency-${i}`, `latency ${i}`), started);
      await sleep(50);
    }
    const created = await waitForTerminal([...sentAt.keys()], deadline);
    const toClaimed = created.map((task) => Date.parse(task.claimed_at ?? '') - (sentAt.get(task.id) ?? 0));

    const queued = await Promise.all(
      Array.from({ length: config.slotUsers }, async (_, u) => {
        const ids: string[] = [];
        for (let n = 0; n < tasksPerUser; n++) ids.push(await post(`${prefix}slot-${u}`, `slot ${u}.${n}`));
        return ids;
      }),
    );
    const gaps: number[] = [];
    for (const ids of queued) {
      const tasks = (await waitForTerminal(ids, deadline)).sort((a, b) => String(a.claimed_at).localeCompare(String(b.claimed_at)));
      for (let n = 1; n < tasks.length; n++) {
        gaps.push(Date.parse(tasks[n]?.claimed_at ?? '') - Date.parse(tasks[n - 1]?.completed_at ?? ''));
      }
    }
    return { createdToClaimed: distribution(toClaimed), slotFreedToClaimed: distribution(gaps) };
  };
  try {
    let warmup: LatencyResult['warmup'] = null;
    if (config.warmupCreations > 0) {
      warmup = await measure('warmup-', config.warmupCreations, config.tasksPerUser);
      log(`  warm-up (not counted): ${warmup.createdToClaimed.count} creations, ${warmup.slotFreedToClaimed.count} freed slots`);
    }
    const measured = await measure('', config.creations, config.tasksPerUser);
    log(`  ${measured.createdToClaimed.count} creations claimed, ${measured.slotFreedToClaimed.count} freed slots refilled`);
    return { ...measured, warmup };
  } finally {
    await stack.stop();
    setSandboxProvider(undefined);
    rmSync(dataDir, { recursive: true, force: true });
  }
}

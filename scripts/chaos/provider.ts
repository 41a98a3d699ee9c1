import { SandboxSpawnError, type Sandbox, type SandboxProvider, type SpawnRequest } from '../../src/sandbox/provider.js';
import type { Random } from './random.js';

/** What a simulated agent does once started. */
export type SandboxBehaviour = 'completes' | 'fails' | 'never-reports' | 'reports-twice' | 'overruns';

export type SandboxEnd = 'reported' | 'terminated' | 'own-timeout';

export interface ChaosSandbox {
  id: string;
  taskId: string;
  attempt: number;
  token: string;
  behaviour: SandboxBehaviour;
  /** Virtual times (ms). */
  spawnedAt: number;
  reportAt: number;
  killAt: number;
  /** Global event order: when it came alive and when it stopped. */
  startSeq: number;
  endSeq: number | null;
  endReason: SandboxEnd | null;
  /** A report that was already on the wire when the sandbox was stopped (delivered late). */
  lateReport: boolean;
}

/** The spawner died after the provider started the sandbox, before the task was marked running. */
export class SpawnerCrashError extends Error {
  constructor(sandboxId: string) {
    super(`spawner crashed after starting ${sandboxId}`);
    this.name = 'SpawnerCrashError';
  }
}

export interface ChaosProviderOdds {
  /** A spawn fails before anything starts (SQS retries it). */
  failBeforeSpawn: number;
  /** The spawner crashes right after the sandbox started. */
  crashAfterSpawn: number;
}

export const CALM: ChaosProviderOdds = { failBeforeSpawn: 0, crashAfterSpawn: 0 };

/** Global order of events across the harness (provider and checks share it). */
export class Sequence {
  private value = 0;
  next(): number {
    return ++this.value;
  }
}

/**
 * A sandbox provider whose sandboxes are simulated agents on the harness's virtual clock.
 * Idempotent per task attempt, like the real ones. It remembers when each sandbox was alive, so
 * the checker can see two live sandboxes of one task, or a sandbox left running for a task
 * that no longer wants it.
 */
export class ChaosSandboxProvider implements SandboxProvider {
  readonly name = 'chaos';
  readonly sandboxes = new Map<string, ChaosSandbox>();
  odds: ChaosProviderOdds = CALM;
  now = new Date(0);
  spawnCalls = 0;
  terminateCalls = 0;

  constructor(
    private readonly random: Random,
    private readonly sequence: Sequence,
    private readonly trace: (line: string) => void = () => undefined,
  ) {}

  async spawn(request: SpawnRequest): Promise<Sandbox> {
    this.spawnCalls += 1;
    const id = `chaos-${request.task.id}-${request.task.attempt}`;
    if (!this.sandboxes.has(id)) {
      if (this.random.chance(this.odds.failBeforeSpawn)) throw new SandboxSpawnError('provider unavailable (chaos)');
      const behaviour = this.random.weighted<SandboxBehaviour>({ completes: 45, fails: 12, 'never-reports': 13, 'reports-twice': 15, overruns: 15 });
      const spawnedAt = this.now.getTime();
      const killAt = spawnedAt + request.timeoutSeconds * 1000;
      const runFor = this.random.int(5, Math.max(6, Math.floor(request.timeoutSeconds * 0.9))) * 1000;
      this.sandboxes.set(id, {
        id,
        taskId: request.task.id,
        attempt: request.task.attempt,
        token: request.callbackToken,
        behaviour,
        spawnedAt,
        reportAt: behaviour === 'never-reports' || behaviour === 'overruns' ? Number.POSITIVE_INFINITY : spawnedAt + runFor,
        killAt,
        startSeq: this.sequence.next(),
        endSeq: null,
        endReason: null,
        lateReport: false,
      });
      this.trace(`sandbox ${id} started (${behaviour}, killed at ${new Date(killAt).toISOString()})`);
    }
    if (this.random.chance(this.odds.crashAfterSpawn)) throw new SpawnerCrashError(id);
    return { id };
  }

  async terminate(sandboxId: string): Promise<void> {
    this.terminateCalls += 1;
    const sandbox = this.sandboxes.get(sandboxId);
    if (!sandbox || sandbox.endSeq !== null) return;
    // A report sent just before the kill still arrives: a late callback.
    const reportingSoon = sandbox.reportAt - this.now.getTime() < 60_000;
    this.end(sandbox, 'terminated');
    sandbox.lateReport = reportingSoon && this.random.chance(0.5);
  }

  async terminateAttempt(task: { id: string; attempt: number }): Promise<void> {
    await this.terminate(`chaos-${task.id}-${task.attempt}`);
  }

  end(sandbox: ChaosSandbox, reason: SandboxEnd): void {
    if (sandbox.endSeq !== null) return;
    sandbox.endSeq = this.sequence.next();
    sandbox.endReason = reason;
    this.trace(`sandbox ${sandbox.id} ended: ${reason}`);
  }

  live(): ChaosSandbox[] {
    return [...this.sandboxes.values()].filter((sandbox) => sandbox.endSeq === null);
  }
}

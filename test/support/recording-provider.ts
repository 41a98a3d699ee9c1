import type { Sandbox, SandboxProvider, SpawnRequest } from '../../src/sandbox/provider.js';

/** A sandbox provider that records calls (idempotent per task attempt, like the real ones). */
export class RecordingSandboxProvider implements SandboxProvider {
  readonly name = 'recording';
  readonly spawned = new Map<string, SpawnRequest>();
  readonly terminated: string[] = [];
  spawnCalls = 0;
  failNextSpawns = 0;
  failNextTerminates = 0;

  async spawn(request: SpawnRequest): Promise<Sandbox> {
    this.spawnCalls += 1;
    if (this.failNextSpawns > 0) {
      this.failNextSpawns -= 1;
      throw new Error('provider unavailable');
    }
    const id = `rec-${request.task.id}-${request.task.attempt}`;
    if (!this.spawned.has(id)) this.spawned.set(id, request);
    return { id };
  }

  async terminate(sandboxId: string): Promise<void> {
    if (this.failNextTerminates > 0) {
      this.failNextTerminates -= 1;
      throw new Error('provider unavailable');
    }
    this.terminated.push(sandboxId);
  }

  async terminateAttempt(task: { id: string; attempt: number }): Promise<void> {
    const id = `rec-${task.id}-${task.attempt}`;
    if (this.spawned.has(id)) this.terminated.push(id);
  }

  /** The callback token handed to the sandbox of a task's latest attempt. */
  tokenFor(taskId: string): string {
    return this.latest(taskId).callbackToken;
  }

  /** The sandbox wrapper's own token of a task's latest attempt (never given to the agent). */
  sandboxTokenFor(taskId: string): string {
    const token = this.latest(taskId).sandboxToken;
    if (!token) throw new Error(`task ${taskId} was spawned without a sandbox token`);
    return token;
  }

  private latest(taskId: string): SpawnRequest {
    const requests = [...this.spawned.values()].filter((r) => r.task.id === taskId);
    const latest = requests.sort((a, b) => b.task.attempt - a.task.attempt)[0];
    if (!latest) throw new Error(`task ${taskId} was never spawned`);
    return latest;
  }
}

import type { Task } from '../tasks/task.js';

/**
 * What one orchestrator remembers between claims about a user it has just claimed for: the
 * tasks that came next in that user's queue when the claim read it, and the account's queue
 * version its claim wrote. Every change that could put another task ahead in the queue, or take
 * one out (a create, a claim, a cancel, a retry, a stale claim returned, a batch run's tasks, a
 * re-route), moves the queue version (accounts/account.ts); a task finishing or starting does not.
 * While the version is unchanged the remembered head is the head, and the next claim for the user
 * needs no read of the queue: the round reads the accounts of such users in one BatchGetItem and
 * each claim is then the transaction alone, its conditions (the account's version, the task still
 * pending at the same attempt) keeping it exact. When the version moved because another
 * orchestrator claimed for the user since (a later `last_served_at`), the user counts as served
 * this round; when anything else moved it, the claim reads afresh as it always did.
 *
 * Held per orchestrator (one per Lambda container, one per loop in the bench and the chaos
 * harness), never shared. Entries age out after `maxAgeMs`; past `maxUsers`, or past `maxBytes`
 * of remembered tasks (a task's input may be 250 KB), the oldest go first.
 */
export interface QueueHead {
  /** The account's queue version the remembering claim wrote. */
  queueVersion: number;
  /** The account's `last_served_at` that claim wrote: a later one means someone else claimed for the user since. */
  servedAt: string;
  /** Pending tasks next in claim order, each claimable as it stood (not a device's, no later not_before). */
  tasks: Task[];
  rememberedAt: number;
  /** About what the tasks take in memory (their JSON length). */
  bytes: number;
}

export class QueueHeads {
  private readonly heads = new Map<string, QueueHead>();
  private table: string | undefined;
  private bytes = 0;

  constructor(
    private readonly maxAgeMs = 30_000,
    private readonly maxUsers = 10_000,
    private readonly maxBytes = 16 * 1024 * 1024,
  ) {}

  /** The table the heads are of: another one (a test's fresh table, a redeploy) forgets them all. */
  useTable(table: string): void {
    if (table !== this.table) this.clear();
    this.table = table;
  }

  /**
   * Whether a usable head is remembered for the user (a pass prefers such users within a tie).
   * `servedAt`, when given, is the user's `last_served_at` as the `ready` index shows it: a later
   * claim than the remembering one (another orchestrator's) moved the queue, so the head is of no
   * use, and preferring the user would only send this orchestrator after the other's users.
   */
  has(userId: string, nowMs: number, servedAt?: string | null): boolean {
    const head = this.heads.get(userId);
    if (head === undefined || nowMs - head.rememberedAt > this.maxAgeMs) return false;
    return servedAt === undefined || servedAt === head.servedAt;
  }

  /** The user's remembered head, forgotten as it is taken (a claim from it remembers the rest). */
  take(userId: string, nowMs: number): QueueHead | undefined {
    const head = this.heads.get(userId);
    if (!head) return undefined;
    this.forget(userId);
    return nowMs - head.rememberedAt <= this.maxAgeMs ? head : undefined;
  }

  remember(userId: string, head: { queueVersion: number; servedAt: string; tasks: Task[] }, nowMs: number): void {
    this.forget(userId);
    if (head.tasks.length === 0) return;
    const bytes = JSON.stringify(head.tasks).length;
    if (bytes > this.maxBytes) return;
    this.heads.set(userId, { ...head, rememberedAt: nowMs, bytes });
    this.bytes += bytes;
    while (this.heads.size > this.maxUsers || this.bytes > this.maxBytes) {
      const oldest = this.heads.keys().next();
      if (oldest.done) break;
      this.forget(oldest.value);
    }
  }

  get size(): number {
    return this.heads.size;
  }

  /** About how many bytes the remembered tasks take. */
  get heldBytes(): number {
    return this.bytes;
  }

  private forget(userId: string): void {
    const head = this.heads.get(userId);
    if (!head) return;
    this.heads.delete(userId);
    this.bytes -= head.bytes;
  }

  private clear(): void {
    this.heads.clear();
    this.bytes = 0;
  }
}

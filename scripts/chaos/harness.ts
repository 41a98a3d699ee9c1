import { ChangeMessageVisibilityCommand, DeleteMessageCommand, ReceiveMessageCommand, SendMessageCommand, type Message } from '@aws-sdk/client-sqs';
import { ScanCommand } from '@aws-sdk/lib-dynamodb';
import { ddb, sqs } from '../../src/platform/aws.js';
import { getConfig } from '../../src/platform/config.js';
import { creditsToUnits } from '../../src/credits/pricing.js';
import { billingWindow } from '../../src/accounts/billing-window.js';
import type { PlanName } from '../../src/accounts/plans.js';
import { ACTIVE_STATUSES, TERMINAL_STATUSES, type Task } from '../../src/tasks/task.js';
import type { UserAccount } from '../../src/accounts/account.js';
import { DomainError } from '../../src/platform/errors.js';
import { claimNextTasks } from '../../src/scheduling/claim.js';
import { QueueHeads } from '../../src/scheduling/queue-heads.js';
import { failUnspawnableTask, spawnClaimedTask } from '../../src/scheduling/spawn.js';
import { sweep } from '../../src/scheduling/sweep.js';
import { spawnMessageSchema } from '../../src/platform/queue/messages.js';
import { setSandboxProvider } from '../../src/sandbox/current.js';
import { spacePutSchema } from '../../src/spaces/schemas.js';
import { taskCreateSchema } from '../../src/tasks/schemas.js';
import { creditChargeItems } from '../../src/credits/charges.js';
import { putSpace } from '../../src/spaces/spaces.js';
import { cancelTask, completeTask } from '../../src/tasks/finish-task.js';
import { createTask } from '../../src/tasks/create-task.js';
import { updateUserAccount } from '../../src/accounts/limits.js';
import { fromItem, getTask, listUserTasks } from '../../src/tasks/task-store.js';
import { isStorageBusy } from '../../src/platform/dynamodb/transact.js';
import { startEmulators, useFreshTable, type EmulatorEndpoints, type FreshTable } from '../bench/environment.js';
import { checkInvariants, VIOLATION_KINDS, type ChaosCheck, type ChaosData, type LedgerRow, type UsageCounter } from './checker.js';
import { ChaosSandboxProvider, Sequence, SpawnerCrashError, type ChaosProviderOdds, type ChaosSandbox } from './provider.js';
import { Random } from './random.js';
import { TransactionTimeline } from './timeline.js';
import { LaggedIndexView, Throttling, type LagStats, type ThrottleKind } from './ddb-faults.js';

export interface ChaosOptions {
  seed: number;
  users: number;
  tasks: number;
  steps: number;
  /** Use running emulators (the test suite's) instead of starting this run's own. */
  endpoints?: EmulatorEndpoints;
  /** One line per action, for following a reproduction. */
  trace?: (line: string) => void;
  log?: (line: string) => void;
  /** DynamoDB faults DynamoDB Local never shows; all on unless told otherwise. */
  faults?: Partial<ChaosFaults>;
}

/** Which DynamoDB faults a run injects during its chaotic steps (the final drain runs without). */
export interface ChaosFaults {
  /** Queries on the pending, ready and due indexes served from a view a few seconds behind. */
  laggedIndexes: boolean;
  /** A share of calls fail throttled or with a TransactionConflict cancellation. */
  throttling: boolean;
}

export const ALL_FAULTS: ChaosFaults = { laggedIndexes: true, throttling: true };
/** Share of pending/ready/due queries served lagged, and how far behind (virtual seconds). */
const LAG = { share: 0.5, minLagSeconds: 1, maxLagSeconds: 10 };
/** Share of DynamoDB calls throttled (as seen once the SDK's own retries are spent). */
const THROTTLE_SHARE = 0.03;

export const DEFAULT_CHAOS: Omit<ChaosOptions, 'seed'> = { users: 5, tasks: 40, steps: 100 };

/** What the run did (so a reader can tell the chaos actually happened), beside what the checker found. */
export interface ChaosStats {
  created: number;
  rejected: Record<string, number>;
  claims: number;
  orchestratorPasses: number;
  /** Claims made from an orchestrator's remembered queue head (the transaction alone). */
  claimsFromQueueHeads: number;
  spawnOutcomes: Record<string, number>;
  spawnerCrashes: number;
  providerFailures: number;
  droppedMessages: number;
  duplicatedDeliveries: number;
  redeliveries: number;
  resentMessages: number;
  deadLetters: number;
  reports: number;
  duplicateReports: number;
  lateReports: number;
  rejectedReports: number;
  cancels: number;
  adminChanges: number;
  timedOut: number;
  staleRequeued: number;
  staleFailed: number;
  /** Requests that failed because storage was busy (an API answers 503 with Retry-After; SQS retries), by where. */
  storageBusy: Record<string, number>;
  /** How often each injected DynamoDB fault fired. */
  faults: { enabled: ChaosFaults; laggedIndex: LagStats; throttled: Record<ThrottleKind, number> };
  /** Errors nobody should see (a 500 in the API); listed, not counted as invariant violations. */
  unexpected: string[];
}

export interface ChaosReport {
  options: { seed: number; users: number; tasks: number; steps: number };
  virtualStart: string;
  virtualEnd: string;
  drainRounds: number;
  stats: ChaosStats;
  check: ChaosCheck;
  violations: number;
}

const SPACE_ID = 'chaos-team';
const SPACE_OWNER = 'chaos-owner';
const STALE_SECONDS = 30;
const MAX_PENDING = 10;
const ACTIONS = { create: 3, orchestrate: 3, spawner: 3, sandboxes: 2.5, sweep: 1.2, cancel: 0.8, admin: 0.4, dlq: 0.5 } as const;
type Action = keyof typeof ACTIONS;
const CHAOTIC: ChaosProviderOdds = { failBeforeSpawn: 0.08, crashAfterSpawn: 0.12 };

const newStats = (): ChaosStats => ({
  created: 0,
  rejected: {},
  claims: 0,
  orchestratorPasses: 0,
  claimsFromQueueHeads: 0,
  spawnOutcomes: {},
  spawnerCrashes: 0,
  providerFailures: 0,
  droppedMessages: 0,
  duplicatedDeliveries: 0,
  redeliveries: 0,
  resentMessages: 0,
  deadLetters: 0,
  reports: 0,
  duplicateReports: 0,
  lateReports: 0,
  rejectedReports: 0,
  cancels: 0,
  adminChanges: 0,
  timedOut: 0,
  staleRequeued: 0,
  staleFailed: 0,
  storageBusy: {},
  faults: {
    enabled: { laggedIndexes: false, throttling: false },
    laggedIndex: { served: 0, differed: 0 },
    throttled: { ProvisionedThroughputExceededException: 0, ThrottlingException: 0, TransactionConflict: 0 },
  },
  unexpected: [],
});

/** A virtual start near a month's end half of the time, so billing windows roll during runs. */
function virtualStart(random: Random): Date {
  const month = random.int(0, 11);
  if (random.chance(0.5)) {
    const nextMonth = Date.UTC(2026, month + 1, 1);
    return new Date(nextMonth - random.int(5, 50) * 60_000);
  }
  return new Date(Date.UTC(2026, month, random.int(2, 26), random.int(0, 23), random.int(0, 59)));
}

/** One chaos run, driven by the seed. See scripts/chaos.ts for the command. */
class ChaosRun {
  readonly random: Random;
  readonly sequence = new Sequence();
  readonly provider: ChaosSandboxProvider;
  readonly timeline = new TransactionTimeline();
  readonly stats = newStats();
  readonly users: string[];
  readonly taskIds: string[] = [];
  readonly orphans = new Map<string, string>();
  readonly creditLimitUnits = new Map<string, number>();
  /** Each orchestrator's own memory of queue heads, kept across steps as a warm container keeps it. */
  readonly queueHeads = Array.from({ length: 4 }, () => new QueueHeads());
  now: Date;
  private spaceReady = false;
  private requested = 0;
  /** Steps left in a provider outage (every spawn fails, so messages end in the DLQ). */
  private outage = 0;
  private laggedIndex?: LaggedIndexView;
  private throttling?: Throttling;
  private readonly uninstall: (() => void)[] = [];

  constructor(
    readonly options: ChaosOptions,
    readonly env: FreshTable,
  ) {
    this.random = new Random(options.seed);
    this.provider = new ChaosSandboxProvider(this.random.fork(), this.sequence, (line) => this.trace(line));
    this.users = Array.from({ length: options.users }, (_, i) => `chaos-u${i}`);
    this.now = virtualStart(this.random);
  }

  /** Installs the DynamoDB faults (after setup: the run's users and space exist on every view). */
  installFaults(faults: ChaosFaults): void {
    this.stats.faults.enabled = faults;
    // Every write is recorded from the start, so the lagged view knows each item's history.
    if (faults.laggedIndexes) {
      this.laggedIndex = new LaggedIndexView({ now: () => this.now, random: this.random.fork(), ...LAG });
      this.uninstall.push(this.laggedIndex.install());
    }
    if (faults.throttling) {
      this.throttling = new Throttling({ random: this.random.fork(), share: THROTTLE_SHARE });
      this.uninstall.push(this.throttling.install());
    }
    this.faultsOn(false);
  }

  /** Faults apply to the system under test, not to the harness's own bookkeeping reads. */
  faultsOn(on: boolean): void {
    if (this.laggedIndex) this.laggedIndex.enabled = on;
    if (this.throttling) this.throttling.enabled = on;
  }

  removeFaults(): void {
    if (this.laggedIndex) this.stats.faults.laggedIndex = { ...this.laggedIndex.stats };
    if (this.laggedIndex?.recordFailures.length) this.options.log?.(`chaos: ${this.laggedIndex.recordFailures.length} writes not read back for the lagged view, e.g. ${this.laggedIndex.recordFailures[0]}`);
    if (this.throttling) this.stats.faults.throttled = { ...this.throttling.fired };
    for (const remove of this.uninstall.splice(0)) remove();
  }

  private trace(line: string): void {
    this.options.trace?.(`[${this.now.toISOString()}] ${line}`);
  }

  /** Expected refusals are counted; anything else is a finding for people. */
  private noteFailure(error: unknown, where: string): void {
    if (error instanceof DomainError) {
      this.stats.rejected[`${where}:${error.code}`] = (this.stats.rejected[`${where}:${error.code}`] ?? 0) + 1;
      return;
    }
    if (isStorageBusy(error)) {
      this.stats.storageBusy[where] = (this.stats.storageBusy[where] ?? 0) + 1;
      this.trace(`${where}: storage busy (${error instanceof Error ? error.name : String(error)})`);
      return;
    }
    const text = `${where}: ${String(error)}`;
    this.stats.unexpected.push(text);
    this.trace(`UNEXPECTED ${text}`);
  }

  async setup(): Promise<void> {
    const random = this.random.fork();
    for (const userId of this.users) {
      const plan = random.pick<PlanName>(['free', 'free', 'pro', 'team']);
      const overrides: UserAccount['overrides'] = {};
      if (random.chance(0.6)) overrides.max_task_duration_minutes = random.int(2, 12);
      if (random.chance(0.4)) overrides.monthly_agent_hours = random.pick([0.1, 0.25, 0.5, 1]);
      await updateUserAccount(userId, (account) => ({ ...account, plan, overrides }), 'chaos-admin', this.now);
    }
    const monthlyLimit = random.pick([2, 4, 6]);
    try {
      await putSpace(
        { userId: SPACE_OWNER, isAdmin: true },
        SPACE_ID,
        spacePutSchema.parse({ name: 'Chaos team', members: this.users, quota: { monthly_limit: monthlyLimit } }),
        this.now,
      );
      this.creditLimitUnits.set(SPACE_ID, creditsToUnits(monthlyLimit));
      this.spaceReady = true;
    } catch (error) {
      this.options.log?.(`chaos: no shared space with a credit quota (${String(error)}); credits are checked on personal spaces only`);
    }
  }

  async step(index: number): Promise<void> {
    this.now = new Date(this.now.getTime() + (this.random.chance(0.05) ? this.random.int(120, 900) : this.random.int(1, 45)) * 1000);
    this.provider.now = this.now;
    if (this.outage === 0 && this.random.chance(0.03)) {
      this.outage = this.random.int(2, 6);
      this.trace(`provider outage for ${this.outage} steps`);
    }
    this.provider.odds = this.outage > 0 ? { ...CHAOTIC, failBeforeSpawn: 1 } : CHAOTIC;
    this.outage = Math.max(0, this.outage - 1);
    const count = this.random.int(1, 4);
    const planned: { action: Action; random: Random }[] = [];
    for (let i = 0; i < count; i++) planned.push({ action: this.random.weighted(ACTIONS), random: this.random.fork() });
    // Make sure every task asked for gets created before the end.
    if (this.requested < this.options.tasks && index > this.options.steps * 0.6) planned.push({ action: 'create', random: this.random.fork() });
    this.trace(`step ${index}: ${planned.map((p) => p.action).join(', ')}`);
    this.faultsOn(true);
    try {
      await Promise.all(planned.map(({ action, random }) => this.run(action, random, true)));
    } finally {
      this.faultsOn(false);
    }
    await this.findOrphans();
  }

  async run(action: Action, random: Random, chaotic: boolean): Promise<void> {
    try {
      await this.act(action, random, chaotic);
    } catch (error) {
      // The harness's own reads (which task to cancel...) may be throttled too: that action is skipped.
      if (!isStorageBusy(error)) throw error;
      this.noteFailure(error, action);
    }
  }

  private async act(action: Action, random: Random, chaotic: boolean): Promise<void> {
    switch (action) {
      case 'create':
        return this.create(random);
      case 'orchestrate':
        return this.orchestrate(random);
      case 'spawner':
        return this.spawner(random, chaotic);
      case 'sandboxes':
        return this.sandboxes(random);
      case 'sweep':
        return this.sweep(random);
      case 'cancel':
        return this.cancel(random);
      case 'admin':
        return this.admin(random);
      case 'dlq':
        return this.deadLetters();
    }
  }

  private async create(random: Random): Promise<void> {
    const userId = random.pick(this.users);
    // Reserved before any await, so concurrent creates never ask for more than --tasks.
    const count = Math.min(random.int(1, 3), this.options.tasks - this.requested);
    this.requested += Math.max(0, count);
    await Promise.all(
      Array.from({ length: count }, async (_, n) => {
        const body: Record<string, unknown> = { title: `chaos ${userId} ${this.requested - n}`, priority: random.int(1, 4) };
        if (this.spaceReady && random.chance(0.3)) Object.assign(body, { type: 'action', integration: 'gmail', action: 'send', space_id: SPACE_ID });
        if (random.chance(0.1)) body.not_before = new Date(this.now.getTime() + random.int(10, 300) * 1000).toISOString();
        try {
          const task = await createTask(userId, taskCreateSchema.parse(body), this.now);
          this.taskIds.push(task.id);
          this.stats.created += 1;
          this.trace(`created ${task.id} for ${userId}${task.space_id === SPACE_ID ? ' in the team space' : ''}${task.not_before ? ` not before ${task.not_before}` : ''}`);
        } catch (error) {
          this.noteFailure(error, 'create');
        }
      }),
    );
  }

  private async orchestrate(random: Random): Promise<void> {
    const orchestrators = random.int(1, 4);
    await Promise.all(
      Array.from({ length: orchestrators }, async (_, index) => {
        // Half the passes are woken by wakes that name their users (a create's, a freed slot's):
        // they claim for those users alone, from their accounts, reading no ready shard.
        const named = random.chance(0.5) ? [...new Set(Array.from({ length: random.int(1, 3) }, () => random.pick(this.users)))] : undefined;
        try {
          const result = await claimNextTasks({
            forUsers: named,
            readReady: named === undefined,
            queueHeads: this.queueHeads[index],
            now: () => this.now,
            maxClaims: random.int(1, 10),
            pageSize: random.pick([2, 5, 25]),
            concurrency: random.pick([1, 2, 4]),
            chargeItems: creditChargeItems,
          });
          this.stats.orchestratorPasses += 1;
          this.stats.claimsFromQueueHeads += result.fromQueueHeads;
          this.stats.claims += result.claimed.length;
          if (named) this.trace(`pass for ${named.join(', ')}`);
          for (const task of result.claimed) this.trace(`claimed ${task.id} attempt ${task.attempts} (${task.user_id}, reserved ${task.reserved_seconds} s)`);
        } catch (error) {
          this.noteFailure(error, 'orchestrator');
        }
      }),
    );
  }

  private async spawnOnce(body: string): Promise<boolean> {
    const message = spawnMessageSchema.parse(JSON.parse(body));
    const which = `${message.task_id} attempt ${message.attempt}`;
    try {
      const outcome = await spawnClaimedTask(message, () => this.now);
      this.stats.spawnOutcomes[outcome] = (this.stats.spawnOutcomes[outcome] ?? 0) + 1;
      this.trace(`spawn ${which}: ${outcome}`);
      return true;
    } catch (error) {
      if (error instanceof SpawnerCrashError) this.stats.spawnerCrashes += 1;
      else if (error instanceof Error && error.name === 'SandboxSpawnError') this.stats.providerFailures += 1;
      else this.noteFailure(error, 'spawner');
      this.trace(`spawn ${which}: ${error instanceof Error ? error.message : String(error)}`);
      return false;
    }
  }

  private async receive(queueUrl: string): Promise<Message[]> {
    const result = await sqs().send(new ReceiveMessageCommand({ QueueUrl: queueUrl, MaxNumberOfMessages: 10, WaitTimeSeconds: 0, VisibilityTimeout: 60 }));
    return result.Messages ?? [];
  }

  private async release(queueUrl: string, message: Message, done: boolean): Promise<void> {
    // A failed message becomes visible again at once: the visibility timeout has "passed" by the next step.
    if (done) await sqs().send(new DeleteMessageCommand({ QueueUrl: queueUrl, ReceiptHandle: message.ReceiptHandle }));
    else await sqs().send(new ChangeMessageVisibilityCommand({ QueueUrl: queueUrl, ReceiptHandle: message.ReceiptHandle, VisibilityTimeout: 0 }));
  }

  /** The spawner Lambda, with SQS's at-least-once delivery and crashes made frequent. */
  private async spawner(random: Random, chaotic: boolean): Promise<void> {
    const queueUrl = this.env.queues.spawnQueueUrl;
    const messages = await this.receive(queueUrl);
    await Promise.all(
      messages.map(async (message) => {
        const body = message.Body ?? '';
        const mode = chaotic ? random.weighted({ process: 60, duplicate: 12, redeliver: 10, drop: 6, resend: 12 }) : 'process';
        if (mode !== 'process') this.trace(`spawn message ${body.slice(0, 60)}...: ${mode}`);
        if (mode === 'drop') {
          // The orchestrator died between its claim and the send: the message never existed.
          this.stats.droppedMessages += 1;
          return this.release(queueUrl, message, true);
        }
        if (mode === 'resend') {
          this.stats.resentMessages += 1;
          await sqs().send(new SendMessageCommand({ QueueUrl: queueUrl, MessageBody: body }));
        }
        let ok: boolean;
        if (mode === 'duplicate') {
          this.stats.duplicatedDeliveries += 1;
          ok = (await Promise.all([this.spawnOnce(body), this.spawnOnce(body)])).some(Boolean);
        } else {
          ok = await this.spawnOnce(body);
        }
        if (ok && mode === 'redeliver') this.stats.redeliveries += 1;
        await this.release(queueUrl, message, ok && mode !== 'redeliver');
      }),
    );
  }

  private async deadLetters(): Promise<void> {
    const queueUrl = this.env.queues.spawnDlqUrl;
    for (const message of await this.receive(queueUrl)) {
      this.stats.deadLetters += 1;
      try {
        const failed = await failUnspawnableTask(spawnMessageSchema.parse(JSON.parse(message.Body ?? '')), this.now);
        this.trace(`dead letter ${message.Body?.slice(0, 60)}...: ${failed ? 'task failed' : 'nothing to do'}`);
        await this.release(queueUrl, message, true);
      } catch (error) {
        this.noteFailure(error, 'spawn-dlq');
        await this.release(queueUrl, message, false);
      }
    }
  }

  private async report(sandbox: ChaosSandbox, status: 'completed' | 'failed', error?: string): Promise<void> {
    this.stats.reports += 1;
    try {
      await completeTask(sandbox.taskId, sandbox.token, status === 'completed' ? { status, summary: 'chaos' } : { status, error: error ?? 'chaos failure' }, this.now);
      this.trace(`callback ${sandbox.id} (${sandbox.endReason}): ${status} accepted`);
    } catch (failure) {
      if (failure instanceof DomainError) this.stats.rejectedReports += 1;
      else this.noteFailure(failure, 'callback');
      this.trace(`callback ${sandbox.id} (${sandbox.endReason}): ${status} refused: ${String(failure)}`);
    }
  }

  /** Simulated agents act on the virtual clock: report, report twice, overrun, or stay silent. */
  private async sandboxes(random: Random): Promise<void> {
    const now = this.now.getTime();
    const work: Promise<void>[] = [];
    for (const sandbox of this.provider.sandboxes.values()) {
      if (sandbox.endSeq !== null) {
        if (sandbox.lateReport) {
          sandbox.lateReport = false;
          this.stats.lateReports += 1;
          work.push(this.report(sandbox, random.pick(['completed', 'failed'] as const)));
        }
        continue;
      }
      if (now >= sandbox.killAt) {
        // Like the process provider: killed at its timeout, it reports the failure itself.
        this.provider.end(sandbox, 'own-timeout');
        work.push(this.report(sandbox, 'failed', 'Timeout'));
      } else if (now >= sandbox.reportAt) {
        this.provider.end(sandbox, 'reported');
        const status = sandbox.behaviour === 'fails' ? 'failed' : 'completed';
        work.push(this.report(sandbox, status));
        if (sandbox.behaviour === 'reports-twice') {
          this.stats.duplicateReports += 1;
          work.push(this.report(sandbox, random.pick(['completed', 'failed'] as const)));
        }
        sandbox.lateReport = random.chance(0.15);
      }
    }
    await Promise.all(work);
  }

  private async sweep(random: Random): Promise<void> {
    await Promise.all(
      Array.from({ length: random.int(1, 2) }, async () => {
        try {
          const result = await sweep(this.now);
          if (result.timedOut.length + result.requeued.length + result.failedStale.length > 0) {
            this.trace(`sweep: timed out [${result.timedOut.join(' ')}], requeued [${result.requeued.join(' ')}], failed stale [${result.failedStale.join(' ')}]`);
          }
          this.stats.timedOut += result.timedOut.length;
          this.stats.staleRequeued += result.requeued.length;
          this.stats.staleFailed += result.failedStale.length;
        } catch (error) {
          this.noteFailure(error, 'sweeper');
        }
      }),
    );
  }

  private async cancel(random: Random): Promise<void> {
    const userId = random.pick(this.users);
    const { tasks } = await listUserTasks(userId, { limit: 50 });
    const open = tasks.filter((task) => !TERMINAL_STATUSES.has(task.status));
    const candidates = open.length > 0 && random.chance(0.85) ? open : tasks;
    if (candidates.length === 0) return;
    const task = random.pick(candidates);
    this.trace(`cancel ${task.id} (${task.status})`);
    try {
      await cancelTask(userId, task.id, this.now);
      this.stats.cancels += 1;
    } catch (error) {
      this.noteFailure(error, 'cancel');
    }
  }

  private async admin(random: Random): Promise<void> {
    const userId = random.pick(this.users);
    const plan = random.pick<PlanName>(['free', 'pro', 'team']);
    const overrides: UserAccount['overrides'] = {};
    if (random.chance(0.5)) overrides.max_concurrent_agents = random.int(1, 4);
    if (random.chance(0.5)) overrides.max_task_duration_minutes = random.int(2, 12);
    if (random.chance(0.4)) overrides.monthly_agent_hours = random.pick([0.1, 0.25, 0.5, 1, null]);
    this.trace(`admin ${userId} -> ${plan} ${JSON.stringify(overrides)}`);
    try {
      await updateUserAccount(userId, (account) => ({ ...account, plan, overrides }), 'chaos-admin', this.now);
      this.stats.adminChanges += 1;
    } catch (error) {
      this.noteFailure(error, 'admin');
    }
  }

  /** A sandbox still alive while its task attempt is over has been lost by the system. */
  async findOrphans(): Promise<void> {
    for (const sandbox of this.provider.live()) {
      if (this.orphans.has(sandbox.id)) continue;
      const task = await getTask(sandbox.taskId);
      if (task && task.attempts === sandbox.attempt && ACTIVE_STATUSES.has(task.status)) continue;
      const state = task ? `${task.status}, attempt ${task.attempts}` : 'gone';
      this.orphans.set(sandbox.id, `alive at ${this.now.toISOString()} while its task is ${state} (nothing will stop it before its own timeout)`);
    }
  }

  /** When something next happens on its own: a sandbox reports or is killed, a timeout, a stale claim, a not_before. */
  private nextEvent(open: Task[]): number {
    const after = this.now.getTime();
    const times: number[] = [];
    for (const sandbox of this.provider.live()) times.push(sandbox.reportAt, sandbox.killAt);
    for (const task of open) {
      if (task.status === 'running' && task.timeout_at) times.push(Date.parse(task.timeout_at));
      if (task.status === 'claimed' && task.claimed_at) times.push(Date.parse(task.claimed_at) + getConfig().staleClaimingThresholdSeconds * 1000);
      if (task.status === 'pending' && task.not_before) times.push(Date.parse(task.not_before));
    }
    const next = Math.min(...times.filter((time) => time > after));
    return Number.isFinite(next) ? next : billingWindow(this.now, 1).end.getTime();
  }

  /**
   * No more chaos: every part runs normally and the clock jumps to the next thing due (or, when
   * only waiting work is left, to the next billing window) until all tasks are terminal.
   */
  async drain(maxRounds: number): Promise<number> {
    this.provider.odds = { failBeforeSpawn: 0, crashAfterSpawn: 0 };
    let idleRounds = 0;
    for (let round = 1; round <= maxRounds; round++) {
      const tasks = (await Promise.all(this.taskIds.map((id) => getTask(id)))).filter((task): task is Task => task !== null);
      const open = tasks.filter((task) => !TERMINAL_STATUSES.has(task.status));
      if (open.length === 0) return round - 1;
      // Pending work that nothing moves (hours or credits used up) waits for the next window.
      idleRounds = open.every((task) => task.status === 'pending') ? idleRounds + 1 : 0;
      const next = idleRounds > 2 ? billingWindow(this.now, 1).end.getTime() : this.nextEvent(open);
      this.now = new Date(Math.max(next, this.now.getTime()) + 1000);
      this.provider.now = this.now;
      this.trace(`drain ${round}: ${open.length} open (${open.map((task) => task.status).join(' ')})`);
      const random = this.random.fork();
      for (const action of ['sandboxes', 'sweep', 'orchestrate', 'spawner', 'dlq', 'spawner', 'sandboxes'] as const) {
        await this.run(action, random, false);
      }
      await this.findOrphans();
    }
    return maxRounds;
  }

  async collect(): Promise<ChaosData> {
    const items: Record<string, unknown>[] = [];
    let start: Record<string, unknown> | undefined;
    do {
      const page = await ddb().send(new ScanCommand({ TableName: getConfig().tableName, ExclusiveStartKey: start, ConsistentRead: true }));
      items.push(...(page.Items ?? []));
      start = page.LastEvaluatedKey;
    } while (start);
    const tasks: Task[] = [];
    const accounts: UserAccount[] = [];
    const ledger: LedgerRow[] = [];
    const counters: UsageCounter[] = [];
    for (const item of items) {
      const pk = String(item.pk);
      const sk = String(item.sk);
      if (pk.startsWith('TASK#') && sk === 'TASK') tasks.push(fromItem(item));
      else if (pk.startsWith('USER#') && sk === 'PROFILE') accounts.push(item as unknown as UserAccount);
      else if (sk.startsWith('LEDGER#CHARGE') || sk.startsWith('LEDGER#REFUND')) {
        ledger.push({ taskId: String(item.task_id), spaceId: String(item.space_id), reason: String(item.reason), units: Number(item.units ?? 0), monthlyWindow: (item.monthly_window as string | null) ?? null });
      } else if (pk.startsWith('SPACE#') && sk.startsWith('USAGE#')) {
        counters.push({ spaceId: String(item.space_id), window: String(item.window), usedUnits: Number(item.used_units ?? 0) });
      }
    }
    return {
      tasks,
      accounts,
      ledger,
      counters,
      timeline: this.timeline.entries,
      untrackedWrites: this.timeline.untrackedWrites,
      sandboxes: [...this.provider.sandboxes.values()],
      orphans: this.orphans,
      maxPendingPerUser: MAX_PENDING,
      creditLimitUnits: this.creditLimitUnits,
    };
  }
}

/**
 * Runs the chaos: several orchestrators, sweepers and spawners at once on one table, with
 * duplicated, redelivered and lost spawn messages, spawner crashes on both sides of the sandbox
 * start, duplicate and late callbacks, silent sandboxes, cancels and plan changes, all on a
 * virtual clock so timeouts come fast. Then drains and checks the invariants (SPEC section 3).
 */
export async function runChaos(options: ChaosOptions): Promise<ChaosReport> {
  const own = options.endpoints ? undefined : await startEmulators();
  const endpoints = options.endpoints ?? (own as EmulatorEndpoints);
  try {
    const env = await useFreshTable(endpoints, { STALE_CLAIMING_THRESHOLD: String(STALE_SECONDS), MAX_PENDING_PER_USER: String(MAX_PENDING) });
    const run = new ChaosRun(options, env);
    run.timeline.install(ddb());
    setSandboxProvider(run.provider);
    try {
      const virtualStartAt = run.now.toISOString();
      await run.setup();
      run.installFaults({ ...ALL_FAULTS, ...options.faults });
      for (let step = 0; step < options.steps; step++) await run.step(step);
      const drainRounds = await run.drain(200);
      run.removeFaults();
      const check = checkInvariants(await run.collect());
      const violations = VIOLATION_KINDS.reduce((sum, kind) => sum + check.counts[kind], 0);
      return {
        options: { seed: options.seed, users: options.users, tasks: options.tasks, steps: options.steps },
        virtualStart: virtualStartAt,
        virtualEnd: run.now.toISOString(),
        drainRounds,
        stats: run.stats,
        check,
        violations,
      };
    } finally {
      run.removeFaults();
      setSandboxProvider(undefined);
    }
  } finally {
    await own?.stop();
  }
}

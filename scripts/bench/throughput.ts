import { randomBytes } from 'node:crypto';
import type { Task } from '../../src/tasks/task.js';
import { accountForTransition, limitsOf, reservationSeconds, rollHoursWindow, type UserAccount } from '../../src/accounts/account.js';
import { getConfig } from '../../src/platform/config.js';
import { claimNextTasks } from '../../src/scheduling/claim.js';
import { QueueHeads } from '../../src/scheduling/queue-heads.js';
import { PromotionPace } from '../../src/scheduling/promotion-pace.js';
import { hashToken } from '../../src/tasks/callback-token.js';
import { putTaskItem } from '../../src/tasks/task-store.js';
import { transact } from '../../src/platform/dynamodb/transact.js';
import { putUserItem } from '../../src/accounts/user-store.js';
import { ddb } from '../../src/platform/aws.js';
import { addReadings, DynamoDbMeter, emptyReading, subtractReadings, type MeterReading } from './ddb-meter.js';
import { useFreshTable, useTable, type EmulatorEndpoints } from './environment.js';
import { seedBacklog, type BacklogShape, type SeededBacklog } from './seed.js';
import { cpuMeter } from './cpu.js';

export interface ThroughputConfig {
  shape: BacklogShape;
  /** Transactions (raw) or claims (orchestrators) measured per configuration. */
  operations: number;
}

export interface ThroughputResult {
  rawPerSecond: { c1: number; c4: number };
  claimsPerSecond: { o1: number; o4: number };
  conflicts: { o1: number; o4: number };
  claims: { o1: number; o4: number };
  /** Claims made from a remembered queue head (the transaction alone), and remembered heads refused as stale. */
  queueHeads: { o1: { claims: number; stale: number }; o4: { claims: number; stale: number } };
  /** Where one orchestrator's time went, per claim: DynamoDB milliseconds by command, the rest outside DynamoDB. */
  perClaimMs: { o1: Record<string, number> };
  /** Milliseconds per raw transaction, one stream. */
  rawMs: number;
  /** DynamoDB requests per claim (lost races included). */
  perClaimRequests: { o1: number; o4: number };
  /** DynamoDB requests per claim by command (Query, BatchGetItem, TransactWriteItems, ...). */
  perClaimByCommand: { o1: Record<string, number>; o4: Record<string, number> };
  /**
   * CPU milliseconds per operation (raw transaction or claim), in this process (node) and in
   * DynamoDB Local (null where its process cannot be read). Both share this machine's cores, so
   * when the emulator is the bottleneck a ratio of claims/raw is about the inverse of this ratio.
   */
  cpuMsPerOperation: Record<'c1' | 'c4' | 'o1' | 'o4', { node: number; dynamodb: number | null }>;
}

/** The task and account a claim of `task` writes (what claimForUser computes, minus its reads). */
function claimWrite(user: UserAccount, task: Task, now: Date): { task: Task; user: UserAccount } {
  const rolled = rollHoursWindow(user, now);
  const claimed: Task = {
    ...task,
    status: 'claimed',
    claimed_at: now.toISOString(),
    attempts: task.attempts + 1,
    reserved_seconds: reservationSeconds(rolled, limitsOf(user, getConfig().maxPendingPerUser)),
    hours_window: rolled.hours_window,
    callback_token_hash: hashToken(randomBytes(32).toString('base64url')),
    blocked_reason: null,
  };
  return { task: claimed, user: accountForTransition(user, task, claimed, now) };
}

/** One measured stream of work: what ran, how long, and what DynamoDB saw. */
interface Lane {
  operations: number;
  ms: number;
  conflicts: number;
  fromQueueHeads: number;
  staleQueueHeads: number;
  reading: MeterReading;
  cpu: { node: number; dynamodb: number | null };
}

const emptyLane = (): Lane => ({ operations: 0, ms: 0, conflicts: 0, fromQueueHeads: 0, staleQueueHeads: 0, reading: emptyReading(), cpu: { node: 0, dynamodb: 0 } });

/**
 * Raw DynamoDB Local TransactWriteItems of exactly a claim's shape (the task Put conditioned on
 * status and attempts, the account Put conditioned on version), `concurrency` streams on
 * disjoint users so none conflicts: the ceiling the orchestrator's claims are compared with.
 */
async function rawTransactions(users: SeededBacklog['users'], operations: number, concurrency: number): Promise<number> {
  const withTasks = users.filter((entry) => entry.tasks.length > 0);
  const lanes = Array.from({ length: concurrency }, (_, lane) => withTasks.filter((_, i) => i % concurrency === lane));
  const perLane = Math.ceil(operations / concurrency);
  await Promise.all(
    lanes.map(async (laneUsers) => {
      let done = 0;
      for (const entry of laneUsers) {
        while (done < perLane && entry.tasks.length > 0) {
          const task = entry.tasks.shift() as Task;
          const now = new Date();
          const write = claimWrite(entry.account, task, now);
          await transact([putTaskItem(write.task, { status: 'pending', attempts: task.attempts }), putUserItem(write.user, now)]);
          entry.account = write.user;
          done += 1;
        }
        if (done >= perLane) break;
      }
      if (done < perLane) throw new Error('the raw backlog ran out of tasks; seed more');
    }),
  );
  return perLane * concurrency;
}

/**
 * `orchestrators` concurrent orchestrator loops running claim passes until `operations` claims are
 * made. Each loop is one orchestrator, with its own memory of queue heads and its own promotion
 * pace (as one Lambda container has), kept across the slices of a run.
 */
async function orchestratorClaims(operations: number, orchestratorHeads: QueueHeads[], paces: PromotionPace[]): Promise<{ claims: number; conflicts: number; fromQueueHeads: number; staleQueueHeads: number }> {
  const orchestrators = orchestratorHeads.length;
  let claims = 0;
  let conflicts = 0;
  let fromQueueHeads = 0;
  let staleQueueHeads = 0;
  await Promise.all(
    Array.from({ length: orchestrators }, async (_, index) => {
      let idle = 0;
      const queueHeads = orchestratorHeads[index] as QueueHeads;
      while (claims < operations && idle < 3) {
        const result = await claimNextTasks({ maxClaims: Math.min(25, Math.max(1, operations - claims)), queueHeads, promotionPace: paces[index] });
        claims += result.claimed.length;
        conflicts += result.conflicts;
        fromQueueHeads += result.fromQueueHeads;
        staleQueueHeads += result.staleQueueHeads;
        idle = result.claimed.length === 0 ? idle + 1 : 0;
      }
    }),
  );
  if (claims === 0) throw new Error('the orchestrators claimed nothing');
  return { claims, conflicts, fromQueueHeads, staleQueueHeads };
}

function perClaim(reading: MeterReading, elapsedMs: number, claims: number): Record<string, number> {
  const split: Record<string, number> = {};
  let inDynamoDb = 0;
  for (const [command, ms] of Object.entries(reading.msByCommand)) {
    split[command.replace(/Command$/, '')] = ms / claims;
    inDynamoDb += ms;
  }
  split.outsideDynamoDb = (elapsedMs - inDynamoDb) / claims;
  return split;
}


/**
 * Raw claim-shaped transactions per second beside orchestrator claims per second, with 1 and 4
 * streams each, over the same backlog shape (users x tasks), each on its own table in the same
 * DynamoDB Local. The four are measured in alternating slices so that a machine whose load
 * changes during the run slows them all alike: the ratios are what to read.
 */
export async function measureThroughput(endpoints: EmulatorEndpoints, config: ThroughputConfig, log: (line: string) => void): Promise<ThroughputResult> {
  const now = new Date();
  const seeded = async (name: string) => {
    const table = await useFreshTable(endpoints);
    log(`  seeding ${config.shape.users} users x ${config.shape.tasksPerUser} tasks (${name})`);
    return { table, backlog: await seedBacklog(name, config.shape, now) };
  };
  const raw = await seeded('raw');
  const o1Table = (await seeded('o1')).table;
  const o4Table = (await seeded('o4')).table;
  const meter = new DynamoDbMeter();
  meter.install(ddb());

  const lanes = { c1: emptyLane(), c4: emptyLane(), o1: emptyLane(), o4: emptyLane() };
  const heads = { o1: [new QueueHeads()], o4: Array.from({ length: 4 }, () => new QueueHeads()) };
  const paces = { o1: [new PromotionPace()], o4: Array.from({ length: 4 }, () => new PromotionPace()) };
  const slices = Math.max(1, Math.round(config.operations / 50));
  const slice = Math.ceil(config.operations / slices);
  for (let i = 0; i < slices; i++) {
    for (const name of ['c1', 'o1', 'c4', 'o4'] as const) {
      const lane = lanes[name];
      const before = meter.snapshot();
      const cpu = cpuMeter(endpoints.dynamodbPid);
      const started = performance.now();
      if (name === 'c1' || name === 'c4') {
        useTable(raw.table);
        lane.operations += await rawTransactions(raw.backlog.users, slice, name === 'c1' ? 1 : 4);
      } else {
        useTable(name === 'o1' ? o1Table : o4Table);
        const result = await orchestratorClaims(slice, name === 'o1' ? heads.o1 : heads.o4, name === 'o1' ? paces.o1 : paces.o4);
        lane.operations += result.claims;
        lane.conflicts += result.conflicts;
        lane.fromQueueHeads += result.fromQueueHeads;
        lane.staleQueueHeads += result.staleQueueHeads;
      }
      lane.ms += performance.now() - started;
      const used = cpu.read();
      lane.cpu = { node: lane.cpu.node + used.node, dynamodb: lane.cpu.dynamodb === null || used.dynamodb === null ? null : lane.cpu.dynamodb + used.dynamodb };
      lane.reading = addReadings(lane.reading, subtractReadings(meter.snapshot(), before));
    }
  }
  const byCommandPerClaim = (lane: Lane) =>
    Object.fromEntries(Object.entries(lane.reading.byCommand).map(([command, requests]) => [command.replace(/Command$/, ''), requests / lane.operations]));
  const perSecond = (lane: Lane) => lane.operations / (lane.ms / 1000);
  const cpuPerOperation = (lane: Lane) => ({ node: lane.cpu.node / lane.operations, dynamodb: lane.cpu.dynamodb === null ? null : lane.cpu.dynamodb / lane.operations });
  return {
    rawPerSecond: { c1: perSecond(lanes.c1), c4: perSecond(lanes.c4) },
    claimsPerSecond: { o1: perSecond(lanes.o1), o4: perSecond(lanes.o4) },
    conflicts: { o1: lanes.o1.conflicts, o4: lanes.o4.conflicts },
    claims: { o1: lanes.o1.operations, o4: lanes.o4.operations },
    queueHeads: {
      o1: { claims: lanes.o1.fromQueueHeads, stale: lanes.o1.staleQueueHeads },
      o4: { claims: lanes.o4.fromQueueHeads, stale: lanes.o4.staleQueueHeads },
    },
    perClaimMs: { o1: perClaim(lanes.o1.reading, lanes.o1.ms, lanes.o1.operations) },
    rawMs: lanes.c1.ms / lanes.c1.operations,
    perClaimRequests: { o1: lanes.o1.reading.requests / lanes.o1.operations, o4: lanes.o4.reading.requests / lanes.o4.operations },
    perClaimByCommand: { o1: byCommandPerClaim(lanes.o1), o4: byCommandPerClaim(lanes.o4) },
    cpuMsPerOperation: { c1: cpuPerOperation(lanes.c1), c4: cpuPerOperation(lanes.c4), o1: cpuPerOperation(lanes.o1), o4: cpuPerOperation(lanes.o4) },
  };
}

import { randomBytes } from 'node:crypto';
import { getConfig } from '../platform/config.js';
import type { Task } from '../tasks/task.js';
import { accountForTransition, limitsOf, orchestratorPendingCount, queueVersionOf, reservationSeconds, rollHoursWindow, schedulingState } from '../accounts/account.js';
import { DomainError } from '../platform/errors.js';
import { logger } from '../platform/logger.js';
import { count } from '../platform/metrics.js';
import { sendSpawnMessages, type SpawnMessage } from '../platform/queue/messages.js';
import { CreditEstimateExceedsLimitError, CreditLimitReachedError, OVER_QUOTA_BADGE } from '../credits/charges.js';
import { chargeEntryKey, chargeEntryOf, type LedgerEntry } from '../credits/ledger-store.js';
import { runAttempt } from '../tasks/retry-policy.js';
import { failPendingTask } from '../tasks/finish-task.js';
import { hashToken } from '../tasks/callback-token.js';
import { pendingTaskPages, putTaskItem } from '../tasks/task-store.js';
import { getStoredAccounts, getUser, listDueDeferredUserIds, listReadyUsers, listUnshardedUserIds, putUserItem, schedulingStateNow, toAccount, userItemKey, type ReadyPage, type ReadyUser, type StoredUser } from '../accounts/user-store.js';
import { transact, TransactionConflictError, type TransactItem } from '../platform/dynamodb/transact.js';
import { groupCommit, type Commit } from '../platform/dynamodb/group-commit.js';
import { groupGet, type GetItems } from '../platform/dynamodb/group-get.js';
import type { QueueHead, QueueHeads } from './queue-heads.js';
import type { PromotionPace } from './promotion-pace.js';

export interface ClaimOptions {
  now?: () => Date;
  /** Most claims one pass may make (bounds the work per invocation). */
  maxClaims?: number;
  /** Users read from the ready index per round. */
  pageSize?: number;
  /** Users of a round claimed at once (each its own transaction), in the ready order. */
  concurrency?: number;
  /**
   * Extra transaction items for a claim (credit charge, ledger row). Throwing
   * `CreditLimitReachedError` holds the task back until the quota frees, another DomainError holds
   * it back (with its message as `blocked_reason`) for a re-check later; any other error skips it.
   * `account` is the user's account as the claim's transaction expects it (its version is a
   * condition), so a charge may take the user's billing day from it instead of reading it again.
   * `charge` is the charge row of the task's attempt as the claim's read found it (null: none);
   * undefined when it was not read (the function then reads it).
   */
  chargeItems?: (task: Task, now: Date, account: StoredUser, charge?: LedgerEntry | null) => Promise<TransactItem[]>;
  /**
   * This orchestrator's memory of the queue heads it last claimed from (queue-heads.ts): the next
   * claim for such a user is the transaction alone. Without it every claim reads first.
   */
  queueHeads?: QueueHeads;
  /** This orchestrator's promotion pace (promotion-pace.ts). Without it every pass promotes. */
  promotionPace?: PromotionPace;
  /** Promote in this pass whatever the pace says: woken for a `not_before` that is due now. */
  promoteNow?: boolean;
  /**
   * Users whose wakes named them (a create, a freed slot): limits are per user, so their new or
   * freed work is theirs alone to start. They are claimed for from their accounts (consistent
   * reads), so a `ready` index that lags behind the waking write cannot hide them.
   */
  forUsers?: readonly string[];
  /**
   * Read the `ready` index for the pass's candidates (default). False with `forUsers`: the pass
   * claims for those users alone, reads no `ready` shard, and leaves everyone else to their own
   * wakes and the full passes (docs/data-model.md, "Wakes that name their user").
   */
  readReady?: boolean;
}

/**
 * Claims a pass makes at once: enough to hide round trips and to give group commit and group get
 * something to group (one request for several claims), few enough to keep the ready order.
 */
export const DEFAULT_CLAIM_CONCURRENCY = 16;

/**
 * A round reads this many pages of ready users, shuffles those with the same running count and
 * keeps one page: concurrent orchestrators then draw different users from a large tie (every user
 * of a fresh night has 0 running) instead of racing for the same 25 accounts. The running-count
 * order is kept; within a tie the least-recently-served order is kept to within this many pages.
 */
export const READY_CANDIDATE_PAGES = 4;

export interface ClaimResult {
  claimed: Task[];
  conflicts: number;
  /** Claims made from a remembered queue head, with no read (see `ClaimOptions.queueHeads`). */
  fromQueueHeads: number;
  /** Remembered heads whose transaction was refused (the account or task had moved on); the claim then read afresh. */
  staleQueueHeads: number;
  /** Users whose claim failed unexpectedly this pass (logged with the id; retried after CLAIM_FAILURE_RETRY_MS). */
  failedUsers: string[];
  promoted: number;
  /** Users with claimable work seen in the ready index, or named by the pass's wakes (the PendingTasks metric). */
  readyUsersSeen: number;
  /**
   * The pass found nobody ready and its pace held promotion back: the caller asks for a catch-up
   * pass (`PromotionPace.catchUp`), so due users still wait at most the pace's interval.
   */
  promotionHeldBack: boolean;
}

export interface PromotionOptions {
  /** Due users read per page (all shards together). */
  pageSize?: number;
  /** Users re-filed at once. */
  concurrency?: number;
  /** A pass stops starting pages after this long; the rest stay due for the next pass. */
  budgetMs?: number;
}

/**
 * Re-files users whose wait is over (not_before reached, hours reset) so they become ready: page
 * after page until none is due, with no fixed cap, so thousands of users whose hours reset at the
 * same moment (the 1st, 00:00 UTC) are all re-filed in the next pass or two. Each page is shuffled,
 * so when a pass does stop early nobody is always the last one served. Each user is handled on
 * its own: one that fails is logged and counted, and stays due for the next pass.
 */
export async function promoteDueUsers(now: Date, options: PromotionOptions = {}): Promise<number> {
  return refileUsers((pageSize) => listDueDeferredUserIds(now, pageSize), now, options);
}

/**
 * Re-files the users still under the unsharded READY or DEFERRED key (last written before the
 * keys were sharded) into their shards, as promotion does: the sweeper's job, once a sweep, so
 * that an orchestrator pass reads only the shards. Such a user waits at most one sweep.
 */
export async function refileUnshardedUsers(now: Date, options: PromotionOptions = {}): Promise<number> {
  return refileUsers((pageSize) => listUnshardedUserIds(pageSize), now, options);
}

async function refileUsers(nextPage: (pageSize: number) => Promise<string[]>, now: Date, options: PromotionOptions): Promise<number> {
  const pageSize = options.pageSize ?? 200;
  const concurrency = options.concurrency ?? 16;
  const budgetMs = options.budgetMs ?? 20_000;
  const started = performance.now();
  const tried = new Set<string>();
  let promoted = 0;
  while (performance.now() - started < budgetMs) {
    const fresh = (await nextPage(pageSize)).filter((id) => !tried.has(id));
    // Only users this pass already tried (conflicts, failures) are left: they wait for the next pass.
    if (fresh.length === 0) break;
    const queue = shuffle(fresh);
    for (const id of queue) tried.add(id);
    const worker = async (): Promise<void> => {
      for (let userId = queue.pop(); userId !== undefined; userId = queue.pop()) {
        if (await promoteUser(userId, now)) promoted += 1;
      }
    };
    await Promise.all(Array.from({ length: Math.min(concurrency, queue.length) }, worker));
  }
  return promoted;
}

async function promoteUser(userId: string, now: Date): Promise<boolean> {
  try {
    const user = await getUser(userId, now);
    await transact([putUserItem({ ...rollHoursWindow(user, now), version: user.version + 1 }, now)]);
    return true;
  } catch (error) {
    if (error instanceof TransactionConflictError) return false;
    logger.error('could not promote a due user; retried next pass', { user_id: userId, error });
    count('PassItemFailures');
    return false;
  }
}

/**
 * Keeps the fairness order (fewest running first) but shuffles users with the same running
 * count, so concurrent orchestrators spread over users instead of colliding on the first one.
 * Within a tie, users `preferred` says yes to (those whose queue head this orchestrator
 * remembers) come first: concurrent orchestrators then keep to the users they last served, and
 * seldom refuse each other's transactions. The order across running counts is never changed.
 */
export function shuffleWithinTies(users: ReadyUser[], random: () => number = Math.random, preferred: (userId: string) => boolean = () => false): string[] {
  const groups = new Map<number, string[]>();
  for (const user of users) groups.set(user.running, [...(groups.get(user.running) ?? []), user.userId]);
  return [...groups.keys()]
    .sort((a, b) => a - b)
    .flatMap((running) => {
      const tie = groups.get(running) ?? [];
      return [...shuffle(tie.filter(preferred), random), ...shuffle(tie.filter((id) => !preferred(id)), random)];
    });
}

const shuffle = <T>(items: T[], random: () => number = Math.random): T[] => {
  for (let i = items.length - 1; i > 0; i--) {
    const j = Math.floor(random() * (i + 1));
    [items[i], items[j]] = [items[j] as T, items[i] as T];
  }
  return items;
};

type Attempt =
  | { kind: 'claimed'; task: Task; message: SpawnMessage; account: StoredUser }
  | { kind: 'skipped' }
  | { kind: 'conflict' }
  | { kind: 'blocked'; until: Date; reason: string }
  | { kind: 'never-fits'; reason: string };

/**
 * A queue to which a task was added this recently is not remembered: the `pending` index (a GSI,
 * eventually consistent) may not show that task yet, and a remembered head would keep passing
 * over it for several claims instead of one. On AWS a GSI is usually behind by well under a second.
 */
export const QUEUE_INDEX_GRACE_MS = 2_000;
/** A user whose every remote task waits for credits is looked at again after at most this (an override or a raised limit wakes them at once). */
export const QUOTA_RECHECK_MS = 10 * 60_000;
/**
 * The account says remote work is pending but the pending index shows none: the index lags
 * behind the write (GSIs are eventually consistent), so look again in seconds, not a minute.
 */
export const INDEX_LAG_RECHECK_MS = 5_000;
/** A user whose claim failed unexpectedly leaves the ready index for this long, so it never holds its head. */
export const CLAIM_FAILURE_RETRY_MS = 15_000;
/** A ready user with no remote task in sight (all routed to devices) is looked at again after this. */
export const NOTHING_TO_CLAIM_RECHECK_MS = 60_000;

const earlier = (a: string | null, b: string): string => (a === null || b < a ? b : a);

/** Shows why a task waits (e.g. the "Blocked (over quota)" badge). */
async function markBlocked(task: Task, reason: string): Promise<void> {
  if (task.blocked_reason === reason) return;
  await transact([putTaskItem({ ...task, blocked_reason: reason }, { status: 'pending', attempts: task.attempts })]).catch(
    (error: unknown) => {
      if (!(error instanceof TransactionConflictError)) throw error;
    },
  );
}

/**
 * A pass's reads of queues and its claims' transactions, shared among its concurrent claims
 * (group-get.ts, group-commit.ts): one request for several whenever they meet.
 */
interface PassRequests {
  commit: Commit;
  getItems: GetItems;
}

/**
 * Claims one task: task, slot, hours reservation and credit charge move in ONE transaction, which
 * may go to DynamoDB together with the pass's other claims.
 */
async function claimTask(user: StoredUser, task: Task, options: ClaimOptions, now: Date, { commit }: PassRequests, charge?: LedgerEntry | null): Promise<Attempt> {
  const limits = limitsOf(user, getConfig().maxPendingPerUser);
  const rolled = rollHoursWindow(user, now);
  const reserve = reservationSeconds(rolled, limits);
  const token = randomBytes(32).toString('base64url');
  const sandboxToken = randomBytes(32).toString('base64url');
  const claimed: Task = {
    ...task,
    status: 'claimed',
    claimed_at: now.toISOString(),
    attempts: task.attempts + 1,
    reserved_seconds: reserve,
    hours_window: rolled.hours_window,
    callback_token_hash: hashToken(token),
    sandbox_token_hash: hashToken(sandboxToken),
    blocked_reason: null,
  };
  let extra: TransactItem[];
  try {
    extra = options.chargeItems ? await options.chargeItems(claimed, now, user, charge) : [];
  } catch (error) {
    if (error instanceof CreditEstimateExceedsLimitError) return { kind: 'never-fits', reason: error.message };
    if (error instanceof CreditLimitReachedError) return { kind: 'blocked', until: error.resetsAt, reason: OVER_QUOTA_BADGE };
    if (error instanceof DomainError) {
      // A task that cannot be charged as it stands (e.g. its space is gone) waits, saying why, and is re-checked.
      logger.warn('claim held back', { task_id: task.id, user_id: user.user_id, reason: error.message });
      return { kind: 'blocked', until: new Date(now.getTime() + QUOTA_RECHECK_MS), reason: error.message };
    }
    logger.info('claim skipped', { task_id: task.id, user_id: user.user_id, reason: String(error) });
    return { kind: 'skipped' };
  }
  const nextUser = accountForTransition(user, task, claimed, now);
  try {
    await commit([putTaskItem(claimed, { status: 'pending', attempts: task.attempts }), putUserItem(nextUser, now), ...extra]);
  } catch (error) {
    if (error instanceof TransactionConflictError) return { kind: 'conflict' };
    throw error;
  }
  return {
    kind: 'claimed',
    task: claimed,
    message: { task_id: claimed.id, attempt: claimed.attempts, callback_token: token, sandbox_token: sandboxToken },
    account: { ...nextUser, blocked_reason: null },
  };
}

/**
 * Claims the user's next task that may start now, in claim order. Tasks routed to a device are
 * left to its lease; a task whose space's credits are used up gets the over-quota badge and the
 * user's later tasks in that space wait behind it, while tasks in other spaces may still start.
 * When nothing can start, the user is deferred to the earliest not_before or quota re-check, so
 * waiting work costs nothing per pass and never holds up other users in the ready index.
 */
/**
 * Reads more than one page only when the first few tasks cannot start (the common claim reads 5);
 * then pages of 100 until every pending task the user may have (overrides included) was seen.
 */
const PENDING_PAGES = [5, 100] as const;

/** The charge row of a task's first attempt as a claim's read found it (null: not charged). */
interface ReadCharge {
  taskId: string;
  entry: LedgerEntry | null;
}

/**
 * The user's account and pending tasks in claim order. The account is read in the same
 * BatchGetItem as the first page of tasks, so a claim is one Query of the pending index, one
 * BatchGetItem and the transaction: no read of its own for the account, and both as fresh as the
 * table (strongly consistent), so concurrent orchestrators rarely lose a race on a stale version.
 * With `withCharge` (the claim charges credits), the same BatchGetItem reads the charge row of the
 * first task's first attempt (the task a claim usually takes), so charging it needs no read of its
 * own either (`ClaimOptions.chargeItems`).
 */
async function accountAndPending(userId: string, getItems: GetItems, withCharge: boolean): Promise<{ user: StoredUser | null; firstPage: Task[]; tasks: AsyncGenerator<Task>; charge: ReadCharge | null }> {
  const accountKey = userItemKey(userId);
  const asked: { charge?: { taskId: string; key: Record<string, unknown> } } = {};
  const pages = pendingTaskPages(userId, PENDING_PAGES, [accountKey], getItems, ([firstId]) => {
    if (!firstId || !withCharge) return [];
    asked.charge = { taskId: firstId, key: chargeEntryKey(firstId, 1) };
    return [asked.charge.key];
  });
  const first = await pages.next();
  const also = first.done ? [] : first.value.also;
  const found = (key: Record<string, unknown>) => also.find((item) => item.pk === key.pk && item.sk === key.sk);
  const accountItem = found(accountKey);
  const read = asked.charge;
  const chargeItem = read ? found(read.key) : undefined;
  const firstPage = first.done ? [] : first.value.tasks;
  async function* tasks(): AsyncGenerator<Task> {
    if (first.done) return;
    yield* firstPage;
    for await (const page of pages) yield* page.tasks;
  }
  return {
    user: accountItem ? toAccount(accountItem) : null,
    firstPage,
    tasks: tasks(),
    charge: read ? { taskId: read.taskId, entry: chargeItem ? chargeEntryOf(chargeItem) : null } : null,
  };
}

/** A task the orchestrator may claim as it stands: pending, not the devices', not waiting for a later time. */
const claimableNow = (task: Task, iso: string): boolean =>
  task.status === 'pending' && task.execution_location !== 'local' && !(task.not_before && task.not_before > iso);

const headOf = (account: StoredUser, tasks: Task[]) => ({ queueVersion: queueVersionOf(account), servedAt: account.last_served_at, tasks });

/**
 * A claim from a remembered queue head, with the account the round just read: the transaction
 * alone. Null when the head no longer fits (limits, not_before, credits, anything but a plain
 * claim); the caller then claims as usual, from a fresh read of the queue.
 */
async function claimFromQueueHead(head: QueueHead, account: StoredUser, options: ClaimOptions, requests: PassRequests, now: Date, result: ClaimResult): Promise<Attempt | null> {
  const [task, ...rest] = head.tasks;
  if (!task || !claimableNow(task, now.toISOString())) return null;
  if (schedulingStateNow(account, now).kind !== 'ready') return null;
  const attempt = await claimTask(account, task, options, now, requests);
  if (attempt.kind === 'claimed') {
    options.queueHeads?.remember(account.user_id, headOf(attempt.account, rest), now.getTime());
    result.fromQueueHeads += 1;
    return attempt;
  }
  // A lost race is one, as in the full claim; the rest (blocked, never fits, skipped) it handles.
  return attempt.kind === 'conflict' ? attempt : null;
}

/** What the round knows of a user before claiming: the ready entry it read, and this pass's own last claim for them. */
interface RoundView {
  /** `last_served_at` in the ready entry the round read (undefined: not known). */
  servedAtRead?: string | null;
  /** `last_served_at` this pass's own last claim for the user wrote (the index may not show it yet). */
  servedByThisPass?: string | null;
  /** The user came from a wake, not from the ready index: an account that is not ready is simply not claimed for (there is no index entry to repair). */
  named?: boolean;
}

/**
 * Claims the user's next task. `account`, when given, is the user's account as this round read it
 * (for users whose queue head this orchestrator remembers).
 */
async function claimForUser(userId: string, options: ClaimOptions, requests: PassRequests, now: Date, result: ClaimResult, account?: StoredUser, view: RoundView = {}): Promise<Attempt> {
  const head = options.queueHeads?.take(userId, now.getTime());
  if (head && account) {
    if (queueVersionOf(account) === head.queueVersion) {
      const attempt = await claimFromQueueHead(head, account, options, requests, now, result);
      if (attempt) return attempt;
    } else {
      result.staleQueueHeads += 1;
      // Another orchestrator claimed for this user since: the user was served this round, and that
      // orchestrator remembers the queue now. Counted as a lost race, so the pass looks again.
      if (account.last_served_at !== head.servedAt) return { kind: 'conflict' };
    }
  }
  const read = await accountAndPending(userId, requests.getItems, options.chargeItems !== undefined);
  // No account: the ready entry outlived it (or lags); nothing to claim for.
  if (!read.user) return { kind: 'skipped' };
  let user = read.user;
  const limits = limitsOf(user, getConfig().maxPendingPerUser);
  const state = schedulingState(user, limits, now);
  if (state.kind !== 'ready') {
    const servedAt = user.last_served_at;
    if (view.servedAtRead !== undefined && servedAt !== view.servedAtRead && servedAt !== view.servedByThisPass) {
      // Another orchestrator claimed for this user since this round's read (a refilled slot woke
      // two passes): its claim filled the user and re-filed the account. A lost race, with no write.
      return { kind: 'conflict' };
    }
    if (view.named) return { kind: 'skipped' };
    // The ready index lagged behind the account; rewriting the account re-files it correctly.
    await transact([putUserItem({ ...user, version: user.version + 1 }, now)]).catch(() => undefined);
    return { kind: 'skipped' };
  }
  const iso = now.toISOString();
  const blockedSpaces = new Map<string, string>();
  let wakeAt: string | null = null;
  let seen = 0;
  for await (const task of read.tasks) {
    seen += 1;
    if (task.status !== 'pending' || task.execution_location === 'local') continue;
    if (task.not_before && task.not_before > iso) {
      wakeAt = earlier(wakeAt, task.not_before);
      continue;
    }
    const blockedReason = blockedSpaces.get(task.space_id);
    if (blockedReason !== undefined) {
      await markBlocked(task, blockedReason);
      continue;
    }
    // The charge row read with the account, when it is this task's (and this is its first attempt).
    const charge = read.charge?.taskId === task.id && runAttempt(task) === 1 ? read.charge.entry : undefined;
    const attempt = await claimTask(user, task, options, now, requests, charge);
    if (attempt.kind === 'never-fits') {
      // The limit was lowered below this task's estimate: it fails, and the user's next task is tried.
      await failPendingTask(task.id, attempt.reason, now, task.attempts);
      user = await getUser(user.user_id, now);
      continue;
    }
    const indexCaughtUp = !user.queued_at || now.getTime() - Date.parse(user.queued_at) > QUEUE_INDEX_GRACE_MS;
    if (attempt.kind === 'claimed' && seen === 1 && indexCaughtUp && options.queueHeads) {
      // Claimed the first task of the queue, with nothing skipped: what follows it in this page,
      // up to the first task that could not be claimed as it stands, is the queue's next head.
      const next: Task[] = [];
      for (const later of read.firstPage.slice(1)) {
        if (!claimableNow(later, iso)) break;
        next.push(later);
      }
      options.queueHeads.remember(userId, headOf(attempt.account, next), now.getTime());
    }
    if (attempt.kind !== 'blocked') return attempt;
    blockedSpaces.set(task.space_id, attempt.reason);
    wakeAt = earlier(wakeAt, new Date(Math.min(attempt.until.getTime(), now.getTime() + QUOTA_RECHECK_MS)).toISOString());
    await markBlocked(task, attempt.reason);
  }
  const lagging = seen === 0 && orchestratorPendingCount(user) > 0;
  wakeAt ??= new Date(now.getTime() + (lagging ? INDEX_LAG_RECHECK_MS : NOTHING_TO_CLAIM_RECHECK_MS)).toISOString();
  await transact([putUserItem({ ...user, version: user.version + 1, next_eligible_at: wakeAt }, now)]).catch(() => undefined);
  return { kind: 'skipped' };
}

/**
 * After an unexpected error in a user's claim: the user leaves the ready index for a short while
 * (the due index brings them back), so a failing account never keeps the head of `ready` and
 * starves the users behind it. Best effort: if even this write fails, the pass still skips them.
 */
async function deferFailedUser(userId: string, now: Date): Promise<void> {
  try {
    const user = await getUser(userId, now);
    if (user.version === 0) return;
    const retryAt = new Date(now.getTime() + CLAIM_FAILURE_RETRY_MS).toISOString();
    await transact([putUserItem({ ...user, version: user.version + 1, next_eligible_at: earlier(user.next_eligible_at, retryAt) }, now)]);
  } catch (error) {
    logger.warn('could not defer a user whose claim failed', { user_id: userId, error });
  }
}

/**
 * One orchestrator pass: claims as many tasks as there are free slots, fairly across users
 * (fewest running first, then least recently served; one claim per user per round), and sends
 * each claimed task to the spawn queue. The work is bounded by `maxClaims`, not by the backlog.
 * Each user is claimed for on their own: an unexpected error is logged with the user's id,
 * counted (`PassItemFailures`) and retried shortly, and the spawn messages of the tasks already
 * claimed are sent whatever happens later in the pass.
 */
export async function claimNextTasks(options: ClaimOptions = {}): Promise<ClaimResult> {
  const clock = options.now ?? (() => new Date());
  const maxClaims = options.maxClaims ?? 200;
  const pageSize = options.pageSize ?? 25;
  const concurrency = Math.max(1, options.concurrency ?? DEFAULT_CLAIM_CONCURRENCY);
  const result: ClaimResult = { claimed: [], conflicts: 0, fromQueueHeads: 0, staleQueueHeads: 0, failedUsers: [], promoted: 0, readyUsersSeen: 0, promotionHeldBack: false };
  // Promotion only re-files users for later ready reads, so it runs beside the claims of the first
  // round, started once that round's ready read is back (the read a freed slot waits for does not
  // share the database with promotion's); a round that finds nothing waits for it before the pass
  // gives up.
  // With a pace, a pass that comes soon after this orchestrator's last promotion skips it, unless
  // told to promote; one that then finds nobody ready says so (`promotionHeldBack`).
  const pace = options.promotionPace;
  const skipPromotion = pace !== undefined && !options.promoteNow && !pace.due(clock().getTime());
  let promotionSettled = skipPromotion;
  let promotion: Promise<number> | undefined;
  const startPromotion = (): Promise<number> => {
    if (!promotion) {
      if (!skipPromotion) pace?.record(clock().getTime());
      promotion = skipPromotion
        ? Promise.resolve(0)
        : promoteDueUsers(clock()).finally(() => {
            promotionSettled = true;
          });
      promotion.catch(() => undefined);
    }
    return promotion;
  };
  options.queueHeads?.useTable(getConfig().tableName);
  // The pass's concurrent claims share reads and transactions when they meet (one request for several).
  const requests: PassRequests = { commit: groupCommit(), getItems: groupGet() };
  const failed = new Set<string>();
  const servedByThisPass = new Map<string, string | null>();
  // Named users still to claim for: all of them in the first round; then those claimed for who
  // have more to start, and those who lost a race (once more, as a pass retries lost races).
  let named = [...new Set(options.forUsers ?? [])];
  let readReady = options.readReady ?? true;
  const retriedNamed = new Set<string>();
  let emptyRounds = 0;
  while (result.claimed.length < maxClaims && emptyRounds < 2) {
    const settledBeforeRead = promotionSettled;
    const conflictsBefore = result.conflicts;
    const remembered = options.queueHeads;
    let ids: string[];
    // Users the round read beyond its page, in the same order: each race the round loses is made
    // up for by the next of them, so a lost race costs a claim attempt, not another read of `ready`.
    let spare: string[] = [];
    let ready: ReadyPage | null = null;
    // Each user's `last_served_at` as the round's read of `ready` shows it.
    let servedAtRead = new Map<string, string | null | undefined>();
    if (readReady) {
      ready = await listReadyUsers(pageSize * READY_CANDIDATE_PAGES);
      startPromotion();
      servedAtRead = new Map(ready.users.map((entry) => [entry.userId, entry.servedAt]));
      const nowMs = clock().getTime();
      const ordered = shuffleWithinTies(ready.users, Math.random, remembered ? (id) => remembered.has(id, nowMs, servedAtRead.get(id)) : undefined);
      // Named users the index does not show yet (it lags behind the waking write) come after its
      // page, even a full one: their wake is this pass, and nobody else's names them.
      const candidates = ordered.filter((id) => !failed.has(id));
      const page = candidates.slice(0, pageSize);
      spare = candidates.slice(pageSize);
      ids = [...page, ...named.filter((id) => !page.includes(id) && !failed.has(id))];
      named = [];
    } else {
      startPromotion();
      // A round takes a page of them; the rest wait for the next round.
      const waiting = named.filter((id) => !failed.has(id));
      ids = waiting.slice(0, pageSize);
      named = waiting.slice(pageSize);
    }
    result.readyUsersSeen = Math.max(result.readyUsersSeen, ids.length);
    if (ids.length === 0 && skipPromotion) {
      // Nobody ready and the pace holds promotion back: the caller asks for a catch-up pass.
      result.promotionHeldBack = true;
      break;
    }
    if (ids.length === 0) {
      // Users promoted after this read began are only in the next one (a pass for named users
      // reads the ready index for them: nobody's wake names them).
      if (settledBeforeRead || (await startPromotion()) === 0) break;
      readReady = true;
      continue;
    }
    // One BatchGetItem for the accounts of the users whose queue head this orchestrator remembers:
    // their claims are then that read and the transaction. It is each such claim's read (the claim
    // starts with it, as another starts with its fresh read), so the round's other claims do not
    // wait for it. If it fails, those users are claimed as the others.
    const headsAt = clock().getTime();
    const withHeads = new Set(remembered ? ids.filter((id) => remembered.has(id, headsAt, servedAtRead.get(id))) : []);
    const accounts =
      withHeads.size > 0
        ? getStoredAccounts([...withHeads]).catch((error: unknown) => {
            logger.warn('could not read the accounts of remembered queue heads; claiming from fresh reads', { users: withHeads.size, error });
            return new Map<string, StoredUser>();
          })
        : undefined;
    const namedThisRound = new Set(ready ? [] : ids);
    const again: string[] = [];
    const messages: SpawnMessage[] = [];
    const queue = [...ids];
    let inFlight = 0;
    const attempted = new Set<string>();
    let moreToClaim = false;
    let sparesTaken = 0;
    const claimOne = async (userId: string): Promise<void> => {
      const now = clock();
      let attempt: Attempt;
      try {
        const account = accounts && withHeads.has(userId) ? (await accounts).get(userId) : undefined;
        attempt = await claimForUser(userId, options, requests, now, result, account, { servedAtRead: servedAtRead.get(userId), servedByThisPass: servedByThisPass.get(userId), named: !servedAtRead.has(userId) });
      } catch (error) {
        inFlight -= 1;
        failed.add(userId);
        result.failedUsers.push(userId);
        logger.error('claim failed; the user is retried shortly', { user_id: userId, error });
        count('PassItemFailures');
        await deferFailedUser(userId, now);
        return;
      }
      // No longer in flight in the same tick as a claim is counted: a claim counted as both would
      // make the other workers stop one claim short of `maxClaims`, and cost the pass a round.
      inFlight -= 1;
      if (attempt.kind === 'claimed') {
        result.claimed.push(attempt.task);
        messages.push(attempt.message);
        servedByThisPass.set(userId, attempt.account.last_served_at);
        if (schedulingStateNow(attempt.account, now).kind === 'ready') {
          moreToClaim = true;
          if (namedThisRound.has(userId)) again.push(userId);
        }
      } else if (attempt.kind === 'conflict') {
        result.conflicts += 1;
        if (namedThisRound.has(userId) && !retriedNamed.has(userId)) {
          retriedNamed.add(userId);
          again.push(userId);
        }
      }
    };
    // Users are taken in the ready order, `concurrency` at a time: each claim is its own account's
    // transaction (though it may travel in one request with others'), so a lost race or a failure
    // of one user's claim never holds up another's.
    const worker = async (): Promise<void> => {
      while (result.claimed.length + inFlight < maxClaims) {
        // The page first; then one spare user for each race lost so far this round.
        let userId = queue.shift();
        if (userId === undefined && result.conflicts - conflictsBefore > sparesTaken) {
          userId = spare.shift();
          sparesTaken += 1;
        }
        if (userId === undefined) return;
        inFlight += 1;
        attempted.add(userId);
        await claimOne(userId);
      }
    };
    try {
      await Promise.all(Array.from({ length: Math.min(concurrency, queue.length) }, worker));
    } finally {
      // A claimed task must not wait for the stale-claim sweep because something after its claim threw.
      if (messages.length > 0) await sendSpawnMessages(messages);
    }
    if (!ready) {
      // A pass for named users: the next round is for those a full page left waiting, then those
      // who have more to start or lost a race.
      named = [...named, ...again];
      if (named.length > 0) continue;
      if (skipPromotion && result.claimed.length === 0) {
        // Idle, and the pace holds promotion back: the caller asks for a catch-up pass, as a full pass does.
        result.promotionHeldBack = true;
        break;
      }
      // Users this pass's promotion re-filed are only in the ready index.
      const promoted = await startPromotion().catch(() => 0);
      if (promoted === 0) break;
      readReady = true;
      continue;
    }
    if (messages.length > 0) {
      emptyRounds = 0;
      const sawEveryone = ready.complete && ready.users.every((entry) => attempted.has(entry.userId)) && result.conflicts === conflictsBefore;
      if (sawEveryone && !moreToClaim) {
        // Every ready user was tried once and none of those claimed for has more to start: another
        // round would find only users filed since this round's read, each of whom woke the
        // orchestrator themselves (a create, a freed slot), or those this pass's promotion filed.
        const promoted = await startPromotion().catch(() => 0);
        if (promoted === 0) break;
      }
    } else if (result.conflicts === conflictsBefore && settledBeforeRead) {
      // Nothing claimed and no race lost: another round would read the same index again.
      break;
    } else {
      // Lost races are retried once more; and a promotion still running may file new users.
      if (!promotionSettled) await startPromotion().catch(() => undefined);
      emptyRounds += 1;
    }
  }
  for (const task of result.claimed) {
    logger.info('task claimed', { task_id: task.id, user_id: task.user_id, attempt: task.attempts, timeout_seconds: task.reserved_seconds });
  }
  result.promoted = await startPromotion();
  return result;
}

/** What the batch ETA needs to know about the user's lanes and the work competing for them. */
export interface BatchEtaInput {
  now: Date;
  /** The batch's `not_before`, or `now` when it may start at once. */
  startAt: Date;
  deadline?: Date | null;
  /** The user's max_concurrent_agents. */
  slots: number;
  /** Tasks running now: the minutes each may still take. */
  runningRemainingMinutes: readonly number[];
  /** The user's pending tasks ahead of this batch, in claim order. */
  queuedAheadMinutes: readonly number[];
  /** The batch's tasks in claim order: `estimated_minutes`, or null when unknown. */
  batchTaskMinutes: readonly (number | null)[];
  /** Used for unknown estimates: the user's recent average run, else the plan's max duration. */
  fallbackMinutes: number;
  /** The plan's max task duration: no task can run longer, so it caps every estimate. */
  maxTaskMinutes: number;
  plan: string;
  /** IANA zone for the times in `reason`; default UTC. */
  timezone?: string;
}

export interface BatchEta {
  expected_finish_at: string;
  /** Null when the batch has no deadline. */
  on_track: boolean | null;
  /** Why the batch is expected to miss its deadline, for people; null otherwise. */
  reason: string | null;
}

const MINUTE_MS = 60_000;

/**
 * Estimates when a batch finishes by simulating the orchestrator's list scheduling: `slots`
 * lanes, occupied first by running work, then by the pending tasks ahead, then by the batch's
 * tasks in order, each starting as soon as a lane is free but not before `startAt` (batch tasks)
 * or `now` (everything else).
 */
export function estimateBatchCompletion(input: BatchEtaInput): BatchEta {
  const { now, slots, maxTaskMinutes } = input;
  if (!Number.isInteger(slots) || slots < 1) {
    throw new RangeError(`slots must be a positive integer, got ${slots}`);
  }
  if (!(maxTaskMinutes > 0)) {
    throw new RangeError(`maxTaskMinutes must be positive, got ${maxTaskMinutes}`);
  }
  const cap = (minutes: number): number =>
    Number.isFinite(minutes) ? Math.min(Math.max(minutes, 0), maxTaskMinutes) : maxTaskMinutes;

  const nowMs = now.getTime();
  const batchStartMs = Math.max(nowMs, input.startAt.getTime());
  const batchMinutes = input.batchTaskMinutes.map((minutes) => cap(minutes ?? input.fallbackMinutes));

  const lanes = new Lanes(
    slots,
    input.runningRemainingMinutes.map((minutes) => nowMs + cap(minutes) * MINUTE_MS),
  );
  for (const minutes of input.queuedAheadMinutes) lanes.run(nowMs, cap(minutes));
  let finishMs = batchStartMs;
  for (const minutes of batchMinutes) finishMs = Math.max(finishMs, lanes.run(batchStartMs, minutes));

  const deadline = input.deadline ?? null;
  const onTrack = deadline === null ? null : finishMs <= deadline.getTime();
  return {
    expected_finish_at: new Date(finishMs).toISOString(),
    on_track: onTrack,
    reason:
      onTrack === false && deadline !== null
        ? missReason(input, batchMinutes, finishMs, deadline, input.timezone ?? 'UTC')
        : null,
  };
}

/** One pending task for `estimateStartTimes`: how long it takes and the earliest it may start. */
export interface QueuedWork {
  minutes: number | null;
  /** not_before, a quota reset, or null for now. */
  earliestAt: Date | null;
}

/**
 * When each of the user's pending tasks is expected to start, by the same list simulation as
 * estimateBatchCompletion: `slots` lanes, first taken by running work, then by `queued` in claim
 * order, except that work which may not start yet (not_before, a quota reset) is passed by the
 * work behind it, as the orchestrator does. Answers the start times in the order given.
 */
export function estimateStartTimes(input: {
  now: Date;
  slots: number;
  runningRemainingMinutes: readonly number[];
  queued: readonly QueuedWork[];
  fallbackMinutes: number;
  maxTaskMinutes: number;
}): Date[] {
  const slots = Math.max(1, Math.floor(input.slots));
  const maxTaskMinutes = input.maxTaskMinutes > 0 ? input.maxTaskMinutes : 1;
  const cap = (minutes: number): number => (Number.isFinite(minutes) ? Math.min(Math.max(minutes, 0), maxTaskMinutes) : maxTaskMinutes);
  const nowMs = input.now.getTime();
  const lanes = new Lanes(slots, input.runningRemainingMinutes.map((minutes) => nowMs + cap(minutes) * MINUTE_MS));
  const order = input.queued
    .map((work, index) => ({ index, earliest: Math.max(nowMs, work.earliestAt?.getTime() ?? nowMs), minutes: cap(work.minutes ?? input.fallbackMinutes) }))
    .sort((a, b) => a.earliest - b.earliest || a.index - b.index);
  const starts: Date[] = new Array<Date>(input.queued.length);
  for (const work of order) starts[work.index] = new Date(lanes.run(work.earliest, work.minutes) - work.minutes * MINUTE_MS);
  return starts;
}

/** Parallel lanes that start work strictly in the order it is handed in, as the orchestrator claims it. */
class Lanes {
  /** Finish times of the work occupying a lane, ascending. */
  private busyUntil: number[];
  private lastStart = Number.NEGATIVE_INFINITY;

  constructor(
    private readonly slots: number,
    running: readonly number[],
  ) {
    // More running tasks than slots is possible after a plan downgrade; they all keep running.
    this.busyUntil = [...running].sort((a, b) => a - b);
  }

  /** Runs one task of `minutes`, starting no earlier than `earliestMs`; returns its finish time. */
  run(earliestMs: number, minutes: number): number {
    const freeAt = this.busyUntil.length >= this.slots ? this.busyUntil[this.busyUntil.length - this.slots] : undefined;
    const start = Math.max(earliestMs, this.lastStart, freeAt ?? Number.NEGATIVE_INFINITY);
    const finish = start + minutes * MINUTE_MS;
    this.busyUntil = [...this.busyUntil.filter((busy) => busy > start), finish].sort((a, b) => a - b);
    this.lastStart = start;
    return finish;
  }
}

/** E.g. "3 slots on pro, 12 tasks of ~40 min: expected 03:10, deadline 02:00". */
function missReason(
  input: BatchEtaInput,
  batchMinutes: readonly number[],
  finishMs: number,
  deadline: Date,
  timezone: string,
): string {
  const count = batchMinutes.length;
  const average = count === 0 ? 0 : batchMinutes.reduce((sum, minutes) => sum + minutes, 0) / count;
  const ahead = [
    input.runningRemainingMinutes.length > 0 ? `${input.runningRemainingMinutes.length} running` : null,
    input.queuedAheadMinutes.length > 0 ? `${input.queuedAheadMinutes.length} queued` : null,
  ].filter((part): part is string => part !== null);
  const behind = ahead.length > 0 ? ` behind ${ahead.join(' and ')}` : '';

  // Round against the batch: an expected 02:00:30 reads 02:01, not a tie with a 02:00 deadline.
  const expected = localTime(new Date(Math.ceil(finishMs / MINUTE_MS) * MINUTE_MS), timezone);
  const due = localTime(deadline, timezone);
  const daysLater = Math.round((expected.dayMs - due.dayMs) / 86_400_000);
  const dayNote = daysLater > 0 ? ` (+${daysLater} ${daysLater === 1 ? 'day' : 'days'})` : '';

  return (
    `${plural(input.slots, 'slot')} on ${input.plan}, ` +
    `${plural(count, 'task')} of ~${Math.max(1, Math.round(average))} min${behind}: ` +
    `expected ${expected.hhmm}${dayNote}, deadline ${due.hhmm}`
  );
}

function plural(count: number, noun: string): string {
  return `${count} ${noun}${count === 1 ? '' : 's'}`;
}

/** HH:MM in `timezone`, and the local calendar day (as a UTC midnight) to tell days apart. */
function localTime(instant: Date, timezone: string): { hhmm: string; dayMs: number } {
  const parts = new Intl.DateTimeFormat('en-GB', {
    timeZone: timezone,
    hourCycle: 'h23',
    year: 'numeric',
    month: 'numeric',
    day: 'numeric',
    hour: '2-digit',
    minute: '2-digit',
  }).formatToParts(instant);
  const part = (type: Intl.DateTimeFormatPartTypes): string => parts.find((p) => p.type === type)?.value ?? '0';
  return {
    hhmm: `${part('hour').padStart(2, '0')}:${part('minute').padStart(2, '0')}`,
    dayMs: Date.UTC(Number(part('year')), Number(part('month')) - 1, Number(part('day'))),
  };
}

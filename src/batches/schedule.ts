import { Cron, CronPattern } from 'croner';

/**
 * Recurrence of a scheduled batch: a 5-field cron (`m h dom mon dow`) read in an IANA time zone.
 * In AWS EventBridge Scheduler fires it; on one machine the local runtime's timers do, using
 * the helpers below so that both fire at the same instants.
 */
export interface BatchSchedule {
  /** The cron expression, trimmed and single-spaced. */
  readonly cron: string;
  /** Canonical IANA zone name (e.g. `europe/berlin` becomes `Europe/Berlin`). */
  readonly timezone: string;
}

export type InvalidScheduleField = 'cron' | 'timezone';

/** A recurrence the product cannot run; its message is meant for the person who wrote it. */
export class InvalidScheduleError extends Error {
  readonly code = 'INVALID_SCHEDULE' as const;

  constructor(
    readonly field: InvalidScheduleField,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
    this.name = 'InvalidScheduleError';
  }
}

const FIELD_NAMES = ['minute', 'hour', 'day-of-month', 'month', 'day-of-week'] as const;
const EVENTBRIDGE_MAX_EXPRESSION_LENGTH = 256;
/** Longest day of each month (February counts its leap day). */
const MAX_DAYS_IN_MONTH = [31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31] as const;
/** Sizes of clock shifts seen in the tz database (Lord Howe moves 30 min, wartime rules 2 h). */
const CLOCK_SHIFT_MINUTES = [30, 60, 120] as const;
/** Occurrences dropped by the DST rules come at most a few per year; this only stops a runaway loop. */
const MAX_SKIPPED_OCCURRENCES = 1_000;
const MINUTE_MS = 60_000;
const DAY_MS = 24 * 60 * MINUTE_MS;
/**
 * How far back `occurrenceAt` looks, widening until it finds an occurrence: from an hour (so a
 * minutely schedule stays cheap) to 30 years (29 February may be 8 years away, e.g. 2096 to 2104).
 */
const OCCURRENCE_LOOK_BACK_MS = [60 * MINUTE_MS, DAY_MS, 8 * DAY_MS, 32 * DAY_MS, 367 * DAY_MS, 2_923 * DAY_MS, 10_958 * DAY_MS];

/**
 * Validates a recurrence and returns it normalised. Rejects (with `InvalidScheduleError`) anything
 * that is not a 5-field cron, that never occurs, that EventBridge Scheduler cannot run (so that
 * one machine and AWS accept the same schedules), and zones that are not IANA names.
 */
export function parseSchedule(input: { cron: string; timezone: string }): BatchSchedule {
  const cron = normaliseCron(input.cron);
  const timezone = canonicalTimeZone(input.timezone);
  const expression = compile(cron, timezone);
  assertCanOccur(cron, expression);
  toEventBridgeScheduleExpression(cron);
  return { cron, timezone };
}

/**
 * The next `count` occurrences strictly after `after`, as UTC instants.
 * Follows EventBridge Scheduler across DST changes: a wall time that does not exist (clocks
 * going forward) is skipped, and a wall time that happens twice (clocks going back) fires once.
 */
export function nextOccurrences(schedule: BatchSchedule, after: Date, count: number): Date[] {
  if (!Number.isInteger(count) || count < 0) {
    throw new RangeError(`count must be a non-negative integer, got ${count}`);
  }
  const expression = compile(schedule.cron, schedule.timezone);
  const occurrences: Date[] = [];
  let cursor = after;
  let skipped = 0;
  while (occurrences.length < count && skipped <= MAX_SKIPPED_OCCURRENCES) {
    const candidate = expression.job.nextRun(cursor);
    if (candidate === null) break;
    cursor = candidate;
    if (isRealOccurrence(expression, schedule.timezone, candidate)) occurrences.push(candidate);
    else skipped += 1;
  }
  return occurrences;
}

/**
 * The occurrence a trigger firing at `at` stands for: the latest occurrence at or before `at`
 * (seconds ignored), so that a late timer still maps to the occurrence it was meant for.
 * Null when the schedule has no occurrence before `at`.
 */
export function occurrenceAt(schedule: BatchSchedule, at: Date): Date | null {
  // Searched forwards from ever earlier starts: croner's backward search throws on some schedules
  // (29 February) and finds nothing across some DST gaps, while its forward search is the one it is
  // built around.
  const expression = compile(schedule.cron, schedule.timezone);
  const end = floorToMinute(at);
  for (const lookBack of OCCURRENCE_LOOK_BACK_MS) {
    let cursor = new Date(end - lookBack);
    let latest: Date | null = null;
    for (;;) {
      const candidate = expression.job.nextRun(cursor);
      if (candidate === null || candidate.getTime() > end) break;
      if (isRealOccurrence(expression, schedule.timezone, candidate)) latest = candidate;
      cursor = candidate;
    }
    if (latest !== null) return latest;
  }
  return null;
}

/**
 * Stable id of one occurrence, for enqueueing it exactly once: its UTC minute in ISO form
 * (`2026-10-26T00:00Z`). It does not depend on the zone's offset or on seconds of trigger delay.
 * Throws a RangeError when `occurrence` is not an occurrence of `schedule`: pass a value from
 * `nextOccurrences` or `occurrenceAt`.
 */
export function occurrenceKey(schedule: BatchSchedule, occurrence: Date): string {
  const minute = new Date(floorToMinute(occurrence));
  const expression = compile(schedule.cron, schedule.timezone);
  if (!isRealOccurrence(expression, schedule.timezone, minute)) {
    throw new RangeError(
      `${minute.toISOString()} is not an occurrence of "${schedule.cron}" in ${schedule.timezone}`,
    );
  }
  return `${minute.toISOString().slice(0, 16)}Z`;
}

/**
 * Converts a 5-field cron into EventBridge Scheduler's `cron(m h dom mon dow year)`: day-of-week
 * becomes 1-7 = SUN-SAT, the unused day field becomes `?`, and lists are written out explicitly.
 * The time zone goes separately in the schedule's `ScheduleExpressionTimezone`.
 * Throws `InvalidScheduleError` for what EventBridge cannot express (e.g. both a day of month and
 * a day of week, which classic cron reads as "either").
 */
export function toEventBridgeScheduleExpression(cron: string): string {
  const normalised = normaliseCron(cron);
  const { fields } = compile(normalised, 'UTC');
  const [dayOfMonth, dayOfWeek] = eventBridgeDays(
    normalised,
    fields.dayOfMonth.isWildcard,
    fields.dayOfMonth.values,
    fields.dayOfWeek.isWildcard,
    fields.dayOfWeek.values,
    fields.dayOfWeek.nthDay,
  );
  const parts = [
    numericField(fields.minute, 0, 59),
    numericField(fields.hour, 0, 23),
    dayOfMonth,
    numericField(fields.month, 1, 12),
    dayOfWeek,
    '*',
  ];
  const expression = `cron(${parts.join(' ')})`;
  if (expression.length > EVENTBRIDGE_MAX_EXPRESSION_LENGTH) {
    throw new InvalidScheduleError(
      'cron',
      `"${normalised}" becomes longer than EventBridge Scheduler's ${EVENTBRIDGE_MAX_EXPRESSION_LENGTH} characters`,
    );
  }
  return expression;
}

function normaliseCron(raw: string): string {
  const parts = raw.trim().split(/\s+/).filter((part) => part !== '');
  if (parts.length !== FIELD_NAMES.length) {
    throw new InvalidScheduleError(
      'cron',
      `"${raw.trim()}" has ${parts.length} field(s); a schedule needs 5: ${FIELD_NAMES.join(' ')}`,
    );
  }
  // H (a hash-picked value in some crons) is not a time its owner can read.
  if (parts.some((part) => /(^|[^a-z])h([^a-z]|$)/i.test(part))) {
    throw new InvalidScheduleError('cron', `"${parts.join(' ')}" uses H (a random time); name the time instead`);
  }
  return parts.join(' ');
}

function canonicalTimeZone(raw: string): string {
  let resolved: string;
  try {
    resolved = new Intl.DateTimeFormat('en-US', { timeZone: raw.trim() }).resolvedOptions().timeZone;
  } catch (error) {
    throw new InvalidScheduleError('timezone', `"${raw}" is not an IANA time zone (e.g. Europe/Berlin)`, {
      cause: error,
    });
  }
  // Newer runtimes also accept offsets such as "+01:00"; those have no DST rules and EventBridge refuses them.
  if (raw.trim() === '' || !/^[A-Za-z]/.test(resolved)) {
    throw new InvalidScheduleError('timezone', `"${raw}" is not an IANA time zone (e.g. Europe/Berlin)`);
  }
  return resolved;
}

/** One compiled recurrence: croner's iterator in the zone, and the parsed fields read as cron writes them. */
interface CompiledSchedule {
  readonly job: Cron;
  readonly fields: ScheduleFields;
}

interface ScheduleFields {
  readonly minute: readonly number[];
  readonly hour: readonly number[];
  /** Days 1-31, and 'L' for the last day of the month. */
  readonly dayOfMonth: { readonly isWildcard: boolean; readonly values: readonly (number | 'L')[] };
  readonly month: readonly number[];
  /** Days 0-6 from Sunday, `nL` for the last such day of the month; `nthDay` > 0 for `n#k`. */
  readonly dayOfWeek: { readonly isWildcard: boolean; readonly values: readonly (number | string)[]; readonly nthDay: number };
}

/** croner's bit for "last" in a day-of-week entry; bits 1, 2, 4, 8, 16 are the 1st to 5th. */
const LAST_WEEKDAY_OF_MONTH_BIT = 0b100000;
const EVERY_WEEKDAY_OF_MONTH = 0b111111;

function compile(cron: string, timezone: string): CompiledSchedule {
  const fields = cron.split(' ');
  // ? means any value here (Quartz's "no specific value"); croner reads it as "now", which no schedule may mean.
  const pattern = fields.map((field) => (field === '?' ? '*' : field)).join(' ');
  try {
    if (pattern.includes('?')) throw new Error('? stands alone in its field');
    if (/w/i.test(pattern.replace(/wed/gi, ''))) throw new Error('W (nearest weekday) is not supported');
    const options = { mode: '5-part', sloppyRanges: true } as const;
    const parsed = new CronPattern(pattern, timezone, options);
    if (parsed.lastWeekday) throw new Error('LW is not supported');
    const job = new Cron(pattern, { ...options, timezone, domAndDow: false, paused: true });
    return { job, fields: readFields(parsed) };
  } catch (error) {
    const detail = error instanceof Error ? error.message : String(error);
    throw new InvalidScheduleError('cron', `"${cron}" is not a valid cron expression: ${detail}`, { cause: error });
  }
}

function readFields(pattern: CronPattern): ScheduleFields {
  const setIndexes = (flags: readonly number[], offset = 0): number[] =>
    flags.flatMap((flag, index) => (flag === 0 ? [] : [index + offset]));
  const days: (number | 'L')[] = setIndexes(pattern.day, 1);
  if (pattern.lastDayOfMonth) days.push('L');
  const weekdays: (number | string)[] = [];
  let nthDay = 0;
  pattern.dayOfWeek.forEach((flag, day) => {
    if (flag === 0) return;
    if (flag === EVERY_WEEKDAY_OF_MONTH) weekdays.push(day);
    else if ((flag & LAST_WEEKDAY_OF_MONTH_BIT) !== 0) weekdays.push(`${day}L`);
    else {
      weekdays.push(day);
      nthDay = Math.log2(flag & -flag) + 1;
    }
  });
  return {
    minute: setIndexes(pattern.minute),
    hour: setIndexes(pattern.hour),
    dayOfMonth: { isWildcard: pattern.starDOM, values: days },
    month: setIndexes(pattern.month, 1),
    dayOfWeek: { isWildcard: pattern.starDOW, values: weekdays, nthDay },
  };
}

/** A day-of-month that never happens (e.g. 31 in February or April) would make the search run without end. */
function assertCanOccur(cron: string, expression: CompiledSchedule): void {
  const { dayOfMonth, dayOfWeek, month } = expression.fields;
  if (dayOfMonth.isWildcard || !dayOfWeek.isWildcard) return;
  const days = dayOfMonth.values.filter((day): day is Exclude<typeof day, 'L'> => day !== 'L');
  if (days.length < dayOfMonth.values.length) return;
  const possible = month.some((m) => days.some((day) => day <= (MAX_DAYS_IN_MONTH[m - 1] ?? 31)));
  if (!possible) {
    throw new InvalidScheduleError('cron', `"${cron}" never occurs: none of its days exist in its months`);
  }
}

/**
 * EventBridge Scheduler skips wall times that do not exist and fires a repeated wall time once;
 * croner moves the first to the next valid time, so it is filtered, and so is a second firing of
 * a repeated wall time, whatever the iterator does with it.
 */
function isRealOccurrence(expression: CompiledSchedule, timezone: string, instant: Date): boolean {
  if (!expression.job.match(instant)) return false;
  const wallClock = wallClockMs(instant, timezone);
  return !CLOCK_SHIFT_MINUTES.some(
    (minutes) => wallClockMs(new Date(instant.getTime() - minutes * MINUTE_MS), timezone) === wallClock,
  );
}

const wallClockFormats = new Map<string, Intl.DateTimeFormat>();

/** The instant's local date and time in `timezone`, read as if it were UTC (milliseconds). */
function wallClockMs(instant: Date, timezone: string): number {
  let format = wallClockFormats.get(timezone);
  if (format === undefined) {
    format = new Intl.DateTimeFormat('en-US', {
      timeZone: timezone,
      hourCycle: 'h23',
      year: 'numeric',
      month: 'numeric',
      day: 'numeric',
      hour: 'numeric',
      minute: 'numeric',
      second: 'numeric',
    });
    wallClockFormats.set(timezone, format);
  }
  const parts = format.formatToParts(instant);
  const part = (type: Intl.DateTimeFormatPartTypes): number =>
    Number(parts.find((p) => p.type === type)?.value ?? 0);
  return Date.UTC(part('year'), part('month') - 1, part('day'), part('hour'), part('minute'), part('second'));
}

/** The start of the minute `instant` falls in (ms): occurrence keys and triggers are minute-grained. */
export function floorToMinute(instant: Date): number {
  return Math.floor(instant.getTime() / MINUTE_MS) * MINUTE_MS;
}

function eventBridgeDays(
  cron: string,
  dayOfMonthIsWildcard: boolean,
  dayOfMonthValues: readonly (number | string)[],
  dayOfWeekIsWildcard: boolean,
  dayOfWeekValues: readonly (number | string)[],
  nthDayOfWeek: number,
): [dayOfMonth: string, dayOfWeek: string] {
  const weekdays = new Set(dayOfWeekValues.map((day) => (typeof day === 'number' ? day % 7 : day)));
  const everyDayOfWeek = nthDayOfWeek === 0 && weekdays.size === 7 && [...weekdays].every((d) => typeof d === 'number');
  const everyDayOfMonth = dayOfMonthValues.length === 31 && dayOfMonthValues.every((d) => typeof d === 'number');

  if (dayOfMonthIsWildcard && dayOfWeekIsWildcard) return ['*', '?'];
  if (!dayOfMonthIsWildcard && !dayOfWeekIsWildcard) {
    // Classic cron (and croner, with domAndDow off) fires when either day field matches: only "every day" survives.
    if (everyDayOfMonth || everyDayOfWeek) return ['*', '?'];
    throw new InvalidScheduleError(
      'cron',
      `"${cron}" restricts both day-of-month and day-of-week, which EventBridge Scheduler cannot express; use one of them`,
    );
  }
  if (!dayOfMonthIsWildcard) return [eventBridgeDayOfMonth(cron, dayOfMonthValues), '?'];
  return ['?', eventBridgeDayOfWeek(cron, [...weekdays], nthDayOfWeek)];
}

function eventBridgeDayOfMonth(cron: string, values: readonly (number | string)[]): string {
  if (values.length === 1 && values[0] === 'L') return 'L';
  const days = values.filter((day): day is number => typeof day === 'number');
  if (days.length !== values.length) {
    throw new InvalidScheduleError('cron', `"${cron}": EventBridge Scheduler takes L only on its own in day-of-month`);
  }
  return numericField(days, 1, 31);
}

/** cron counts 0-6 from Sunday (7 is Sunday too); EventBridge counts 1-7 from Sunday. */
function eventBridgeDayOfWeek(cron: string, weekdays: readonly (number | string)[], nthDay: number): string {
  const [only] = weekdays;
  if (weekdays.length === 1 && typeof only === 'string') {
    const last = /^([0-7])L$/.exec(only);
    if (last?.[1] !== undefined) return `${(Number(last[1]) % 7) + 1}L`;
  }
  const days = weekdays.filter((day): day is number => typeof day === 'number');
  if (days.length !== weekdays.length) {
    throw new InvalidScheduleError('cron', `"${cron}": EventBridge Scheduler takes nL only on its own in day-of-week`);
  }
  if (nthDay > 0) {
    if (days.length !== 1 || only === undefined) {
      throw new InvalidScheduleError('cron', `"${cron}": EventBridge Scheduler takes # only with a single day`);
    }
    return `${(Number(only) % 7) + 1}#${nthDay}`;
  }
  // No `/` here: EventBridge does not accept steps in day-of-week.
  return numericField(
    days.map((day) => day + 1),
    1,
    7,
    false,
  );
}

/** Writes a set of values as `*`, `start/step`, or ranges and single values separated by commas. */
function numericField(values: readonly number[], min: number, max: number, allowStep = true): string {
  const sorted = [...new Set(values)].sort((a, b) => a - b);
  if (sorted.length === max - min + 1) return '*';
  const [first, second] = sorted;
  if (allowStep && first !== undefined && second !== undefined && sorted.length >= 3) {
    const step = second - first;
    const isProgression = sorted.every((value, index) => value === first + index * step);
    const last = sorted[sorted.length - 1] ?? first;
    if (step > 1 && isProgression && last + step > max) return `${first}/${step}`;
  }
  const pieces: string[] = [];
  let runStart = 0;
  for (let index = 1; index <= sorted.length; index += 1) {
    const previous = sorted[index - 1];
    const current = sorted[index];
    if (current !== undefined && previous !== undefined && current === previous + 1) continue;
    const start = sorted[runStart];
    if (start !== undefined && previous !== undefined) {
      if (previous - start >= 2) pieces.push(`${start}-${previous}`);
      else for (let k = runStart; k < index; k += 1) pieces.push(String(sorted[k]));
    }
    runStart = index;
  }
  return pieces.join(',');
}

import { describe, expect, it } from 'vitest';
import {
  InvalidScheduleError,
  nextOccurrences,
  occurrenceAt,
  occurrenceKey,
  parseSchedule,
  toEventBridgeScheduleExpression,
} from '../../../src/batches/schedule.js';

const iso = (dates: readonly Date[]): string[] => dates.map((date) => date.toISOString());

describe('parseSchedule', () => {
  it('normalises the cron and the zone name', () => {
    expect(parseSchedule({ cron: '  0  1 * *   1-5 ', timezone: 'europe/berlin' })).toEqual({
      cron: '0 1 * * 1-5',
      timezone: 'Europe/Berlin',
    });
  });

  it.each([
    { case: 'four fields', cron: '0 1 * *' },
    { case: 'six fields (seconds)', cron: '0 0 1 * * *' },
    { case: 'a macro', cron: '@daily' },
    { case: 'minute out of range', cron: '61 1 * * *' },
    { case: 'hour out of range', cron: '0 25 * * *' },
    { case: 'words', cron: 'every night at one am' },
    { case: 'a day that never exists', cron: '0 1 31 2 *' },
    { case: 'days missing from every month listed', cron: '0 0 31 2,4 *' },
    { case: 'both day fields (EventBridge cannot run it)', cron: '0 1 15 * 1' },
    { case: 'a random (H) minute', cron: 'H 1 * * *' },
  ])('rejects $case: "$cron"', ({ cron }) => {
    expect(() => parseSchedule({ cron, timezone: 'UTC' })).toThrow(
      expect.objectContaining({ name: 'InvalidScheduleError', code: 'INVALID_SCHEDULE', field: 'cron' }),
    );
  });

  it.each([{ timezone: 'Mars/Olympus' }, { timezone: '' }, { timezone: '+01:00' }, { timezone: 'Berlin' }])(
    'rejects the time zone "$timezone"',
    ({ timezone }) => {
      expect(() => parseSchedule({ cron: '0 1 * * *', timezone })).toThrow(
        expect.objectContaining({ name: 'InvalidScheduleError', field: 'timezone' }),
      );
    },
  );

  it('says what is wrong', () => {
    expect(() => parseSchedule({ cron: '0 1 * *', timezone: 'UTC' })).toThrow(
      '"0 1 * *" has 4 field(s); a schedule needs 5: minute hour day-of-month month day-of-week',
    );
    expect(() => parseSchedule({ cron: '0 1 * * *', timezone: 'Mars/Olympus' })).toThrow(
      '"Mars/Olympus" is not an IANA time zone (e.g. Europe/Berlin)',
    );
    expect(() => parseSchedule({ cron: '0 1 * * *', timezone: 'Mars/Olympus' })).toThrow(InvalidScheduleError);
  });

  it('accepts day names and a week day that is not a weekday', () => {
    expect(parseSchedule({ cron: '0 1 * * THU', timezone: 'America/New_York' }).cron).toBe('0 1 * * THU');
  });
});

describe('nextOccurrences', () => {
  it.each([
    {
      case: 'weeknights 01:00 Berlin across the change to CET on 2026-10-25',
      timezone: 'Europe/Berlin',
      cron: '0 1 * * 1-5',
      after: '2026-10-21T12:00:00Z',
      // 01:00 CEST is 23:00Z the day before; 01:00 CET is 00:00Z.
      expected: [
        '2026-10-21T23:00:00.000Z',
        '2026-10-22T23:00:00.000Z',
        '2026-10-26T00:00:00.000Z',
        '2026-10-27T00:00:00.000Z',
        '2026-10-28T00:00:00.000Z',
      ],
    },
    {
      case: 'weeknights 01:00 New York across the change to EST on 2026-11-01',
      timezone: 'America/New_York',
      cron: '0 1 * * 1-5',
      after: '2026-10-28T12:00:00Z',
      expected: [
        '2026-10-29T05:00:00.000Z',
        '2026-10-30T05:00:00.000Z',
        '2026-11-02T06:00:00.000Z',
        '2026-11-03T06:00:00.000Z',
      ],
    },
    {
      case: 'a wall time that happens twice fires once (01:30 New York on 2026-11-01)',
      timezone: 'America/New_York',
      cron: '30 1 * * *',
      after: '2026-10-31T12:00:00Z',
      expected: ['2026-11-01T05:30:00.000Z', '2026-11-02T06:30:00.000Z'],
    },
    {
      case: 'the repeated hour is not run twice by a half-hourly schedule',
      timezone: 'America/New_York',
      cron: '*/30 * * * *',
      after: '2026-11-01T04:45:00Z',
      expected: ['2026-11-01T05:00:00.000Z', '2026-11-01T05:30:00.000Z', '2026-11-01T07:00:00.000Z', '2026-11-01T07:30:00.000Z'],
    },
    {
      case: 'a wall time that does not exist is skipped, as EventBridge Scheduler does (02:30 New York on 2026-03-08)',
      timezone: 'America/New_York',
      cron: '30 2 * * *',
      after: '2026-03-06T12:00:00Z',
      expected: ['2026-03-07T07:30:00.000Z', '2026-03-09T06:30:00.000Z', '2026-03-10T06:30:00.000Z'],
    },
    {
      case: 'strictly after: an occurrence at "after" is not repeated',
      timezone: 'Europe/Berlin',
      cron: '0 1 * * 1-5',
      after: '2026-10-26T00:00:00Z',
      expected: ['2026-10-27T00:00:00.000Z'],
    },
  ])('$case', ({ timezone, cron, after, expected }) => {
    // Prepare
    const schedule = parseSchedule({ cron, timezone });

    // Act
    const occurrences = nextOccurrences(schedule, new Date(after), expected.length);

    // Assess
    expect(iso(occurrences)).toEqual(expected);
  });

  it('gives nothing for a count of zero and refuses a negative count', () => {
    const schedule = parseSchedule({ cron: '0 1 * * *', timezone: 'UTC' });
    expect(nextOccurrences(schedule, new Date('2026-01-01T00:00:00Z'), 0)).toEqual([]);
    expect(() => nextOccurrences(schedule, new Date('2026-01-01T00:00:00Z'), -1)).toThrow(RangeError);
  });
});

describe('occurrenceAt and occurrenceKey', () => {
  const berlin = parseSchedule({ cron: '0 1 * * 1-5', timezone: 'Europe/Berlin' });

  it.each([
    { case: 'a trigger on time', at: '2026-10-26T00:00:00Z', expected: '2026-10-26T00:00:00.000Z', key: '2026-10-26T00:00Z' },
    { case: 'a trigger seconds late', at: '2026-10-26T00:00:42.500Z', expected: '2026-10-26T00:00:00.000Z', key: '2026-10-26T00:00Z' },
    { case: 'a trigger minutes late', at: '2026-10-26T00:07:00Z', expected: '2026-10-26T00:00:00.000Z', key: '2026-10-26T00:00Z' },
    { case: 'over the weekend and the DST change: Friday 01:00 CEST', at: '2026-10-25T12:00:00Z', expected: '2026-10-22T23:00:00.000Z', key: '2026-10-22T23:00Z' },
  ])('$case', ({ at, expected, key }) => {
    // Act
    const occurrence = occurrenceAt(berlin, new Date(at));

    // Assess
    expect(occurrence?.toISOString()).toBe(expected);
    expect(occurrence && occurrenceKey(berlin, occurrence)).toBe(key);
  });

  it('gives the same key to the same occurrence however it was found', () => {
    const [planned] = nextOccurrences(berlin, new Date('2026-10-25T12:00:00Z'), 1);
    const fired = occurrenceAt(berlin, new Date('2026-10-26T00:00:37Z'));

    expect(planned && occurrenceKey(berlin, planned)).toBe('2026-10-26T00:00Z');
    expect(fired && occurrenceKey(berlin, fired)).toBe('2026-10-26T00:00Z');
    expect(occurrenceKey(berlin, new Date('2026-10-26T00:00:59.999Z'))).toBe('2026-10-26T00:00Z');
  });

  it('gives different occurrences different keys', () => {
    const keys = nextOccurrences(berlin, new Date('2026-10-19T00:00:00Z'), 10).map((date) => occurrenceKey(berlin, date));

    expect(new Set(keys).size).toBe(10);
  });

  it.each([
    { case: 'a time the schedule never fires at', at: '2026-10-26T01:00:00Z' },
    { case: 'a Sunday', at: '2026-10-25T00:00:00Z' },
  ])('refuses a key for $case', ({ at }) => {
    expect(() => occurrenceKey(berlin, new Date(at))).toThrow(RangeError);
  });

  it('maps a trigger to an occurrence long past (a yearly schedule in June)', () => {
    const newYear = parseSchedule({ cron: '0 0 1 1 *', timezone: 'UTC' });
    expect(occurrenceAt(newYear, new Date('2026-06-01T00:00:00Z'))?.toISOString()).toBe('2026-01-01T00:00:00.000Z');
  });
});

describe('toEventBridgeScheduleExpression', () => {
  it.each([
    { cron: '0 1 * * 1-5', expected: 'cron(0 1 ? * 2-6 *)' },
    { cron: '30 23 * * *', expected: 'cron(30 23 * * ? *)' },
    { cron: '0 1 * * MON-FRI', expected: 'cron(0 1 ? * 2-6 *)' },
    { cron: '0 1 ? * 1-5', expected: 'cron(0 1 ? * 2-6 *)' },
    { cron: '0 22 * * 0,6', expected: 'cron(0 22 ? * 1,7 *)' },
    { cron: '0 22 * * 7', expected: 'cron(0 22 ? * 1 *)' },
    { cron: '0 22 * * 1,3,5', expected: 'cron(0 22 ? * 2,4,6 *)' },
    { cron: '*/15 1-3 * * *', expected: 'cron(0/15 1-3 * * ? *)' },
    { cron: '0 */6 * * *', expected: 'cron(0 0/6 * * ? *)' },
    { cron: '0 2 1,15 * *', expected: 'cron(0 2 1,15 * ? *)' },
    { cron: '0 2 L * *', expected: 'cron(0 2 L * ? *)' },
    { cron: '0 2 * * 5L', expected: 'cron(0 2 ? * 6L *)' },
    { cron: '0 2 * * 1#2', expected: 'cron(0 2 ? * 2#2 *)' },
    { cron: '0 3 * JAN,JUL *', expected: 'cron(0 3 * 1,7 ? *)' },
    // Classic cron fires when either day field matches; "every day of the month" makes it every day.
    { cron: '0 1 1-31 * 1-5', expected: 'cron(0 1 * * ? *)' },
  ])('$cron -> $expected', ({ cron, expected }) => {
    expect(toEventBridgeScheduleExpression(cron)).toBe(expected);
  });

  it.each([{ cron: '0 1 15 * 1' }, { cron: '0 1 1,L * *' }, { cron: '0 1 * *' }])('rejects "$cron"', ({ cron }) => {
    expect(() => toEventBridgeScheduleExpression(cron)).toThrow(InvalidScheduleError);
  });
});

describe('schedules at the edges of the cron library', () => {
  it('maps a trigger to the last 29 February, years back', () => {
    const leapDay = parseSchedule({ cron: '0 1 29 2 *', timezone: 'UTC' });
    expect(occurrenceAt(leapDay, new Date('2026-03-08T08:00:00Z'))?.toISOString()).toBe('2024-02-29T01:00:00.000Z');
    expect(nextOccurrences(leapDay, new Date('2026-03-08T08:00:00Z'), 2).map((date) => date.toISOString())).toEqual([
      '2028-02-29T01:00:00.000Z',
      '2032-02-29T01:00:00.000Z',
    ]);
  });

  it('maps a trigger just after a DST gap to the last occurrence before it (02:xx New York on 2026-03-08 does not exist)', () => {
    const schedule = parseSchedule({ cron: '5/15 2 * * *', timezone: 'America/New_York' });
    expect(occurrenceAt(schedule, new Date('2026-03-08T08:00:00Z'))?.toISOString()).toBe('2026-03-07T07:50:00.000Z');
  });

  it('reads ? as "any" in any field and refuses W (nearest weekday), which EventBridge is not given', () => {
    expect(toEventBridgeScheduleExpression('0 1 ? ? *')).toBe('cron(0 1 * * ? *)');
    expect(() => parseSchedule({ cron: '0 1 15W * *', timezone: 'UTC' })).toThrow(
      expect.objectContaining({ name: 'InvalidScheduleError', field: 'cron' }),
    );
  });
});

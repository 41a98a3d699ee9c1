import { describe, expect, it } from 'vitest';
import { estimateBatchCompletion } from '../../../src/batches/eta.js';
import type { BatchEtaInput } from '../../../src/batches/eta.js';

const NOW = new Date('2026-03-01T22:00:00Z');

/** A free-plan user with nothing running or queued, starting now, no deadline. */
function input(overrides: Partial<BatchEtaInput>): BatchEtaInput {
  return {
    now: NOW,
    startAt: NOW,
    slots: 1,
    runningRemainingMinutes: [],
    queuedAheadMinutes: [],
    batchTaskMinutes: [],
    fallbackMinutes: 30,
    maxTaskMinutes: 120,
    plan: 'free',
    ...overrides,
  };
}

describe('estimateBatchCompletion: expected finish', () => {
  it.each([
    { case: 'one slot runs the tasks one after another', over: { batchTaskMinutes: [30, 20, 10] }, expected: '2026-03-01T23:00:00.000Z' },
    { case: 'parallel slots share the tasks', over: { slots: 3, batchTaskMinutes: [40, 40, 40, 40, 40, 40] }, expected: '2026-03-01T23:20:00.000Z' },
    { case: 'short tasks fill the lane beside a long one', over: { slots: 2, batchTaskMinutes: [60, 10, 10, 10] }, expected: '2026-03-01T23:00:00.000Z' },
    { case: 'running work delays the start', over: { runningRemainingMinutes: [25], batchTaskMinutes: [30] }, expected: '2026-03-01T22:55:00.000Z' },
    { case: 'running work frees lanes one by one', over: { slots: 2, runningRemainingMinutes: [50, 10], batchTaskMinutes: [30, 30] }, expected: '2026-03-01T23:10:00.000Z' },
    { case: 'more running tasks than slots (plan downgraded) all finish first', over: { slots: 1, runningRemainingMinutes: [10, 20], batchTaskMinutes: [30] }, expected: '2026-03-01T22:50:00.000Z' },
    { case: 'pending tasks ahead run before the batch', over: { queuedAheadMinutes: [45], batchTaskMinutes: [15] }, expected: '2026-03-01T23:00:00.000Z' },
    { case: 'a start time in the future', over: { startAt: new Date('2026-03-02T00:30:00Z'), batchTaskMinutes: [40] }, expected: '2026-03-02T01:10:00.000Z' },
    { case: 'running work done before a future start does not delay it', over: { startAt: new Date('2026-03-02T00:30:00Z'), runningRemainingMinutes: [60], batchTaskMinutes: [40] }, expected: '2026-03-02T01:10:00.000Z' },
    { case: 'running work past a future start delays it', over: { startAt: new Date('2026-03-01T23:00:00Z'), runningRemainingMinutes: [90], batchTaskMinutes: [40] }, expected: '2026-03-02T00:10:00.000Z' },
    { case: 'a start time in the past means now', over: { startAt: new Date('2026-03-01T20:00:00Z'), batchTaskMinutes: [40] }, expected: '2026-03-01T22:40:00.000Z' },
    { case: 'unknown estimates use the fallback', over: { batchTaskMinutes: [null, 20, null], fallbackMinutes: 35 }, expected: '2026-03-01T23:30:00.000Z' },
    { case: 'estimates are capped at the plan max duration', over: { batchTaskMinutes: [500, null], fallbackMinutes: 400, maxTaskMinutes: 120 }, expected: '2026-03-02T02:00:00.000Z' },
    { case: 'running and queued work is capped too', over: { runningRemainingMinutes: [300], queuedAheadMinutes: [300], batchTaskMinutes: [30], maxTaskMinutes: 30 }, expected: '2026-03-01T23:30:00.000Z' },
    { case: 'an empty batch finishes at its start', over: { startAt: new Date('2026-03-02T01:00:00Z') }, expected: '2026-03-02T01:00:00.000Z' },
  ])('$case', ({ over, expected }) => {
    // Prepare
    const request = input(over);

    // Act
    const eta = estimateBatchCompletion(request);

    // Assess
    expect(eta.expected_finish_at).toBe(expected);
  });
});

describe('estimateBatchCompletion: deadline', () => {
  const overnight = {
    slots: 3,
    plan: 'pro',
    startAt: new Date('2026-03-02T00:30:00Z'),
    batchTaskMinutes: Array.from({ length: 12 }, () => 40),
  };

  it.each([
    {
      case: 'no deadline: nothing to be on track for',
      over: { batchTaskMinutes: [30] },
      result: { expected_finish_at: '2026-03-01T22:30:00.000Z', on_track: null, reason: null },
    },
    {
      case: 'deadline met',
      over: { ...overnight, deadline: new Date('2026-03-02T04:00:00Z') },
      result: { expected_finish_at: '2026-03-02T03:10:00.000Z', on_track: true, reason: null },
    },
    {
      case: 'finishing exactly at the deadline is on track',
      over: { batchTaskMinutes: [60], deadline: new Date('2026-03-01T23:00:00Z') },
      result: { expected_finish_at: '2026-03-01T23:00:00.000Z', on_track: true, reason: null },
    },
    {
      case: 'deadline missed',
      over: { ...overnight, deadline: new Date('2026-03-02T02:00:00Z') },
      result: {
        expected_finish_at: '2026-03-02T03:10:00.000Z',
        on_track: false,
        reason: '3 slots on pro, 12 tasks of ~40 min: expected 03:10, deadline 02:00',
      },
    },
    {
      case: 'deadline missed, times in the user time zone',
      over: { ...overnight, deadline: new Date('2026-03-02T02:00:00Z'), timezone: 'Europe/Berlin' },
      result: {
        expected_finish_at: '2026-03-02T03:10:00.000Z',
        on_track: false,
        reason: '3 slots on pro, 12 tasks of ~40 min: expected 04:10, deadline 03:00',
      },
    },
    {
      case: 'deadline missed because of work ahead',
      over: { runningRemainingMinutes: [20], queuedAheadMinutes: [30], batchTaskMinutes: [30], deadline: new Date('2026-03-01T23:00:00Z') },
      result: {
        expected_finish_at: '2026-03-01T23:20:00.000Z',
        on_track: false,
        reason: '1 slot on free, 1 task of ~30 min behind 1 running and 1 queued: expected 23:20, deadline 23:00',
      },
    },
    {
      case: 'deadline missed by a day',
      over: { slots: 3, plan: 'pro', batchTaskMinutes: Array.from({ length: 9 }, () => 120), deadline: new Date('2026-03-01T23:30:00Z') },
      result: {
        expected_finish_at: '2026-03-02T04:00:00.000Z',
        on_track: false,
        reason: '3 slots on pro, 9 tasks of ~120 min: expected 04:00 (+1 day), deadline 23:30',
      },
    },
    {
      case: 'deadline missed by seconds reads as the next minute',
      over: { now: new Date('2026-03-01T22:00:30Z'), startAt: new Date('2026-03-01T22:00:30Z'), batchTaskMinutes: [60], deadline: new Date('2026-03-01T23:00:00Z') },
      result: {
        expected_finish_at: '2026-03-01T23:00:30.000Z',
        on_track: false,
        reason: '1 slot on free, 1 task of ~60 min: expected 23:01, deadline 23:00',
      },
    },
    {
      case: 'the average counts fallbacks and caps',
      over: { slots: 2, plan: 'pro', batchTaskMinutes: [20, null, 500], fallbackMinutes: 40, maxTaskMinutes: 120, deadline: new Date('2026-03-01T23:00:00Z') },
      result: {
        expected_finish_at: '2026-03-02T00:20:00.000Z',
        on_track: false,
        reason: '2 slots on pro, 3 tasks of ~60 min: expected 00:20 (+1 day), deadline 23:00',
      },
    },
  ])('$case', ({ over, result }) => {
    // Prepare
    const request = input(over);

    // Act
    const eta = estimateBatchCompletion(request);

    // Assess
    expect(eta).toEqual(result);
  });

  it.each([
    { case: 'no slots', over: { slots: 0 } },
    { case: 'fractional slots', over: { slots: 1.5 } },
    { case: 'no max duration', over: { maxTaskMinutes: 0 } },
  ])('rejects $case', ({ over }) => {
    expect(() => estimateBatchCompletion(input(over))).toThrow(RangeError);
  });
});

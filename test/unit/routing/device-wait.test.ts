import { describe, expect, it } from 'vitest';
import { deviceWaitOutcome } from '../../../src/routing/device-wait.js';
import type { ExecutionPreference } from '../../../src/tasks/task.js';

const LIMITS = { leaseTimeoutSeconds: 600, maxWaitSeconds: 86_400 };
const CREATED = '2026-11-23T10:00:00.000Z';
const after = (seconds: number) => new Date(Date.parse(CREATED) + seconds * 1000);

describe('deviceWaitOutcome', () => {
  it.each<[ExecutionPreference, number, string]>([
    ['auto', 599, 'wait'],
    ['auto', 600, 'reroute'],
    ['cost_optimized', 601, 'reroute'],
    ['performance_optimized', 601, 'reroute'],
    ['local', 601, 'wait'],
    ['local', 86_399, 'wait'],
    ['local', 86_400, 'fail'],
  ])('%s work %i s after create -> %s', (preference, seconds, kind) => {
    expect(deviceWaitOutcome({ created_at: CREATED, execution_preference: preference }, LIMITS, after(seconds)).kind).toBe(kind);
  });

  it('says why, naming the setting and the time waited', () => {
    expect(deviceWaitOutcome({ created_at: CREATED, execution_preference: 'auto' }, LIMITS, after(600))).toEqual({
      kind: 'reroute',
      reason: 'Re-routed to the cloud: the device did not lease it within 10 min (LOCAL_LEASE_TIMEOUT)',
    });
    expect(deviceWaitOutcome({ created_at: CREATED, execution_preference: 'local' }, LIMITS, after(86_400))).toEqual({
      kind: 'fail',
      reason: 'NO_LOCAL_EXECUTOR: no device leased this task within 24 h (LOCAL_MAX_WAIT)',
    });
  });
});

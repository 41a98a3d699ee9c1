import { describe, expect, it } from 'vitest';
import { parseConfig } from '../../../src/platform/config.js';

describe('parseConfig', () => {
  it('uses the documented defaults', () => {
    expect(parseConfig({})).toMatchObject({
      pollIntervalSeconds: 5,
      timeoutCheckIntervalSeconds: 60,
      maxPendingPerUser: 50,
      // 60 s configured, raised so the spawn queue's three receives of 330 s come first.
      staleClaimingThresholdSeconds: 1010,
      localLeaseTimeoutSeconds: 600,
      localMaxWaitSeconds: 86_400,
      schedulerShards: 8,
      sweepShards: 32,
      sandboxProvider: 'process',
      notificationsAllowLoopback: false,
      notificationsRetryBaseSeconds: 30,
    });
    expect(parseConfig({ NOTIFICATIONS_ALLOW_LOOPBACK: '1' }).notificationsAllowLoopback).toBe(true);
  });

  it.each([
    ['POLL_INTERVAL', '0', 'POLL_INTERVAL must be an integer from 1 to 30 (got "0")'],
    ['POLL_INTERVAL', '31', 'from 1 to 30'],
    ['TIMEOUT_CHECK_INTERVAL', '29', 'TIMEOUT_CHECK_INTERVAL must be an integer from 30 to 300'],
    ['MAX_PENDING_PER_USER', '201', 'MAX_PENDING_PER_USER must be an integer from 10 to 200'],
    ['STALE_CLAIMING_THRESHOLD', 'abc', 'STALE_CLAIMING_THRESHOLD must be an integer from 30 to 300 (got "abc")'],
    ['MAX_PENDING_PER_USER', '12.5', 'MAX_PENDING_PER_USER'],
    ['SANDBOX_PROVIDER', 'kubernetes', 'SANDBOX_PROVIDER'],
    ['LOCAL_LEASE_TIMEOUT', '59', 'LOCAL_LEASE_TIMEOUT must be an integer from 60 to 86400 (got "59")'],
    ['LOCAL_LEASE_TIMEOUT', '10m', 'LOCAL_LEASE_TIMEOUT must be an integer from 60 to 86400'],
    ['LOCAL_MAX_WAIT', '604801', 'LOCAL_MAX_WAIT must be an integer from 600 to 604800'],
    ['NOTIFICATIONS_RETRY_BASE_SECONDS', '0', 'NOTIFICATIONS_RETRY_BASE_SECONDS must be an integer from 1 to 3600 (got "0")'],
    ['NOTIFICATIONS_ALLOW_LOOPBACK', 'yes', 'NOTIFICATIONS_ALLOW_LOOPBACK'],
    ['SCHEDULER_SHARDS', '0', 'SCHEDULER_SHARDS must be an integer from 1 to 64 (got "0")'],
    ['SCHEDULER_SHARDS', '65', 'SCHEDULER_SHARDS must be an integer from 1 to 64'],
    ['SWEEP_SHARDS', '0', 'SWEEP_SHARDS must be an integer from 1 to 256 (got "0")'],
    ['SWEEP_SHARDS', '2.5', 'SWEEP_SHARDS must be an integer from 1 to 256'],
  ])('rejects %s=%s naming the variable and its range', (name, value, message) => {
    expect(() => parseConfig({ [name]: value })).toThrow(message);
  });

  it('accepts the edges of each range', () => {
    expect(parseConfig({ POLL_INTERVAL: '1', TIMEOUT_CHECK_INTERVAL: '300', MAX_PENDING_PER_USER: '10', STALE_CLAIMING_THRESHOLD: '30' })).toMatchObject({
      pollIntervalSeconds: 1,
      timeoutCheckIntervalSeconds: 300,
      maxPendingPerUser: 10,
    });
  });

  it.each([
    ['ecs', '300', 300],
    ['ecs', '60', 200],
    ['daytona', '300', 470],
    ['process', '30', 1010],
  ])('with SANDBOX_PROVIDER=%s and STALE_CLAIMING_THRESHOLD=%s, requeues stale claims after %i s (never before SQS used its receives)', (provider, stale, seconds) => {
    const config = parseConfig({ SANDBOX_PROVIDER: provider, STALE_CLAIMING_THRESHOLD: stale });
    expect(config.staleClaimingThresholdSeconds).toBe(seconds);
    expect(config.staleClaimingThresholdSeconds).toBeGreaterThanOrEqual(config.spawn.maxReceiveCount * config.spawn.visibilityTimeoutSeconds);
  });
});

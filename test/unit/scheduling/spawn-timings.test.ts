import { describe, expect, it } from 'vitest';
import { PROVIDER_START_TIMEOUT_SECONDS, spawnTimings, SPAWNER_OVERHEAD_SECONDS, type SpawnProviderName } from '../../../src/scheduling/spawn-timings.js';

const providers: SpawnProviderName[] = ['process', 'daytona', 'ecs'];

describe('the spawn path timings', () => {
  it.each(providers)('%s: a slow start still ends inside its own spawner invocation, and alone in it', (provider) => {
    const t = spawnTimings(provider, 60);
    expect(t.spawnerBatchSize).toBe(1);
    expect(t.spawnerBatchSize * t.providerStartTimeoutSeconds + SPAWNER_OVERHEAD_SECONDS).toBeLessThanOrEqual(t.spawnerTimeoutSeconds);
    expect(t.spawnerTimeoutSeconds).toBeLessThanOrEqual(900);
  });

  it.each(providers)('%s: a message is not delivered again while its spawner may still run', (provider) => {
    const t = spawnTimings(provider, 60);
    expect(t.visibilityTimeoutSeconds).toBeGreaterThan(t.spawnerTimeoutSeconds);
  });

  it.each(providers)('%s: SQS retries a failed start on every receive before the sweeper requeues the claim', (provider) => {
    for (const configured of [30, 60, 300]) {
      const t = spawnTimings(provider, configured);
      // The last receive starts by (receives - 1) x visibility after the first, which waits at most one long poll.
      const lastAttemptEnds = t.receiveWaitSeconds + (t.maxReceiveCount - 1) * t.visibilityTimeoutSeconds + t.spawnerTimeoutSeconds;
      expect(t.maxReceiveCount).toBeGreaterThanOrEqual(2);
      expect(t.staleClaimingThresholdSeconds).toBeGreaterThanOrEqual(lastAttemptEnds);
      expect(t.staleClaimingThresholdSeconds).toBeGreaterThanOrEqual(configured);
    }
  });

  it('keeps a configured threshold that is already long enough', () => {
    expect(spawnTimings('ecs', 300).staleClaimingThresholdSeconds).toBe(300);
  });

  it.each([
    ['daytona', 120, 140, 150, 470],
    ['ecs', 30, 50, 60, 200],
    ['process', 300, 320, 330, 1010],
  ] as const)('%s: start %i s, spawner %i s, visibility %i s, stale claims after %i s', (provider, start, spawner, visibility, stale) => {
    expect(PROVIDER_START_TIMEOUT_SECONDS[provider]).toBe(start);
    expect(spawnTimings(provider, 60)).toMatchObject({
      providerStartTimeoutSeconds: start,
      spawnerTimeoutSeconds: spawner,
      visibilityTimeoutSeconds: visibility,
      maxReceiveCount: 3,
      staleClaimingThresholdSeconds: stale,
    });
  });
});

/*
 * The spawn path's timings, derived from each other in one place (the CDK stack, the local
 * runtime and the sweeper all read them from here):
 *
 *   provider start timeout + spawner overhead  <=  spawner timeout       (a slow start finishes in its invocation)
 *   spawner timeout                            <   visibility timeout    (no redelivery while an attempt still runs)
 *   max receives x visibility + first receive  <=  stale-claim threshold (SQS retries a failed start, every time,
 *                                                                        before the sweeper requeues the claim)
 *
 * and the spawner takes one message per invocation, so a slow start (Daytona allows 120 s)
 * never eats the time of other messages in its batch.
 */

export type SpawnProviderName = 'process' | 'daytona' | 'ecs';

/**
 * How long each provider may take to start a sandbox before it gives up (its own deadline):
 * the process provider checks a repository out first (git's network timeout), Daytona waits
 * for its sandbox to reach `started`, ECS only asks RunTask.
 */
export const PROVIDER_START_TIMEOUT_SECONDS: Readonly<Record<SpawnProviderName, number>> = { process: 300, daytona: 120, ecs: 30 };
/** The spawner's own work around the provider call: task reads, the running write, a terminate after a lost race. */
export const SPAWNER_OVERHEAD_SECONDS = 20;
/** Between the end of the spawner's time and the message becoming visible again. */
export const VISIBILITY_MARGIN_SECONDS = 10;
/** Receives of a spawn message before it moves to the dead-letter queue (which fails the task). */
export const SPAWN_MAX_RECEIVES = 3;
/** One message per spawner invocation: each start has the whole invocation to itself. */
export const SPAWNER_BATCH_SIZE = 1;
/** The spawn queue's long poll: the longest a sent message waits for its first receive. */
export const SPAWN_RECEIVE_WAIT_SECONDS = 20;
/** Lambda's ceiling. */
const LAMBDA_MAX_TIMEOUT_SECONDS = 900;

export interface SpawnTimings {
  providerStartTimeoutSeconds: number;
  spawnerTimeoutSeconds: number;
  spawnerBatchSize: number;
  visibilityTimeoutSeconds: number;
  maxReceiveCount: number;
  receiveWaitSeconds: number;
  /** The shortest stale-claim threshold that lets SQS use all its receives first. */
  minStaleClaimingThresholdSeconds: number;
  /** What the sweeper uses: the configured STALE_CLAIMING_THRESHOLD, raised to the minimum. */
  staleClaimingThresholdSeconds: number;
}

/** The spawn path's timings for a provider, given the configured STALE_CLAIMING_THRESHOLD. */
export function spawnTimings(provider: SpawnProviderName, configuredStaleSeconds: number): SpawnTimings {
  const providerStartTimeoutSeconds = PROVIDER_START_TIMEOUT_SECONDS[provider];
  const spawnerTimeoutSeconds = SPAWNER_BATCH_SIZE * providerStartTimeoutSeconds + SPAWNER_OVERHEAD_SECONDS;
  if (spawnerTimeoutSeconds > LAMBDA_MAX_TIMEOUT_SECONDS) {
    throw new Error(`The ${provider} provider's start timeout does not fit a Lambda invocation (${spawnerTimeoutSeconds} s)`);
  }
  const visibilityTimeoutSeconds = spawnerTimeoutSeconds + VISIBILITY_MARGIN_SECONDS;
  const minStaleClaimingThresholdSeconds = SPAWN_MAX_RECEIVES * visibilityTimeoutSeconds + SPAWN_RECEIVE_WAIT_SECONDS;
  return {
    providerStartTimeoutSeconds,
    spawnerTimeoutSeconds,
    spawnerBatchSize: SPAWNER_BATCH_SIZE,
    visibilityTimeoutSeconds,
    maxReceiveCount: SPAWN_MAX_RECEIVES,
    receiveWaitSeconds: SPAWN_RECEIVE_WAIT_SECONDS,
    minStaleClaimingThresholdSeconds,
    staleClaimingThresholdSeconds: Math.max(configuredStaleSeconds, minStaleClaimingThresholdSeconds),
  };
}

import * as z from 'zod';
import { ConfigurationError } from './errors.js';
import { ENV } from './resources.js';
import { spawnTimings, type SpawnTimings } from '../scheduling/spawn-timings.js';

const intInRange = (name: string, min: number, max: number, fallback: number) =>
  z
    .string()
    .optional()
    .transform((value, ctx) => {
      if (value === undefined || value.trim() === '') return fallback;
      const parsed = Number(value);
      if (!Number.isInteger(parsed) || parsed < min || parsed > max) {
        ctx.addIssue({
          code: 'custom',
          message: `${name} must be an integer from ${min} to ${max} (got "${value}")`,
        });
        return z.NEVER;
      }
      return parsed;
    });

const configSchema = z.object({
  POLL_INTERVAL: intInRange('POLL_INTERVAL', 1, 30, 5),
  TIMEOUT_CHECK_INTERVAL: intInRange('TIMEOUT_CHECK_INTERVAL', 30, 300, 60),
  MAX_PENDING_PER_USER: intInRange('MAX_PENDING_PER_USER', 10, 200, 50),
  STALE_CLAIMING_THRESHOLD: intInRange('STALE_CLAIMING_THRESHOLD', 30, 300, 60),
  LOCAL_LEASE_TIMEOUT: intInRange('LOCAL_LEASE_TIMEOUT', 60, 86_400, 600),
  LOCAL_MAX_WAIT: intInRange('LOCAL_MAX_WAIT', 600, 604_800, 86_400),
  SCHEDULER_SHARDS: intInRange('SCHEDULER_SHARDS', 1, 64, 8),
  SWEEP_SHARDS: intInRange('SWEEP_SHARDS', 1, 256, 32),
  [ENV.tableName]: z.string().min(1).default('nightshift'),
  [ENV.spawnQueueUrl]: z.string().default(''),
  [ENV.spawnDlqUrl]: z.string().default(''),
  [ENV.wakeQueueUrl]: z.string().default(''),
  [ENV.artifactsBucket]: z.string().default(''),
  [ENV.notifyQueueUrl]: z.string().default(''),
  [ENV.notificationsEmailFrom]: z.string().default(''),
  NOTIFICATIONS_ALLOW_LOOPBACK: z.enum(['0', '1', '']).default('0'),
  NOTIFICATIONS_RETRY_BASE_SECONDS: intInRange('NOTIFICATIONS_RETRY_BASE_SECONDS', 1, 3600, 30),
  SANDBOX_PROVIDER: z.enum(['process', 'daytona', 'ecs']).default('process'),
  CALLBACK_BASE_URL: z.string().default(''),
});

export interface AppConfig {
  pollIntervalSeconds: number;
  timeoutCheckIntervalSeconds: number;
  maxPendingPerUser: number;
  /**
   * How long a claim may wait for its sandbox before the sweeper requeues it: STALE_CLAIMING_THRESHOLD,
   * raised where needed so the spawn queue uses all its receives first (see `spawn`).
   */
  staleClaimingThresholdSeconds: number;
  /** The spawn path's timings for this provider (src/scheduling/spawn-timings.ts). */
  spawn: SpawnTimings;
  /** A device task not leased by then is re-routed to the cloud (preferences other than `local`). */
  localLeaseTimeoutSeconds: number;
  /** A `local`-preference task not leased by then fails with NO_LOCAL_EXECUTOR. */
  localMaxWaitSeconds: number;
  /** Partition keys the orchestrator's index keys (READY, DEFERRED) are spread over; every pass reads them all. */
  schedulerShards: number;
  /**
   * Partition keys the sweeper's key (SWEEP: every claimed or running task's deadline) is spread
   * over. Each task writes it four times in its life, so it has more shards than READY; only the
   * sweeper reads it, once a sweep. Raise it freely; lowering it strands entries above the new count.
   */
  sweepShards: number;
  tableName: string;
  spawnQueueUrl: string;
  spawnDlqUrl: string;
  wakeQueueUrl: string;
  /** The artifact store's bucket (patches, agent logs); empty when none is configured. */
  artifactsBucket: string;
  sandboxProvider: 'process' | 'daytona' | 'ecs';
  callbackBaseUrl: string;
  /** The notifications queue; empty: no notifications are sent. */
  notifyQueueUrl: string;
  /** SES sender of notification e-mail (AWS); empty: e-mail channels are not offered. */
  notificationsEmailFrom: string;
  /** One machine only: webhooks may go to 127.0.0.1 (and nowhere else private). */
  notificationsAllowLoopback: boolean;
  /** First wait before a failed delivery is retried; it doubles per attempt. */
  notificationsRetryBaseSeconds: number;
}

/** Validates the environment; a bad value throws a message naming the variable and its range. */
export function parseConfig(env: NodeJS.ProcessEnv): AppConfig {
  const result = configSchema.safeParse(env);
  if (!result.success) {
    const problems = result.error.issues.map((issue) =>
      issue.code === 'custom' ? issue.message : `${issue.path.join('.')}: ${issue.message}`,
    );
    throw new ConfigurationError(`Invalid configuration: ${problems.join('; ')}`);
  }
  const c = result.data;
  const spawn = spawnTimings(c.SANDBOX_PROVIDER, c.STALE_CLAIMING_THRESHOLD);
  return {
    pollIntervalSeconds: c.POLL_INTERVAL,
    timeoutCheckIntervalSeconds: c.TIMEOUT_CHECK_INTERVAL,
    maxPendingPerUser: c.MAX_PENDING_PER_USER,
    staleClaimingThresholdSeconds: spawn.staleClaimingThresholdSeconds,
    spawn,
    localLeaseTimeoutSeconds: c.LOCAL_LEASE_TIMEOUT,
    localMaxWaitSeconds: c.LOCAL_MAX_WAIT,
    schedulerShards: c.SCHEDULER_SHARDS,
    sweepShards: c.SWEEP_SHARDS,
    tableName: c[ENV.tableName],
    spawnQueueUrl: c[ENV.spawnQueueUrl],
    spawnDlqUrl: c[ENV.spawnDlqUrl],
    wakeQueueUrl: c[ENV.wakeQueueUrl],
    artifactsBucket: c[ENV.artifactsBucket],
    sandboxProvider: c.SANDBOX_PROVIDER,
    callbackBaseUrl: c.CALLBACK_BASE_URL,
    notifyQueueUrl: c[ENV.notifyQueueUrl],
    notificationsEmailFrom: c[ENV.notificationsEmailFrom],
    notificationsAllowLoopback: c.NOTIFICATIONS_ALLOW_LOOPBACK === '1',
    notificationsRetryBaseSeconds: c.NOTIFICATIONS_RETRY_BASE_SECONDS,
  };
}

let cached: AppConfig | undefined;

/** Configuration read once per process (cold start). */
export function getConfig(): AppConfig {
  cached ??= parseConfig(process.env);
  return cached;
}

/** For tests and the local runtime, which change the environment after import. */
export function resetConfigCache(): void {
  cached = undefined;
}

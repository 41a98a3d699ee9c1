import {
  ConflictException,
  CreateScheduleCommand,
  DeleteScheduleCommand,
  ResourceNotFoundException,
  SchedulerClient,
} from '@aws-sdk/client-scheduler';
import { toEventBridgeScheduleExpression, type BatchSchedule } from './schedule.js';
import { ConfigurationError } from '../platform/errors.js';
import { logger } from '../platform/logger.js';
import type { BatchTriggerEvent } from './schemas.js';

/*
 * Recurring batches run on EventBridge Scheduler: one schedule per batch, in the stack's schedule
 * group, invoking the batch-trigger function with `{ batch_id }`. Without SCHEDULE_GROUP_NAME (one
 * machine) these functions do nothing: scripts/local/batch-scheduler.ts fires the same function
 * from the table's due index instead.
 */

export interface BatchSchedulerConfig {
  groupName: string;
  targetArn: string;
  roleArn: string;
}

/** How late a scheduler retry may still deliver an occurrence; the trigger skips later ones. */
export const MAX_OCCURRENCE_LATENESS_SECONDS = 3600;

/** Reads the scheduler settings; null on one machine (no group). A group without its ARNs is a clear error. */
export function parseBatchSchedulerConfig(env: NodeJS.ProcessEnv): BatchSchedulerConfig | null {
  const groupName = env.SCHEDULE_GROUP_NAME?.trim();
  if (!groupName) return null;
  const missing = ['BATCH_TRIGGER_ARN', 'SCHEDULER_ROLE_ARN'].filter((name) => !env[name]?.trim());
  if (missing.length > 0) {
    throw new ConfigurationError(`Invalid configuration: ${missing.join(' and ')} must be set when SCHEDULE_GROUP_NAME is set`);
  }
  return { groupName, targetArn: String(env.BATCH_TRIGGER_ARN).trim(), roleArn: String(env.SCHEDULER_ROLE_ARN).trim() };
}

let cachedConfig: BatchSchedulerConfig | null | undefined;
let client: SchedulerClient | undefined;

/** Configuration read once per process (cold start). */
export function batchSchedulerConfig(): BatchSchedulerConfig | null {
  if (cachedConfig === undefined) cachedConfig = parseBatchSchedulerConfig(process.env);
  return cachedConfig;
}

/** For tests, which change the environment after import. */
export function resetBatchScheduler(): void {
  cachedConfig = undefined;
  client = undefined;
}

const scheduler = (): SchedulerClient => (client ??= new SchedulerClient({}));

/** Unique per group (at most 64 characters; batch ids are UUIDs). */
export const scheduleNameFor = (batchId: string): string => `batch-${batchId}`;

export interface SchedulableBatch {
  id: string;
  name: string;
  schedule: BatchSchedule;
  /** The schedule starts no earlier than this. */
  not_before: string | null;
}

/**
 * Creates the batch's schedule (time zone aware, fixed Input `{ batch_id }`). Idempotent: a retry
 * that finds the schedule already there succeeds.
 */
export async function createBatchSchedule(batch: SchedulableBatch, now = new Date()): Promise<void> {
  const config = batchSchedulerConfig();
  if (!config) return;
  const input: BatchTriggerEvent = { batch_id: batch.id };
  const startDate = batch.not_before && Date.parse(batch.not_before) > now.getTime() ? new Date(batch.not_before) : undefined;
  try {
    await scheduler().send(
      new CreateScheduleCommand({
        Name: scheduleNameFor(batch.id),
        GroupName: config.groupName,
        Description: `Nightshift batch "${batch.name}"`.slice(0, 512),
        ScheduleExpression: toEventBridgeScheduleExpression(batch.schedule.cron),
        ScheduleExpressionTimezone: batch.schedule.timezone,
        StartDate: startDate,
        FlexibleTimeWindow: { Mode: 'OFF' },
        State: 'ENABLED',
        ClientToken: batch.id,
        Target: {
          Arn: config.targetArn,
          RoleArn: config.roleArn,
          Input: JSON.stringify(input),
          RetryPolicy: { MaximumEventAgeInSeconds: MAX_OCCURRENCE_LATENESS_SECONDS, MaximumRetryAttempts: 20 },
        },
      }),
    );
  } catch (error) {
    if (error instanceof ConflictException) return;
    throw error;
  }
  logger.info('batch schedule created', { batch_id: batch.id, schedule: batch.schedule });
}

/** Deletes the batch's schedule; one that is already gone is fine. */
export async function deleteBatchSchedule(batchId: string): Promise<void> {
  const config = batchSchedulerConfig();
  if (!config) return;
  try {
    await scheduler().send(new DeleteScheduleCommand({ Name: scheduleNameFor(batchId), GroupName: config.groupName }));
  } catch (error) {
    if (error instanceof ResourceNotFoundException) return;
    throw error;
  }
  logger.info('batch schedule deleted', { batch_id: batchId });
}

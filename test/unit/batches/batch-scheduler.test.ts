import {
  ConflictException,
  CreateScheduleCommand,
  DeleteScheduleCommand,
  ResourceNotFoundException,
  SchedulerClient,
  ValidationException,
} from '@aws-sdk/client-scheduler';
import { mockClient } from 'aws-sdk-client-mock';
import { afterAll, beforeEach, describe, expect, it } from 'vitest';
import { parseSchedule } from '../../../src/batches/schedule.js';
import { ConfigurationError } from '../../../src/platform/errors.js';
import {
  createBatchSchedule,
  deleteBatchSchedule,
  MAX_OCCURRENCE_LATENESS_SECONDS,
  parseBatchSchedulerConfig,
  resetBatchScheduler,
  scheduleNameFor,
  type SchedulableBatch,
} from '../../../src/batches/batch-scheduler.js';

const scheduler = mockClient(SchedulerClient);
const ENV_NAMES = ['SCHEDULE_GROUP_NAME', 'BATCH_TRIGGER_ARN', 'SCHEDULER_ROLE_ARN'] as const;
const saved = Object.fromEntries(ENV_NAMES.map((name) => [name, process.env[name]]));

const AWS_ENV = {
  SCHEDULE_GROUP_NAME: 'nightshift-batches',
  BATCH_TRIGGER_ARN: 'arn:aws:lambda:eu-west-1:123456789012:function:nightshift-BatchTrigger',
  SCHEDULER_ROLE_ARN: 'arn:aws:iam::123456789012:role/nightshift-BatchSchedulerRole',
};

const NOW = new Date('2026-03-01T12:00:00Z');

function useEnv(env: Partial<Record<(typeof ENV_NAMES)[number], string>>): void {
  for (const name of ENV_NAMES) delete process.env[name];
  Object.assign(process.env, env);
  resetBatchScheduler();
}

const nightly = (overrides: Partial<SchedulableBatch> = {}): SchedulableBatch => ({
  id: '0f8c7f5e-3b7a-4a51-9a55-6b1c2d3e4f50',
  name: 'Dependency updates',
  schedule: parseSchedule({ cron: '0 1 * * 1-5', timezone: 'Europe/Berlin' }),
  not_before: null,
  ...overrides,
});

beforeEach(() => {
  scheduler.reset();
  useEnv(AWS_ENV);
});

afterAll(() => {
  for (const name of ENV_NAMES) {
    if (saved[name] === undefined) delete process.env[name];
    else process.env[name] = saved[name];
  }
  resetBatchScheduler();
});

describe('createBatchSchedule', () => {
  it('creates one time-zone-aware schedule in the group that invokes the trigger with the batch id', async () => {
    // Prepare
    scheduler.on(CreateScheduleCommand).resolves({ ScheduleArn: 'arn:aws:scheduler:eu-west-1:123456789012:schedule/nightshift-batches/x' });

    // Act
    await createBatchSchedule(nightly(), NOW);

    // Assess
    const calls = scheduler.commandCalls(CreateScheduleCommand);
    expect(calls).toHaveLength(1);
    const input = calls[0]?.args[0].input;
    expect(input).toMatchObject({
      Name: scheduleNameFor(nightly().id),
      GroupName: 'nightshift-batches',
      ScheduleExpression: 'cron(0 1 ? * 2-6 *)',
      ScheduleExpressionTimezone: 'Europe/Berlin',
      FlexibleTimeWindow: { Mode: 'OFF' },
      State: 'ENABLED',
      Target: {
        Arn: AWS_ENV.BATCH_TRIGGER_ARN,
        RoleArn: AWS_ENV.SCHEDULER_ROLE_ARN,
        RetryPolicy: { MaximumEventAgeInSeconds: MAX_OCCURRENCE_LATENESS_SECONDS },
      },
    });
    expect(JSON.parse(input?.Target?.Input ?? '{}')).toEqual({ batch_id: nightly().id });
    expect(input?.StartDate).toBeUndefined();
    expect(input?.Name?.length).toBeLessThanOrEqual(64);
  });

  it.each([
    { case: 'a future not_before starts the schedule then', notBefore: '2026-03-05T00:00:00.000Z', start: new Date('2026-03-05T00:00:00.000Z') },
    { case: 'a past not_before is ignored', notBefore: '2026-02-01T00:00:00.000Z', start: undefined },
  ])('$case', async ({ notBefore, start }) => {
    scheduler.on(CreateScheduleCommand).resolves({});

    await createBatchSchedule(nightly({ not_before: notBefore }), NOW);

    expect(scheduler.commandCalls(CreateScheduleCommand)[0]?.args[0].input.StartDate).toEqual(start);
  });

  it('treats a schedule that already exists (a retried request) as created', async () => {
    scheduler.on(CreateScheduleCommand).rejects(new ConflictException({ Message: 'Schedule already exists', message: 'Schedule already exists', $metadata: {} }));

    await expect(createBatchSchedule(nightly(), NOW)).resolves.toBeUndefined();
  });

  it('passes other scheduler errors on', async () => {
    scheduler.on(CreateScheduleCommand).rejects(new ValidationException({ Message: 'bad expression', message: 'bad expression', $metadata: {} }));

    await expect(createBatchSchedule(nightly(), NOW)).rejects.toBeInstanceOf(ValidationException);
  });

  it('does nothing on one machine (no SCHEDULE_GROUP_NAME): the local batch scheduler fires instead', async () => {
    useEnv({});

    await createBatchSchedule(nightly(), NOW);
    await deleteBatchSchedule(nightly().id);

    expect(scheduler.calls()).toHaveLength(0);
  });
});

describe('deleteBatchSchedule', () => {
  it('deletes the batch schedule from the group', async () => {
    scheduler.on(DeleteScheduleCommand).resolves({});

    await deleteBatchSchedule(nightly().id);

    expect(scheduler.commandCalls(DeleteScheduleCommand)[0]?.args[0].input).toEqual({
      Name: scheduleNameFor(nightly().id),
      GroupName: 'nightshift-batches',
    });
  });

  it('treats a schedule that is already gone as deleted', async () => {
    scheduler.on(DeleteScheduleCommand).rejects(new ResourceNotFoundException({ Message: 'not found', message: 'not found', $metadata: {} }));

    await expect(deleteBatchSchedule(nightly().id)).resolves.toBeUndefined();
  });
});

describe('parseBatchSchedulerConfig', () => {
  it.each([
    { case: 'no group: one machine', env: {}, expected: null },
    { case: 'everything set', env: AWS_ENV, expected: { groupName: AWS_ENV.SCHEDULE_GROUP_NAME, targetArn: AWS_ENV.BATCH_TRIGGER_ARN, roleArn: AWS_ENV.SCHEDULER_ROLE_ARN } },
  ])('$case', ({ env, expected }) => {
    expect(parseBatchSchedulerConfig(env)).toEqual(expected);
  });

  it('names what is missing when a group is set without its target and role', () => {
    expect(() => parseBatchSchedulerConfig({ SCHEDULE_GROUP_NAME: 'g' })).toThrow(ConfigurationError);
    expect(() => parseBatchSchedulerConfig({ SCHEDULE_GROUP_NAME: 'g', BATCH_TRIGGER_ARN: 'arn' })).toThrow(/SCHEDULER_ROLE_ARN/);
  });
});

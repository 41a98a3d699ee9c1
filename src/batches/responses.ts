import * as z from 'zod';
import { TASK_STATUSES } from '../tasks/task.js';
import { repositoryOutcomeSchema, taskResponseSchema } from '../tasks/responses.js';
import { instant } from '../platform/wire.js';

const scheduleSchema = z.object({ cron: z.string(), timezone: z.string().meta({ description: 'IANA time zone' }) });

const skippedReasonSchema = z.object({ code: z.string(), message: z.string() }).nullable();

const occurrenceStateSchema = z.enum(['materializing', 'enqueued', 'skipped']);

/** A batch without its run: what `GET /batches` lists. */
export const batchResponseSchema = z.object({
  id: z.string(),
  name: z.string(),
  status: z.enum(['active', 'cancelled']),
  task_count: z.number().int(),
  not_before: instant.nullable(),
  deadline: instant.nullable(),
  deadline_offset_seconds: z.number().nullable(),
  timezone: z.string(),
  schedule: scheduleSchema.nullable(),
  next_occurrence_at: instant.nullable(),
  last_occurrence_key: z.string().nullable(),
  occurrence_count: z.number().int(),
  created_at: instant,
  cancelled_at: instant.nullable(),
});

export const batchListResponseSchema = z.array(batchResponseSchema);

const progressSchema = z.object({
  ...Object.fromEntries(TASK_STATUSES.map((status) => [status, z.number().int()])) as Record<(typeof TASK_STATUSES)[number], z.ZodNumber>,
  total: z.number().int(),
  finished: z.boolean(),
});

/** The deadline answer: when the run is expected to finish and whether that makes the deadline. */
const etaSchema = z.object({
  expected_finish_at: instant,
  on_track: z.boolean().nullable().meta({ description: 'null when the batch has no deadline' }),
  reason: z.string().nullable().meta({ description: 'Why the batch is expected to miss its deadline' }),
});

/** A batch with its latest run's progress and the deadline answer. */
export const batchViewResponseSchema = batchResponseSchema.extend({
  occurrence: z
    .object({
      key: z.string(),
      scheduled_for: instant.nullable(),
      state: occurrenceStateSchema,
      skipped_reason: skippedReasonSchema,
      not_before: instant.nullable(),
      deadline: instant.nullable(),
      task_ids: z.array(z.string()),
    })
    .nullable(),
  progress: progressSchema,
  eta: etaSchema.nullable(),
});

/** POST /batches: the batch view and the tasks it enqueued. */
export const batchCreatedResponseSchema = batchViewResponseSchema.extend({ tasks: z.array(taskResponseSchema) });

export const batchCancelledResponseSchema = z.object({ cancelled: z.literal(true), tasks_cancelled: z.number().int() });

/** The morning report of one run. */
export const batchReportResponseSchema = z.object({
  batch_id: z.string(),
  name: z.string(),
  status: z.enum(['active', 'cancelled']),
  schedule: scheduleSchema.nullable(),
  occurrence: z
    .object({
      key: z.string(),
      scheduled_for: instant.nullable(),
      state: occurrenceStateSchema,
      skipped_reason: skippedReasonSchema,
      deadline: instant.nullable(),
    })
    .nullable(),
  occurrences: z.array(z.string()).meta({ description: "Keys of the batch's runs, newest first, for ?occurrence=" }),
  tasks: z.array(
    z.object({
      task_id: z.string(),
      title: z.string(),
      outcome: z.enum(['completed', 'failed', 'timed_out', 'cancelled', 'pending', 'claimed', 'running']),
      summary: z.string().nullable(),
      reason: z.string().nullable(),
      files_changed: z.array(z.string()),
      repository: repositoryOutcomeSchema.nullable().meta({ description: 'Repository tasks: branch, diff stat, pull request, and how to get the patch' }),
      started_at: instant.nullable(),
      completed_at: instant.nullable(),
      agent_hours: z.number(),
      credits: z.number(),
    }),
  ),
  totals: z.object({
    tasks: z.number().int(),
    completed: z.number().int(),
    failed: z.number().int(),
    timed_out: z.number().int(),
    cancelled: z.number().int(),
    unfinished: z.number().int(),
    agent_hours: z.number(),
    credits: z.number(),
    files_changed: z.number().int(),
    started_at: instant.nullable(),
    finished_at: instant.nullable(),
  }),
});

import * as z from 'zod';
import { taskCreateSchema } from '../tasks/schemas.js';

/** Up to this many tasks per batch: a run is queued all or nothing, in at most two transactions. */
export const MAX_BATCH_TASKS = 100;

const isTimeZone = (value: string): boolean => {
  try {
    new Intl.DateTimeFormat('en-US', { timeZone: value });
    return true;
  } catch {
    return false;
  }
};

const instant = z.iso.datetime({ offset: true });

/** Body of POST /api/v1/batches. Cron and zone are checked further by parseSchedule in the service. */
export const batchCreateSchema = z
  .object({
    name: z.string().trim().min(1).max(200),
    tasks: z.array(taskCreateSchema).min(1).max(MAX_BATCH_TASKS),
    not_before: instant.optional(),
    deadline: instant.optional(),
    /** Zone for the times in the deadline answer; a recurring batch uses its schedule's zone. */
    timezone: z.string().trim().min(1).max(64).refine(isTimeZone, 'is not an IANA time zone (e.g. Europe/Berlin)').optional(),
    schedule: z
      .object({
        cron: z.string().trim().min(1).max(256),
        timezone: z.string().trim().min(1).max(64),
      })
      .strict()
      .optional(),
  })
  .strict()
  .superRefine((body, ctx) => {
    if (body.not_before && body.deadline && Date.parse(body.deadline) <= Date.parse(body.not_before)) {
      ctx.addIssue({ code: 'custom', path: ['deadline'], message: 'must be after not_before' });
    }
    if (body.schedule) {
      body.tasks.forEach((task, index) => {
        if (task.not_before) {
          ctx.addIssue({
            code: 'custom',
            path: ['tasks', index, 'not_before'],
            message: "a recurring batch's tasks start at each occurrence; give not_before on the batch instead",
          });
        }
      });
    }
  });
export type BatchCreate = z.infer<typeof batchCreateSchema>;

export const batchListQuerySchema = z
  .object({
    limit: z.coerce.number().int().min(1).max(100).default(20),
    cursor: z.string().max(2048).optional(),
  })
  .strict();

export const batchReportQuerySchema = z
  .object({
    /** `once`, or an occurrence key / time of a recurring batch (default: the latest). */
    occurrence: z.string().trim().min(1).max(64).optional(),
  })
  .strict();

/**
 * What EventBridge Scheduler sends the batch-trigger function (the schedule's fixed Input), and
 * what the local batch scheduler sends in its place. `occurrence` (an occurrence key or time)
 * asks for that occurrence; without it the trigger runs the latest occurrence due by now.
 */
export const batchTriggerEventSchema = z
  .object({
    batch_id: z.string().trim().min(1).max(128),
    occurrence: z.string().trim().min(1).max(64).optional(),
  })
  .strict();
export type BatchTriggerEvent = z.infer<typeof batchTriggerEventSchema>;

/** Body of POST /api/v1/batches/{id}/rerun-failed: which run's failed tasks (default: the latest run). */
export const batchRerunFailedSchema = z
  .object({ occurrence: z.string().trim().min(1).max(64).optional().meta({ description: '`once`, an occurrence key or a rerun key (default: the latest run)' }) })
  .strict();

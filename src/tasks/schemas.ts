import * as z from 'zod';
import { EXECUTION_PREFERENCES, TASK_STATUSES } from './task.js';
import { storableJsonObject, storableNumber } from '../platform/storable-json.js';
import { refNameSchema } from '../projects/schemas.js';
import { DEFAULT_MAX_ATTEMPTS, DEFAULT_RETRY_BACKOFF_SECONDS, MAX_ATTEMPTS_LIMIT } from './retry-policy.js';

const id = z.string().trim().min(1).max(128).regex(/^[A-Za-z0-9:_\-.]+$/, 'may contain letters, digits and : _ - . only');

/** Body of POST /api/v1/tasks (and of each task in a batch, and of /estimate). */
export const taskCreateSchema = z
  .object({
    title: z.string().trim().min(1).max(200),
    description: z.string().max(20_000).default(''),
    project_id: id.optional(),
    priority: z.number().int().min(1).max(4).default(3),
    type: z.enum(['agent', 'action']).default('agent'),
    integration: z.string().trim().min(1).max(64).optional(),
    action: z.string().trim().min(1).max(64).optional(),
    space_id: id.optional(),
    group_id: id.optional(),
    execution_preference: z.enum(EXECUTION_PREFERENCES).default('auto'),
    input: storableJsonObject.optional(),
    estimated_tokens: z.number().int().min(0).max(10_000_000).optional(),
    model: z.string().trim().min(1).max(100).optional(),
    not_before: z.iso.datetime({ offset: true }).optional(),
    estimated_minutes: storableNumber().positive().max(24 * 60).optional(),
    base_ref: refNameSchema.optional(),
    max_attempts: z.number().int().min(1).max(MAX_ATTEMPTS_LIMIT).default(DEFAULT_MAX_ATTEMPTS).meta({ description: 'Attempts in all when a run fails (agent failure, lost sandbox, timeout)' }),
    retry_backoff_seconds: z.number().int().min(1).max(24 * 3600).default(DEFAULT_RETRY_BACKOFF_SECONDS).meta({ description: 'Attempt n+1 waits this x 2^(n-1) seconds (±10 %)' }),
  })
  .strict()
  .superRefine((body, ctx) => {
    if (body.type === 'action' && (!body.integration || !body.action)) {
      ctx.addIssue({ code: 'custom', path: ['integration'], message: 'an action needs integration and action' });
    }
    if (body.type === 'agent' && (body.integration || body.action)) {
      ctx.addIssue({ code: 'custom', path: ['type'], message: 'integration and action need type "action"' });
    }
  });
export type TaskCreate = z.infer<typeof taskCreateSchema>;

/**
 * Body of POST /api/v1/tasks/{id}/rerun: what to change from the finished task (everything else is
 * copied; `not_before` is not). The kind of work (type, integration, action) stays.
 */
export const taskRerunSchema = z
  .object({
    title: z.string().trim().min(1).max(200).optional(),
    description: z.string().max(20_000).optional(),
    project_id: id.nullable().optional(),
    priority: z.number().int().min(1).max(4).optional(),
    space_id: id.optional(),
    group_id: id.nullable().optional(),
    execution_preference: z.enum(EXECUTION_PREFERENCES).optional(),
    input: storableJsonObject.nullable().optional(),
    estimated_tokens: z.number().int().min(0).max(10_000_000).nullable().optional(),
    model: z.string().trim().min(1).max(100).nullable().optional(),
    not_before: z.iso.datetime({ offset: true }).optional(),
    estimated_minutes: storableNumber().positive().max(24 * 60).nullable().optional(),
    base_ref: refNameSchema.nullable().optional(),
    max_attempts: z.number().int().min(1).max(MAX_ATTEMPTS_LIMIT).optional(),
    retry_backoff_seconds: z.number().int().min(1).max(24 * 3600).optional(),
  })
  .strict();
export type TaskRerun = z.infer<typeof taskRerunSchema>;

const commit = z.string().regex(/^[0-9a-f]{40}([0-9a-f]{24})?$/, 'a full commit id');
const count = z.number().int().min(0).max(100_000_000);

/** Body of POST /api/v1/tasks/{id}/complete. */
export const taskResultSchema = z
  .object({
    status: z.enum(['completed', 'failed']),
    summary: z.string().max(20_000).optional(),
    files_changed: z.array(z.string().max(1024)).max(1000).optional(),
    error: z.string().max(20_000).optional(),
    tokens_used: z.number().int().min(0).max(100_000_000).optional(),
    /**
     * Informational only: who reported is decided by the token (the sandbox token of Nightshift's
     * own wrapper, or the agent's callback token), never by this field.
     */
    source: z.enum(['agent', 'sandbox']).optional(),
    /** Git's result; taken only from a report made with the sandbox token, dropped from an agent's. */
    repository: z
      .object({
        branch: z.string().max(300),
        base_commit: commit,
        head_commit: commit,
        diff_stat: z.object({ files: count, insertions: count, deletions: count }).strict(),
        files_changed: z.array(z.string().max(4096)).max(10_000),
        push_error: z.string().max(4000).nullable().optional(),
        pull_request_url: z.url().max(2048).nullable().optional(),
      })
      .strict()
      .optional(),
  })
  .strict();
export type TaskResult = z.infer<typeof taskResultSchema>;

export const taskListQuerySchema = z
  .object({
    status: z.enum(TASK_STATUSES).optional(),
    limit: z.coerce.number().int().min(1).max(100).default(20),
    cursor: z.string().max(2048).optional(),
  })
  .strict();

/** Query of GET /api/v1/tasks/{id}/logs: how much of the output's tail to answer. */
export const taskLogsQuerySchema = z.object({ bytes: z.coerce.number().int().min(1).max(1_000_000).default(16_384) }).strict();

export const idParamSchema = z.object({ id });

/** GET /tasks/{id}/diff: `?stat=1` (or `true`) answers git's stat instead of the patch. */
export const taskDiffQuerySchema = z.object({ stat: z.enum(['0', '1', 'true', 'false']).optional() }).strict();

import * as z from 'zod';
import { EXECUTION_PREFERENCES, TASK_STATUSES } from './task.js';
import { instant, jsonObject } from '../platform/wire.js';
import { WAITING_FOR } from './waiting.js';

/** One attempt of a task that ended. */
const attemptSchema = z.object({
  attempt: z.number().int().min(1),
  started_at: instant.nullable(),
  ended_at: instant,
  outcome: z.enum(['completed', 'failed', 'cancelled']),
  failure_reason: z.string().nullable(),
  hours: z.number(),
  credits: z.number().nullable(),
});

/** What git says a repository task changed. */
const diffStatSchema = z.object({ files: z.number().int(), insertions: z.number().int(), deletions: z.number().int() });

/**
 * `TaskResponse`: the explicit list of a task's wire fields. The owner, the callback token's
 * hash and the billing window stay inside; a new stored field is not answered until it is listed here.
 * A nullable field a record written before the field existed lacks is answered as null.
 */
export const taskResponseSchema = z
  .object({
    id: z.string(),
    title: z.string(),
    description: z.string(),
    project_id: z.string().nullable().default(null),
    space_id: z.string(),
    group_id: z.string().nullable().default(null),
    batch_id: z.string().nullable().default(null),
    type: z.enum(['agent', 'action']),
    integration: z.string().nullable().default(null),
    action: z.string().nullable().default(null),
    input: jsonObject.nullable().default(null),
    priority: z.number().int().min(1).max(4),
    status: z.enum(TASK_STATUSES),
    queue_position: z.number().int().min(1).nullable().default(null).meta({ description: "1-based place in the user's queue; null unless pending" }),
    execution_preference: z.enum(EXECUTION_PREFERENCES),
    execution_location: z.enum(['local', 'remote']),
    executor_id: z.string().nullable().default(null),
    model: z.string().nullable().default(null),
    model_params: jsonObject.nullable().default(null),
    estimated_tokens: z.number().nullable().default(null),
    estimated_minutes: z.number().nullable().default(null),
    estimated_credits: z.number(),
    actual_credits: z.number().nullable().default(null),
    not_before: instant.nullable().default(null),
    created_at: instant,
    claimed_at: instant.nullable().default(null),
    started_at: instant.nullable().default(null),
    completed_at: instant.nullable().default(null),
    timeout_at: instant.nullable().default(null),
    reserved_seconds: z.number().nullable().default(null).meta({ description: 'Monthly agent time reserved at claim' }),
    used_seconds: z.number().nullable().default(null),
    sandbox_id: z.string().nullable().default(null),
    attempts: z.number().int(),
    result_summary: z.string().nullable().default(null),
    files_changed: z.array(z.string()).nullable().default(null),
    failure_reason: z.string().nullable().default(null),
    blocked_reason: z.string().nullable().default(null).meta({ description: 'Why a pending task cannot start now (a quota), or null' }),
    result_truncated: z.string().nullable().default(null).meta({ description: 'Set when the report was cut to fit the task record; says what was cut' }),
    routing_note: z.string().nullable().default(null).meta({ description: 'Why the task runs where it does when that changed after create (e.g. re-routed to the cloud)' }),
    base_ref: z.string().nullable().default(null).meta({ description: 'The ref a repository task starts from, as asked (null: the project default branch)' }),
    repository: z
      .object({ repo_url: z.string(), base_ref: z.string(), push: z.boolean(), pull_requests: z.boolean() })
      .nullable()
      .default(null)
      .meta({ description: "A repository task's project, fixed when it was queued" }),
    branch: z.string().nullable().default(null).meta({ description: 'nightshift/<task-id> for a repository task' }),
    base_commit: z.string().nullable().default(null),
    head_commit: z.string().nullable().default(null),
    diff_stat: diffStatSchema.nullable().default(null),
    pull_request_url: z.string().nullable().default(null),
    push_error: z.string().nullable().default(null).meta({ description: 'Why the branch could not be pushed (the task still completes)' }),
    diff_url: z.string().nullable().default(null).meta({ description: 'Where the patch is: GET this path' }),
    fetch_command: z.string().nullable().default(null).meta({ description: 'How to get the pushed branch with git' }),
    max_attempts: z.number().int().min(1).nullable().default(null).meta({ description: 'Attempts in all when a run fails (1-5)' }),
    retry_backoff_seconds: z.number().nullable().default(null).meta({ description: 'Attempt n+1 waits this x 2^(n-1) seconds (with jitter)' }),
    attempt_history: z.array(attemptSchema).nullable().default(null).meta({ description: 'Every attempt that ended, oldest first; `attempts` counts claims' }),
    rerun_of: z.string().nullable().default(null).meta({ description: 'The finished task this one was queued again from' }),
    waiting_for: z.enum(WAITING_FOR).nullable().default(null).meta({ description: 'Pending tasks: what the task waits for' }),
    waiting_message: z.string().nullable().default(null).meta({ description: 'Pending tasks: why it waits, for people' }),
    expected_start_at: instant.nullable().default(null).meta({ description: 'Pending tasks: when it is expected to start (the batch ETA simulation); null when unknown' }),
  })
  .meta({
    examples: [
      {
        id: '0193f4c2-7d1e-7a55-9c1b-3f2a1e0b9d44',
        title: 'Fix the flaky login test',
        description: 'tests/login.spec.ts fails one run in ten',
        project_id: null,
        space_id: 'personal:alice',
        group_id: null,
        batch_id: null,
        type: 'agent',
        integration: null,
        action: null,
        input: null,
        priority: 2,
        status: 'pending',
        queue_position: 1,
        execution_preference: 'auto',
        execution_location: 'remote',
        executor_id: null,
        model: null,
        model_params: null,
        estimated_tokens: null,
        estimated_minutes: 20,
        estimated_credits: 0,
        actual_credits: null,
        not_before: null,
        created_at: '2026-10-25T22:10:00.000Z',
        claimed_at: null,
        started_at: null,
        completed_at: null,
        timeout_at: null,
        reserved_seconds: null,
        used_seconds: null,
        sandbox_id: null,
        attempts: 0,
        result_summary: null,
        files_changed: null,
        failure_reason: null,
        blocked_reason: null,
        result_truncated: null,
        routing_note: null,
        base_ref: null,
        repository: null,
        branch: null,
        base_commit: null,
        head_commit: null,
        diff_stat: null,
        pull_request_url: null,
        push_error: null,
        diff_url: null,
        fetch_command: null,
        max_attempts: 2,
        retry_backoff_seconds: 60,
        attempt_history: [],
        rerun_of: null,
        waiting_for: 'slot',
        waiting_message: '1 of 1 agents running on the free plan',
        expected_start_at: '2026-10-25T22:40:00.000Z',
      },
    ],
  });
export type TaskResponse = z.infer<typeof taskResponseSchema>;

/** What a repository task handed back, and how to get it (the morning report's `repository`). */
export const repositoryOutcomeSchema = z.object({
  branch: z.string().nullable(),
  base_commit: z.string().nullable(),
  head_commit: z.string().nullable(),
  diff_stat: diffStatSchema.nullable(),
  pull_request_url: z.string().nullable(),
  push_error: z.string().nullable(),
  diff_url: z.string().nullable(),
  fetch_command: z.string().nullable(),
});

export const taskListResponseSchema = z.array(taskResponseSchema);

export const taskCancelledResponseSchema = z.object({ cancelled: z.literal(true) });

export const callbackAcceptedResponseSchema = z.object({ ok: z.literal(true) });

/** `QueueStatus`: the caller's running and pending counts against the plan. */
export const queueStatusResponseSchema = z.object({
  running: z.number().int(),
  pending: z.number().int(),
  max_concurrent: z.number().int(),
  can_start_more: z.boolean(),
  monthly_hours_used: z.number(),
  monthly_hours_limit: z.number().nullable().meta({ description: 'null: unlimited' }),
  blocked_reason: z.string().nullable(),
  waiting_for: z.enum(WAITING_FOR).nullable().default(null).meta({ description: 'What the next task in the queue waits for' }),
  waiting_message: z.string().nullable().default(null),
  next_expected_start_at: instant.nullable().default(null).meta({ description: 'When the next pending task is expected to start' }),
  waiting_counts: z.record(z.enum(WAITING_FOR), z.number().int()).nullable().default(null).meta({ description: 'Pending tasks by what they wait for' }),
});

export const taskLogsResponseSchema = z.object({
  task_id: z.string(),
  sandbox_id: z.string().nullable(),
  provider: z.string(),
  available: z.boolean().meta({ description: 'false when the provider keeps no output for this task' }),
  source: z.enum(['sandbox', 'artifact']).meta({ description: 'sandbox: live from the provider; artifact: the full log kept after the task ended' }),
  logs: z.string(),
});

/** POST /tasks/estimate: where the task would run, what it would cost, and the quota it meets. */
export const taskEstimateResponseSchema = z.object({
  execution_location: z.enum(['local', 'remote']),
  estimated_credits: z.number(),
  estimated_duration_ms: z.number(),
  executor_id: z.string().nullable(),
  rationale: z.string(),
  quota_status: z.enum(['OK', 'WARNING', 'BLOCKED']),
  quota_message: z.string(),
  model: z.string().nullable(),
  model_params: jsonObject.nullable(),
  space_id: z.string(),
  quota_space_id: z.string(),
});

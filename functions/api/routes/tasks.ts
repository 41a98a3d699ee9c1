import type * as z from 'zod';
import { repositoryOutcome } from '../../../src/tasks/task.js';
import { identityOf, parseBody, parseWith, reply, type ApiEvent, type ApiResult } from '../../../src/platform/http/api-handler.js';
import { idParamSchema, taskCreateSchema, taskRerunSchema, taskListQuerySchema } from '../../../src/tasks/schemas.js';
import { createTaskQueued } from '../../../src/tasks/create-task.js';
import { rerunTask } from '../../../src/tasks/rerun-task.js';
import { DEFAULT_MAX_ATTEMPTS, DEFAULT_RETRY_BACKOFF_SECONDS } from '../../../src/tasks/retry-policy.js';
import { idempotent } from '../../../src/platform/http/idempotency.js';
import { getOwnTask, listTasks, queueStatus, viewQueuedTask, viewTasks, type TaskView } from '../../../src/tasks/task-views.js';
import { queueStatusResponseSchema, taskListResponseSchema, taskResponseSchema } from '../../../src/tasks/responses.js';

/** A task with its queue-dependent fields; the response schema picks the wire fields from it. */
export const taskBody = (view: TaskView): z.input<typeof taskResponseSchema> => {
  // How to get a repository task's work: the diff from the API, or the branch from the repository.
  const outcome = repositoryOutcome(view.task);
  return {
    ...view.task,
    queue_position: view.queue_position,
    blocked_reason: view.blocked_reason,
    waiting_for: view.waiting_for ?? null,
    waiting_message: view.waiting_message ?? null,
    expected_start_at: view.expected_start_at ?? null,
    // Tasks written before retries existed have one attempt and no history.
    max_attempts: view.task.max_attempts ?? DEFAULT_MAX_ATTEMPTS,
    retry_backoff_seconds: view.task.retry_backoff_seconds ?? DEFAULT_RETRY_BACKOFF_SECONDS,
    attempt_history: view.task.attempt_history ?? [],
    diff_url: outcome?.diff_url ?? null,
    fetch_command: outcome?.fetch_command ?? null,
  };
};

export async function create(event: ApiEvent): Promise<ApiResult> {
  const { userId } = identityOf(event);
  const input = parseBody(event, taskCreateSchema);
  return idempotent(event, userId, async () => {
    const { task, accountBefore } = await createTaskQueued(userId, input);
    return reply(201, taskResponseSchema, taskBody(await viewQueuedTask(userId, task, accountBefore)));
  });
}

/** POST /tasks/{id}/rerun: a new task from a finished one, with `rerun_of`. */
export async function rerun(event: ApiEvent): Promise<ApiResult> {
  const { userId } = identityOf(event);
  const { id } = parseWith(event.pathParameters, idParamSchema);
  const overrides = parseBody(event, taskRerunSchema);
  return idempotent(event, userId, async () => {
    const [view] = await viewTasks(userId, [await rerunTask(userId, id, overrides)]);
    return reply(201, taskResponseSchema, taskBody(view as TaskView));
  });
}

export async function list(event: ApiEvent): Promise<ApiResult> {
  const { userId } = identityOf(event);
  const query = parseWith(event.queryStringParameters, taskListQuerySchema);
  const { views, nextCursor } = await listTasks(userId, query);
  return reply(200, taskListResponseSchema, views.map(taskBody), nextCursor ? { 'x-next-cursor': nextCursor } : {});
}

export async function get(event: ApiEvent): Promise<ApiResult> {
  const { userId } = identityOf(event);
  const { id } = parseWith(event.pathParameters, idParamSchema);
  const [view] = await viewTasks(userId, [await getOwnTask(userId, id)]);
  return reply(200, taskResponseSchema, taskBody(view as TaskView));
}

export async function status(event: ApiEvent): Promise<ApiResult> {
  return reply(200, queueStatusResponseSchema, await queueStatus(identityOf(event).userId));
}

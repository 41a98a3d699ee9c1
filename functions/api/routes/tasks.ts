import { z } from 'zod';
import { repositoryOutcome, type Task } from '../../../src/tasks/task.js';
import { UnauthorizedError } from '../../../src/platform/errors.js';
import { identityOf, json, parseBody, parseWith, type ApiEvent, type ApiResult } from '../../../src/platform/http/api-handler.js';
import { idParamSchema, taskCreateSchema, taskListQuerySchema, taskResultSchema } from '../../../src/tasks/schemas.js';
import { currentSandboxProvider } from '../../../src/sandbox/current.js';
import { cancelTask, completeTask } from '../../../src/tasks/finish-task.js';
import { createTask } from '../../../src/tasks/create-task.js';
import { getOwnTask, listTasks, queueStatus, viewTasks, type TaskView } from '../../../src/tasks/task-views.js';
import { getTaskPatch, keptAgentLog } from '../../../src/tasks/task-diff.js';

const HIDDEN: ReadonlySet<string> = new Set(['callback_token_hash', 'hours_window', 'user_id', 'agent_report']);

/** The wire shape of a task (`TaskResponse`). */
export function taskResponse(view: TaskView): Record<string, unknown> {
  const body: Record<string, unknown> = {};
  for (const [name, value] of Object.entries(view.task as Task)) if (!HIDDEN.has(name)) body[name] = value;
  body.queue_position = view.queue_position;
  body.blocked_reason = view.blocked_reason;
  // How to get a repository task's work: the diff from the API, or the branch from the repository.
  const outcome = repositoryOutcome(view.task);
  if (outcome) {
    body.diff_url = outcome.diff_url;
    body.fetch_command = outcome.fetch_command;
  }
  return body;
}

export async function create(event: ApiEvent): Promise<ApiResult> {
  const { userId } = identityOf(event);
  const task = await createTask(userId, parseBody(event, taskCreateSchema));
  const [view] = await viewTasks(userId, [task]);
  return json(201, taskResponse(view as TaskView));
}

export async function list(event: ApiEvent): Promise<ApiResult> {
  const { userId } = identityOf(event);
  const query = parseWith(event.queryStringParameters, taskListQuerySchema);
  const { views, nextCursor } = await listTasks(userId, query);
  return json(200, views.map(taskResponse), nextCursor ? { 'x-next-cursor': nextCursor } : {});
}

export async function get(event: ApiEvent): Promise<ApiResult> {
  const { userId } = identityOf(event);
  const { id } = parseWith(event.pathParameters, idParamSchema);
  const [view] = await viewTasks(userId, [await getOwnTask(userId, id)]);
  return json(200, taskResponse(view as TaskView));
}

export async function cancel(event: ApiEvent): Promise<ApiResult> {
  const { userId } = identityOf(event);
  const { id } = parseWith(event.pathParameters, idParamSchema);
  await cancelTask(userId, id);
  return json(200, { cancelled: true });
}

export async function status(event: ApiEvent): Promise<ApiResult> {
  return json(200, await queueStatus(identityOf(event).userId));
}

const bearer = (event: ApiEvent): string => {
  const header = event.headers?.authorization ?? event.headers?.Authorization ?? '';
  const match = /^Bearer\s+(\S+)$/i.exec(header);
  if (!match?.[1]) throw new UnauthorizedError('The task callback token is required (Authorization: Bearer <token>)');
  return match[1];
};

/** Sandbox or device report, authenticated by the task's own callback token. */
export async function complete(event: ApiEvent): Promise<ApiResult> {
  const { id } = parseWith(event.pathParameters, idParamSchema);
  const token = bearer(event);
  await completeTask(id, token, parseBody(event, taskResultSchema));
  return json(200, { ok: true });
}

export async function logs(event: ApiEvent): Promise<ApiResult> {
  const { userId } = identityOf(event);
  const { id } = parseWith(event.pathParameters, idParamSchema);
  const { bytes } = parseWith(event.queryStringParameters, z.object({ bytes: z.coerce.number().int().min(1).max(1_000_000).default(16_384) }).strict());
  const task = await getOwnTask(userId, id);
  const provider = currentSandboxProvider();
  const live = task.sandbox_id && provider.logs ? await provider.logs(task.sandbox_id, bytes) : null;
  // Once a task has ended its full log is an artifact, readable wherever the sandbox ran.
  const kept = live === null ? await keptAgentLog(task, bytes) : null;
  const text = live ?? kept;
  return json(200, { task_id: id, sandbox_id: task.sandbox_id, provider: provider.name, available: text !== null, source: kept !== null ? 'artifact' : 'sandbox', logs: text ?? '' });
}

/** GET /tasks/{id}/diff: the patch as `text/x-diff`; `?stat=1` git's stat of it as text. */
export async function diff(event: ApiEvent): Promise<ApiResult> {
  const { userId } = identityOf(event);
  const { id } = parseWith(event.pathParameters, idParamSchema);
  const { stat } = parseWith(event.queryStringParameters, z.object({ stat: z.enum(['0', '1', 'true', 'false']).optional() }).strict());
  const wantStat = stat === '1' || stat === 'true';
  const text = await getTaskPatch(userId, id, { stat: wantStat });
  return { statusCode: 200, headers: { 'content-type': wantStat ? 'text/plain; charset=utf-8' : 'text/x-diff; charset=utf-8' }, body: text };
}

import { UnauthorizedError } from '../../../src/platform/errors.js';
import { identityOf, parseBody, parseWith, reply, type ApiEvent, type ApiResult } from '../../../src/platform/http/api-handler.js';
import { currentSandboxProvider } from '../../../src/sandbox/current.js';
import { cancelTask, completeTask } from '../../../src/tasks/finish-task.js';
import { callbackAcceptedResponseSchema, taskCancelledResponseSchema, taskLogsResponseSchema } from '../../../src/tasks/responses.js';
import { idParamSchema, taskDiffQuerySchema, taskLogsQuerySchema, taskResultSchema } from '../../../src/tasks/schemas.js';
import { getTaskPatch, keptAgentLog } from '../../../src/tasks/task-diff.js';
import { getOwnTask } from '../../../src/tasks/task-views.js';

/*
 * The task routes that stop or read sandboxes or read task artifacts (the `sandbox` route group,
 * functions/api-sandbox): only this group's function carries the sandbox providers and the S3 client.
 */

export async function cancel(event: ApiEvent): Promise<ApiResult> {
  const { userId } = identityOf(event);
  const { id } = parseWith(event.pathParameters, idParamSchema);
  await cancelTask(userId, id);
  return reply(200, taskCancelledResponseSchema, { cancelled: true });
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
  return reply(200, callbackAcceptedResponseSchema, { ok: true });
}

export async function logs(event: ApiEvent): Promise<ApiResult> {
  const { userId } = identityOf(event);
  const { id } = parseWith(event.pathParameters, idParamSchema);
  const { bytes } = parseWith(event.queryStringParameters, taskLogsQuerySchema);
  const task = await getOwnTask(userId, id);
  const provider = currentSandboxProvider();
  const live = task.sandbox_id && provider.logs ? await provider.logs(task.sandbox_id, bytes) : null;
  // Once a task has ended its full log is an artifact, readable wherever the sandbox ran.
  const kept = live === null ? await keptAgentLog(task, bytes) : null;
  const text = live ?? kept;
  return reply(200, taskLogsResponseSchema, { task_id: id, sandbox_id: task.sandbox_id, provider: provider.name, available: text !== null, source: kept !== null ? 'artifact' : 'sandbox', logs: text ?? '' });
}

/** GET /tasks/{id}/diff: the patch as `text/x-diff`; `?stat=1` git's stat of it as text. */
export async function diff(event: ApiEvent): Promise<ApiResult> {
  const { userId } = identityOf(event);
  const { id } = parseWith(event.pathParameters, idParamSchema);
  const { stat } = parseWith(event.queryStringParameters, taskDiffQuerySchema);
  const wantStat = stat === '1' || stat === 'true';
  const text = await getTaskPatch(userId, id, { stat: wantStat });
  return { statusCode: 200, headers: { 'content-type': wantStat ? 'text/plain; charset=utf-8' : 'text/x-diff; charset=utf-8' }, body: text };
}

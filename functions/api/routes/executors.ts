import type { Context } from 'aws-lambda';
import { identityOf, parseBody, parseWith, reply, type ApiEvent, type ApiResult } from '../../../src/platform/http/api-handler.js';
import { executorIdParamSchema, executorRegistrationSchema, leaseQuerySchema } from '../../../src/executors/schemas.js';
import { leaseTask, listExecutorViews, registerExecutor } from '../../../src/executors/executors.js';
import { taskBody } from './tasks.js';
import { executorListResponseSchema, executorResponseSchema, leaseResponseSchema } from '../../../src/executors/responses.js';

/** POST /executors: register or heartbeat a device. */
export async function register(event: ApiEvent): Promise<ApiResult> {
  const { userId } = identityOf(event);
  return reply(200, executorResponseSchema, await registerExecutor(userId, parseBody(event, executorRegistrationSchema)));
}

export async function list(event: ApiEvent): Promise<ApiResult> {
  return reply(200, executorListResponseSchema, await listExecutorViews(identityOf(event).userId));
}

/** Time kept back from the Lambda's budget to answer 204 before it is cut off. */
const ANSWER_MARGIN_MS = 2_000;

/** POST /executors/{id}/lease[?wait_seconds=]: the task with its callback token, or 204. */
export async function lease(event: ApiEvent, context?: Context): Promise<ApiResult> {
  const { userId } = identityOf(event);
  const { id } = parseWith(event.pathParameters, executorIdParamSchema);
  const { wait_seconds } = parseWith(event.queryStringParameters, leaseQuerySchema);
  const budget = context ? context.getRemainingTimeInMillis() - ANSWER_MARGIN_MS : Number.POSITIVE_INFINITY;
  const leased = await leaseTask(userId, id, { waitMs: Math.min(wait_seconds * 1000, budget) });
  if (!leased) return { statusCode: 204, headers: {}, body: '' };
  return reply(200, leaseResponseSchema, {
    ...taskBody({ task: leased.task, queue_position: null, blocked_reason: null }),
    callback_token: leased.callback_token,
    callback_url: leased.callback_url,
  });
}

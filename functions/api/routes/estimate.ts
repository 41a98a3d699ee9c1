import { identityOf, parseBody, reply, type ApiEvent, type ApiResult } from '../../../src/platform/http/api-handler.js';
import { taskCreateSchema } from '../../../src/tasks/schemas.js';
import { estimateTask } from '../../../src/tasks/placement.js';
import { taskEstimateResponseSchema } from '../../../src/tasks/responses.js';

/** POST /tasks/estimate: where the task would run, what it would cost, and the quota; writes nothing. */
export async function estimate(event: ApiEvent): Promise<ApiResult> {
  const { userId } = identityOf(event);
  return reply(200, taskEstimateResponseSchema, await estimateTask(userId, parseBody(event, taskCreateSchema)));
}

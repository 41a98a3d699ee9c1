import { identityOf, json, parseBody, type ApiEvent, type ApiResult } from '../../../src/platform/http/api-handler.js';
import { taskCreateSchema } from '../../../src/tasks/schemas.js';
import { estimateTask } from '../../../src/tasks/placement.js';

/** POST /tasks/estimate: where the task would run, what it would cost, and the quota; writes nothing. */
export async function estimate(event: ApiEvent): Promise<ApiResult> {
  const { userId } = identityOf(event);
  return json(200, await estimateTask(userId, parseBody(event, taskCreateSchema)));
}

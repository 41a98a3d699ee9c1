import { identityOf, parseBody, parseWith, reply, type ApiEvent, type ApiResult } from '../../../src/platform/http/api-handler.js';
import { batchCreateSchema, batchListQuerySchema, batchReportQuerySchema, batchRerunFailedSchema } from '../../../src/batches/schemas.js';
import { rerunFailedTasks } from '../../../src/batches/rerun-failed.js';
import { idempotent } from '../../../src/platform/http/idempotency.js';
import { idParamSchema } from '../../../src/tasks/schemas.js';
import { cancelBatch } from '../../../src/batches/cancel-batch.js';
import { createBatch } from '../../../src/batches/create-batch.js';
import { getBatchReport } from '../../../src/batches/batch-report.js';
import { getBatchView, listBatches, type BatchView } from '../../../src/batches/batch-views.js';
import { taskBody } from './tasks.js';
import {
  batchCancelledResponseSchema,
  batchCreatedResponseSchema,
  batchListResponseSchema,
  batchReportResponseSchema,
  batchViewResponseSchema,
} from '../../../src/batches/responses.js';

/** A batch with its latest run; the response schema picks the wire fields (the owner stays inside). */
const batchViewBody = (view: BatchView) => ({ ...view.batch, occurrence: view.occurrence, progress: view.progress, eta: view.eta });

export async function create(event: ApiEvent): Promise<ApiResult> {
  const { userId } = identityOf(event);
  const input = parseBody(event, batchCreateSchema);
  return idempotent(event, userId, async () => {
    const view = await createBatch(userId, input);
    return reply(201, batchCreatedResponseSchema, { ...batchViewBody(view), tasks: view.tasks.map(taskBody) });
  });
}

/** POST /batches/{id}/rerun-failed: the failed tasks of a run, queued again as a new run. */
export async function rerunFailed(event: ApiEvent): Promise<ApiResult> {
  const { userId } = identityOf(event);
  const { id } = parseWith(event.pathParameters, idParamSchema);
  const { occurrence } = parseBody(event, batchRerunFailedSchema);
  return idempotent(event, userId, async () => {
    const view = await rerunFailedTasks(userId, id, occurrence);
    return reply(201, batchCreatedResponseSchema, { ...batchViewBody(view), tasks: view.tasks.map(taskBody) });
  });
}

export async function list(event: ApiEvent): Promise<ApiResult> {
  const { userId } = identityOf(event);
  const { batches, nextCursor } = await listBatches(userId, parseWith(event.queryStringParameters, batchListQuerySchema));
  return reply(200, batchListResponseSchema, batches, nextCursor ? { 'x-next-cursor': nextCursor } : {});
}

export async function get(event: ApiEvent): Promise<ApiResult> {
  const { userId } = identityOf(event);
  const { id } = parseWith(event.pathParameters, idParamSchema);
  return reply(200, batchViewResponseSchema, batchViewBody(await getBatchView(userId, id)));
}

export async function cancel(event: ApiEvent): Promise<ApiResult> {
  const { userId } = identityOf(event);
  const { id } = parseWith(event.pathParameters, idParamSchema);
  const { tasks_cancelled } = await cancelBatch(userId, id);
  return reply(200, batchCancelledResponseSchema, { cancelled: true, tasks_cancelled });
}

/** The morning report of one run: per task outcome, summary or reason, files, times, hours, credits; totals. */
export async function report(event: ApiEvent): Promise<ApiResult> {
  const { userId } = identityOf(event);
  const { id } = parseWith(event.pathParameters, idParamSchema);
  const { occurrence } = parseWith(event.queryStringParameters, batchReportQuerySchema);
  const view = await getBatchReport(userId, id, occurrence);
  return reply(200, batchReportResponseSchema, {
    batch_id: view.batch.id,
    name: view.batch.name,
    status: view.batch.status,
    schedule: view.batch.schedule,
    occurrence: view.occurrence,
    occurrences: view.occurrences,
    tasks: view.report.tasks,
    totals: view.report.totals,
  });
}

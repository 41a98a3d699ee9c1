import type { Batch } from '../../../src/batches/batch.js';
import { identityOf, json, parseBody, parseWith, type ApiEvent, type ApiResult } from '../../../src/platform/http/api-handler.js';
import { batchCreateSchema, batchListQuerySchema, batchReportQuerySchema } from '../../../src/batches/schemas.js';
import { idParamSchema } from '../../../src/tasks/schemas.js';
import { cancelBatch } from '../../../src/batches/cancel-batch.js';
import { createBatch } from '../../../src/batches/create-batch.js';
import { getBatchReport } from '../../../src/batches/batch-report.js';
import { getBatchView, listBatches, type BatchView } from '../../../src/batches/batch-views.js';
import { taskResponse } from './tasks.js';

/** The wire shape of a batch (its owner is the caller, so user_id is left out). */
function batchBody(batch: Batch): Record<string, unknown> {
  const { user_id: _owner, ...body } = batch;
  return body;
}

function batchViewResponse(view: BatchView): Record<string, unknown> {
  const { occurrence } = view;
  return {
    ...batchBody(view.batch),
    occurrence: occurrence && {
      key: occurrence.key,
      scheduled_for: occurrence.scheduled_for,
      state: occurrence.state,
      skipped_reason: occurrence.skipped_reason,
      not_before: occurrence.not_before,
      deadline: occurrence.deadline,
      task_ids: occurrence.task_ids,
    },
    progress: view.progress,
    eta: view.eta,
  };
}

export async function create(event: ApiEvent): Promise<ApiResult> {
  const { userId } = identityOf(event);
  const view = await createBatch(userId, parseBody(event, batchCreateSchema));
  return json(201, { ...batchViewResponse(view), tasks: view.tasks.map(taskResponse) });
}

export async function list(event: ApiEvent): Promise<ApiResult> {
  const { userId } = identityOf(event);
  const { batches, nextCursor } = await listBatches(userId, parseWith(event.queryStringParameters, batchListQuerySchema));
  return json(200, batches.map(batchBody), nextCursor ? { 'x-next-cursor': nextCursor } : {});
}

export async function get(event: ApiEvent): Promise<ApiResult> {
  const { userId } = identityOf(event);
  const { id } = parseWith(event.pathParameters, idParamSchema);
  return json(200, batchViewResponse(await getBatchView(userId, id)));
}

export async function cancel(event: ApiEvent): Promise<ApiResult> {
  const { userId } = identityOf(event);
  const { id } = parseWith(event.pathParameters, idParamSchema);
  const { tasks_cancelled } = await cancelBatch(userId, id);
  return json(200, { cancelled: true, tasks_cancelled });
}

/** The morning report of one run: per task outcome, summary or reason, files, times, hours, credits; totals. */
export async function report(event: ApiEvent): Promise<ApiResult> {
  const { userId } = identityOf(event);
  const { id } = parseWith(event.pathParameters, idParamSchema);
  const { occurrence } = parseWith(event.queryStringParameters, batchReportQuerySchema);
  const view = await getBatchReport(userId, id, occurrence);
  return json(200, {
    batch_id: view.batch.id,
    name: view.batch.name,
    status: view.batch.status,
    schedule: view.batch.schedule,
    occurrence: view.occurrence && {
      key: view.occurrence.key,
      scheduled_for: view.occurrence.scheduled_for,
      state: view.occurrence.state,
      skipped_reason: view.occurrence.skipped_reason,
      deadline: view.occurrence.deadline,
    },
    occurrences: view.occurrences,
    tasks: view.report.tasks,
    totals: view.report.totals,
  });
}

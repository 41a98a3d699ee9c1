import { routerHandler, type RouteMap } from '../../src/platform/http/api-handler.js';
import * as batches from '../api/routes/batches.js';
import * as notifications from '../api/routes/notifications.js';

/*
 * Route group `schedules` (src/platform/http/route-table.ts): the only API function with the cron
 * library (batch schedules; the digest time of the notification settings, in the user's zone) and
 * EventBridge Scheduler. It carries no sandbox providers: cancelling a batch hands the stop of its
 * running tasks' sandboxes to the spawner (a stop message on the spawn queue).
 */

export const routes: RouteMap = {
  'POST /api/v1/batches': batches.create,
  'GET /api/v1/batches': batches.list,
  'GET /api/v1/batches/{id}': batches.get,
  'DELETE /api/v1/batches/{id}': batches.cancel,
  'GET /api/v1/batches/{id}/report': batches.report,
  'POST /api/v1/batches/{id}/rerun-failed': batches.rerunFailed,
  'PUT /api/v1/users/me/notifications': notifications.put,
};

export const handler = routerHandler(routes);

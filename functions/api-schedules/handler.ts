import { routerHandler, type RouteMap } from '../../src/platform/http/api-handler.js';
import { installCloudSandboxProviders } from '../../src/sandbox/lambda-providers.js';
import * as batches from '../api/routes/batches.js';
import * as notifications from '../api/routes/notifications.js';

/*
 * Route group `schedules` (src/platform/http/route-table.ts): the only API function with the cron
 * library (batch schedules; the digest time of the notification settings, in the user's zone) and
 * EventBridge Scheduler. Cancelling a batch cancels its running tasks, which stops
 * their sandboxes, so it installs the sandbox providers (without the artifact store: it reads none).
 */
installCloudSandboxProviders();

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

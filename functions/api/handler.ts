import { routerHandler, type RouteMap } from '../../src/platform/http/api-handler.js';
import * as apiKeys from './routes/api-keys.js';
import { estimate } from './routes/estimate.js';
import * as executors from './routes/executors.js';
import { health } from './routes/health.js';
import * as notifications from './routes/notifications.js';
import * as overrideRequests from './routes/override-requests.js';
import * as projects from './routes/projects.js';
import * as spaces from './routes/spaces.js';
import * as tasks from './routes/tasks.js';
import * as users from './routes/users.js';

/*
 * The core API (route group `core` in src/platform/http/route-table.ts): DynamoDB and SQS only.
 * The other groups are their own functions: functions/api-sandbox, api-schedules, api-openapi;
 * functions/api/all-routes.ts serves every route in one process (local runtime, tests, bench).
 */

/** routeKey (as in src/platform/http/route-table.ts) -> handler, for the routes of group `core`. */
export const routes: RouteMap = {
  'GET /api/v1/health': health,
  'POST /api/v1/tasks': tasks.create,
  'GET /api/v1/tasks': tasks.list,
  'GET /api/v1/tasks/queue-status': tasks.status,
  'POST /api/v1/tasks/estimate': estimate,
  'GET /api/v1/tasks/{id}': tasks.get,
  'POST /api/v1/tasks/{id}/rerun': tasks.rerun,
  'GET /api/v1/users/me/limits': users.myLimits,
  'PUT /api/v1/admin/users/{id}/plan': users.setPlan,
  'PUT /api/v1/admin/users/{id}/limits': users.setLimits,
  'GET /api/v1/spaces': spaces.list,
  'PUT /api/v1/spaces/{id}': spaces.put,
  'GET /api/v1/spaces/{id}/quota': spaces.quota,
  'GET /api/v1/spaces/{id}/ledger': spaces.ledger,
  'POST /api/v1/admin/spaces/{id}/overrides': spaces.override,
  'POST /api/v1/spaces/{id}/override-requests': overrideRequests.create,
  'GET /api/v1/spaces/{id}/override-requests': overrideRequests.listForSpace,
  'GET /api/v1/admin/override-requests': overrideRequests.adminList,
  'POST /api/v1/admin/override-requests/{id}/decline': overrideRequests.decline,
  'POST /api/v1/executors': executors.register,
  'GET /api/v1/executors': executors.list,
  'POST /api/v1/executors/{id}/lease': executors.lease,
  'POST /api/v1/users/me/api-keys': apiKeys.create,
  'GET /api/v1/users/me/api-keys': apiKeys.list,
  'DELETE /api/v1/users/me/api-keys/{id}': apiKeys.revoke,
  'PUT /api/v1/projects/{id}': projects.put,
  'GET /api/v1/projects': projects.list,
  'GET /api/v1/projects/{id}': projects.get,
  'DELETE /api/v1/projects/{id}': projects.remove,
  'GET /api/v1/users/me/notifications': notifications.get,
  'GET /api/v1/users/me/notifications/deliveries': notifications.deliveries,
};

export const handler = routerHandler(routes);

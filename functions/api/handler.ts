import type { Context } from 'aws-lambda';
import { DomainError } from '../../src/platform/errors.js';
import { apiHandler, type ApiEvent, type ApiResult } from '../../src/platform/http/api-handler.js';
import * as apiKeys from './routes/api-keys.js';
import * as batches from './routes/batches.js';
import { estimate } from './routes/estimate.js';
import * as executors from './routes/executors.js';
import { health } from './routes/health.js';
import { openapi } from './routes/openapi.js';
import * as notifications from './routes/notifications.js';
import * as overrideRequests from './routes/override-requests.js';
import * as projects from './routes/projects.js';
import * as spaces from './routes/spaces.js';
import * as tasks from './routes/tasks.js';
import * as users from './routes/users.js';
import { installCloudSandboxProviders } from '../../src/sandbox/lambda-providers.js';
import { artifactStore, hasArtifactStore } from '../../src/platform/artifact-store.js';

installCloudSandboxProviders({ artifacts: () => (hasArtifactStore() ? artifactStore() : null) });

/** A route; long polls (device leases) read the Lambda's remaining time from `context`. */
type Route = (event: ApiEvent, context: Context) => Promise<ApiResult>;

/** routeKey (as in src/platform/http/route-table.ts) -> handler. */
export const routes: Record<string, Route> = {
  'GET /api/v1/health': health,
  'GET /api/v1/openapi.json': openapi,
  'POST /api/v1/tasks': tasks.create,
  'GET /api/v1/tasks': tasks.list,
  'GET /api/v1/tasks/queue-status': tasks.status,
  'POST /api/v1/tasks/estimate': estimate,
  'GET /api/v1/tasks/{id}': tasks.get,
  'DELETE /api/v1/tasks/{id}': tasks.cancel,
  'POST /api/v1/tasks/{id}/complete': tasks.complete,
  'GET /api/v1/tasks/{id}/logs': tasks.logs,
  'POST /api/v1/tasks/{id}/rerun': tasks.rerun,
  'POST /api/v1/batches': batches.create,
  'GET /api/v1/batches': batches.list,
  'GET /api/v1/batches/{id}': batches.get,
  'DELETE /api/v1/batches/{id}': batches.cancel,
  'GET /api/v1/batches/{id}/report': batches.report,
  'POST /api/v1/batches/{id}/rerun-failed': batches.rerunFailed,
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
  'GET /api/v1/tasks/{id}/diff': tasks.diff,
  'PUT /api/v1/projects/{id}': projects.put,
  'GET /api/v1/projects': projects.list,
  'GET /api/v1/projects/{id}': projects.get,
  'DELETE /api/v1/projects/{id}': projects.remove,
  'PUT /api/v1/users/me/notifications': notifications.put,
  'GET /api/v1/users/me/notifications': notifications.get,
  'GET /api/v1/users/me/notifications/deliveries': notifications.deliveries,
};

export const handler = apiHandler(async (event, context) => {
  const route = routes[event.routeKey];
  if (!route) throw new DomainError('NOT_FOUND', `No route for ${event.routeKey}`);
  return route(event, context);
});

/**
 * Every HTTP route, in API Gateway's `routeKey` form. The CDK stack creates exactly these routes
 * and the local runtime matches requests against them, so both produce the same `routeKey`.
 * `auth`: `user` = JWT or API key required; `none` = public; `callback` = the task's callback
 * token, checked by the handler (no user credentials in a sandbox).
 */
export type RouteAuth = 'user' | 'none' | 'callback';

/**
 * Which Lambda function serves a route. Each group is its own function (functions/<dir>/handler.ts)
 * that bundles only what its routes use, so no function carries the whole API (issue 13: every
 * bundle <= 500 KB): `core` is DynamoDB and SQS only; `sandbox` stops and reads sandboxes and reads
 * task artifacts from S3 (cancel, the sandbox callback, logs, diff); `schedules` carries the cron
 * library: the batch routes (with EventBridge Scheduler; cancelling a batch stops its sandboxes) and
 * the notification settings PUT, which times the digest in the user's zone; `openapi` builds the
 * OpenAPI document (zod's JSON Schema output).
 */
export type RouteGroup = 'core' | 'sandbox' | 'schedules' | 'openapi';

/** Group -> the directory under functions/ whose handler.ts serves its routes. */
export const ROUTE_GROUP_FUNCTIONS: Readonly<Record<RouteGroup, string>> = {
  core: 'api',
  sandbox: 'api-sandbox',
  schedules: 'api-schedules',
  openapi: 'api-openapi',
};

export const ROUTE_GROUPS = Object.keys(ROUTE_GROUP_FUNCTIONS) as readonly RouteGroup[];

export interface RouteDefinition {
  readonly method: 'GET' | 'POST' | 'PUT' | 'DELETE';
  readonly path: string;
  readonly auth: RouteAuth;
  readonly group: RouteGroup;
}

export const API_ROUTES: readonly RouteDefinition[] = [
  { method: 'GET', path: '/api/v1/health', auth: 'none', group: 'core' },
  { method: 'GET', path: '/api/v1/openapi.json', auth: 'none', group: 'openapi' },
  { method: 'POST', path: '/api/v1/tasks', auth: 'user', group: 'core' },
  { method: 'GET', path: '/api/v1/tasks', auth: 'user', group: 'core' },
  { method: 'GET', path: '/api/v1/tasks/queue-status', auth: 'user', group: 'core' },
  { method: 'POST', path: '/api/v1/tasks/estimate', auth: 'user', group: 'core' },
  { method: 'GET', path: '/api/v1/tasks/{id}', auth: 'user', group: 'core' },
  { method: 'DELETE', path: '/api/v1/tasks/{id}', auth: 'user', group: 'sandbox' },
  { method: 'POST', path: '/api/v1/tasks/{id}/complete', auth: 'callback', group: 'sandbox' },
  { method: 'GET', path: '/api/v1/tasks/{id}/logs', auth: 'user', group: 'sandbox' },
  { method: 'POST', path: '/api/v1/tasks/{id}/rerun', auth: 'user', group: 'core' },
  { method: 'POST', path: '/api/v1/batches', auth: 'user', group: 'schedules' },
  { method: 'GET', path: '/api/v1/batches', auth: 'user', group: 'schedules' },
  { method: 'GET', path: '/api/v1/batches/{id}', auth: 'user', group: 'schedules' },
  { method: 'DELETE', path: '/api/v1/batches/{id}', auth: 'user', group: 'schedules' },
  { method: 'GET', path: '/api/v1/batches/{id}/report', auth: 'user', group: 'schedules' },
  { method: 'POST', path: '/api/v1/batches/{id}/rerun-failed', auth: 'user', group: 'schedules' },
  { method: 'GET', path: '/api/v1/users/me/limits', auth: 'user', group: 'core' },
  { method: 'PUT', path: '/api/v1/admin/users/{id}/plan', auth: 'user', group: 'core' },
  { method: 'PUT', path: '/api/v1/admin/users/{id}/limits', auth: 'user', group: 'core' },
  { method: 'GET', path: '/api/v1/spaces', auth: 'user', group: 'core' },
  { method: 'PUT', path: '/api/v1/spaces/{id}', auth: 'user', group: 'core' },
  { method: 'GET', path: '/api/v1/spaces/{id}/quota', auth: 'user', group: 'core' },
  { method: 'GET', path: '/api/v1/spaces/{id}/ledger', auth: 'user', group: 'core' },
  { method: 'POST', path: '/api/v1/admin/spaces/{id}/overrides', auth: 'user', group: 'core' },
  { method: 'POST', path: '/api/v1/spaces/{id}/override-requests', auth: 'user', group: 'core' },
  { method: 'GET', path: '/api/v1/spaces/{id}/override-requests', auth: 'user', group: 'core' },
  { method: 'GET', path: '/api/v1/admin/override-requests', auth: 'user', group: 'core' },
  { method: 'POST', path: '/api/v1/admin/override-requests/{id}/decline', auth: 'user', group: 'core' },
  { method: 'POST', path: '/api/v1/executors', auth: 'user', group: 'core' },
  { method: 'GET', path: '/api/v1/executors', auth: 'user', group: 'core' },
  { method: 'POST', path: '/api/v1/executors/{id}/lease', auth: 'user', group: 'core' },
  { method: 'POST', path: '/api/v1/users/me/api-keys', auth: 'user', group: 'core' },
  { method: 'GET', path: '/api/v1/users/me/api-keys', auth: 'user', group: 'core' },
  { method: 'DELETE', path: '/api/v1/users/me/api-keys/{id}', auth: 'user', group: 'core' },
  { method: 'GET', path: '/api/v1/tasks/{id}/diff', auth: 'user', group: 'sandbox' },
  { method: 'PUT', path: '/api/v1/projects/{id}', auth: 'user', group: 'core' },
  { method: 'GET', path: '/api/v1/projects', auth: 'user', group: 'core' },
  { method: 'GET', path: '/api/v1/projects/{id}', auth: 'user', group: 'core' },
  { method: 'DELETE', path: '/api/v1/projects/{id}', auth: 'user', group: 'core' },
  { method: 'PUT', path: '/api/v1/users/me/notifications', auth: 'user', group: 'schedules' },
  { method: 'GET', path: '/api/v1/users/me/notifications', auth: 'user', group: 'core' },
  { method: 'GET', path: '/api/v1/users/me/notifications/deliveries', auth: 'user', group: 'core' },
];

/** The routeKeys one group's function serves. */
export const routeKeysOf = (group: RouteGroup): string[] => API_ROUTES.filter((route) => route.group === group).map((route) => routeKey(route));

export const routeKey = (route: Pick<RouteDefinition, 'method' | 'path'>): string => `${route.method} ${route.path}`;

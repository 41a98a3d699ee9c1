/**
 * Every HTTP route, in API Gateway's `routeKey` form. The CDK stack creates exactly these routes
 * and the local runtime matches requests against them, so both produce the same `routeKey`.
 * `auth`: `user` = JWT or API key required; `none` = public; `callback` = the task's callback
 * token, checked by the handler (no user credentials in a sandbox).
 */
export type RouteAuth = 'user' | 'none' | 'callback';

export interface RouteDefinition {
  readonly method: 'GET' | 'POST' | 'PUT' | 'DELETE';
  readonly path: string;
  readonly auth: RouteAuth;
}

export const API_ROUTES: readonly RouteDefinition[] = [
  { method: 'GET', path: '/api/v1/health', auth: 'none' },
  { method: 'GET', path: '/api/v1/openapi.json', auth: 'none' },
  { method: 'POST', path: '/api/v1/tasks', auth: 'user' },
  { method: 'GET', path: '/api/v1/tasks', auth: 'user' },
  { method: 'GET', path: '/api/v1/tasks/queue-status', auth: 'user' },
  { method: 'POST', path: '/api/v1/tasks/estimate', auth: 'user' },
  { method: 'GET', path: '/api/v1/tasks/{id}', auth: 'user' },
  { method: 'DELETE', path: '/api/v1/tasks/{id}', auth: 'user' },
  { method: 'POST', path: '/api/v1/tasks/{id}/complete', auth: 'callback' },
  { method: 'GET', path: '/api/v1/tasks/{id}/logs', auth: 'user' },
  { method: 'POST', path: '/api/v1/tasks/{id}/rerun', auth: 'user' },
  { method: 'POST', path: '/api/v1/batches', auth: 'user' },
  { method: 'GET', path: '/api/v1/batches', auth: 'user' },
  { method: 'GET', path: '/api/v1/batches/{id}', auth: 'user' },
  { method: 'DELETE', path: '/api/v1/batches/{id}', auth: 'user' },
  { method: 'GET', path: '/api/v1/batches/{id}/report', auth: 'user' },
  { method: 'POST', path: '/api/v1/batches/{id}/rerun-failed', auth: 'user' },
  { method: 'GET', path: '/api/v1/users/me/limits', auth: 'user' },
  { method: 'PUT', path: '/api/v1/admin/users/{id}/plan', auth: 'user' },
  { method: 'PUT', path: '/api/v1/admin/users/{id}/limits', auth: 'user' },
  { method: 'GET', path: '/api/v1/spaces', auth: 'user' },
  { method: 'PUT', path: '/api/v1/spaces/{id}', auth: 'user' },
  { method: 'GET', path: '/api/v1/spaces/{id}/quota', auth: 'user' },
  { method: 'GET', path: '/api/v1/spaces/{id}/ledger', auth: 'user' },
  { method: 'POST', path: '/api/v1/admin/spaces/{id}/overrides', auth: 'user' },
  { method: 'POST', path: '/api/v1/spaces/{id}/override-requests', auth: 'user' },
  { method: 'GET', path: '/api/v1/spaces/{id}/override-requests', auth: 'user' },
  { method: 'GET', path: '/api/v1/admin/override-requests', auth: 'user' },
  { method: 'POST', path: '/api/v1/admin/override-requests/{id}/decline', auth: 'user' },
  { method: 'POST', path: '/api/v1/executors', auth: 'user' },
  { method: 'GET', path: '/api/v1/executors', auth: 'user' },
  { method: 'POST', path: '/api/v1/executors/{id}/lease', auth: 'user' },
  { method: 'POST', path: '/api/v1/users/me/api-keys', auth: 'user' },
  { method: 'GET', path: '/api/v1/users/me/api-keys', auth: 'user' },
  { method: 'DELETE', path: '/api/v1/users/me/api-keys/{id}', auth: 'user' },
  { method: 'GET', path: '/api/v1/tasks/{id}/diff', auth: 'user' },
  { method: 'PUT', path: '/api/v1/projects/{id}', auth: 'user' },
  { method: 'GET', path: '/api/v1/projects', auth: 'user' },
  { method: 'GET', path: '/api/v1/projects/{id}', auth: 'user' },
  { method: 'DELETE', path: '/api/v1/projects/{id}', auth: 'user' },
  { method: 'PUT', path: '/api/v1/users/me/notifications', auth: 'user' },
  { method: 'GET', path: '/api/v1/users/me/notifications', auth: 'user' },
  { method: 'GET', path: '/api/v1/users/me/notifications/deliveries', auth: 'user' },
];

export const routeKey = (route: Pick<RouteDefinition, 'method' | 'path'>): string => `${route.method} ${route.path}`;

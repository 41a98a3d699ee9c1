import { routerHandler, type RouteMap } from '../../src/platform/http/api-handler.js';
import { openapi } from '../api/routes/openapi.js';

/*
 * Route group `openapi` (src/platform/http/route-table.ts): the OpenAPI document, the only route
 * that needs zod's JSON Schema output, so no other function carries it.
 */
export const routes: RouteMap = {
  'GET /api/v1/openapi.json': openapi,
};

export const handler = routerHandler(routes);

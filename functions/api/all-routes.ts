import { routerHandler, type RouteMap } from '../../src/platform/http/api-handler.js';
import { routes as openapi } from '../api-openapi/handler.js';
import { routes as sandbox } from '../api-sandbox/handler.js';
import { routes as schedules } from '../api-schedules/handler.js';
import { routes as core } from './handler.js';

/*
 * Every HTTP route in one process: what the local runtime (`npm start`), the tests and the bench
 * serve. In AWS each route group is its own function (src/platform/http/route-table.ts); this file
 * is not a Lambda entry and is never bundled.
 */
export const routes: RouteMap = { ...core, ...sandbox, ...schedules, ...openapi };

export const handler = routerHandler(routes);

import type { Context } from 'aws-lambda';
import { beforeAll, describe, expect, it } from 'vitest';
import type { ApiEvent, RouteMap } from '../../src/platform/http/api-handler.js';
import { API_ROUTES, ROUTE_GROUP_FUNCTIONS, ROUTE_GROUPS, routeKey, routeKeysOf, type RouteGroup } from '../../src/platform/http/route-table.js';
import { synthNightshift, type Synthesized } from './synth.js';

/*
 * The route table is the one list of routes; each route names its group, and each group is one
 * Lambda function (functions/<dir>/handler.ts) that serves exactly that group's routes.
 */
interface GroupModule {
  routes: RouteMap;
  handler: (event: ApiEvent, context: Context) => Promise<{ statusCode?: number; body?: string }>;
}

const groupModule = async (group: RouteGroup): Promise<GroupModule> =>
  (await import(`../../functions/${ROUTE_GROUP_FUNCTIONS[group]}/handler.ts`)) as GroupModule;

const eventFor = (key: string): ApiEvent => ({ routeKey: key, rawPath: '/', headers: {}, requestContext: { requestId: 'test' } }) as unknown as ApiEvent;

describe('API route groups', () => {
  it('every route of the table belongs to a known group', () => {
    const missing = API_ROUTES.filter((route) => !ROUTE_GROUPS.includes(route.group)).map((route) => routeKey(route));
    expect(missing).toEqual([]);
    for (const group of ROUTE_GROUPS) expect(routeKeysOf(group).length, `group ${group} has no route`).toBeGreaterThan(0);
  });

  it.each(ROUTE_GROUPS)("the %s group's handler serves exactly the group's routes", async (group) => {
    const { routes } = await groupModule(group);
    expect(Object.keys(routes).sort()).toEqual(routeKeysOf(group).sort());
  });

  it.each(ROUTE_GROUPS)("the %s group's handler answers 404 for a route of another group", async (group) => {
    const { handler } = await groupModule(group);
    const foreign = API_ROUTES.find((route) => route.group !== group);
    const result = await handler(eventFor(routeKey(foreign!)), {} as Context);
    expect(result.statusCode).toBe(404);
    expect(JSON.parse(result.body ?? '{}')).toMatchObject({ error: { code: 'NOT_FOUND' } });
  });

  it('the local runtime, tests and bench serve every route of every group in one process', async () => {
    const { routes } = (await import('../../functions/api/all-routes.js')) as { routes: RouteMap };
    expect(Object.keys(routes).sort()).toEqual(API_ROUTES.map((route) => routeKey(route)).sort());
  });
});

describe('HTTP API integrations', () => {
  let synth: Synthesized;
  beforeAll(() => {
    synth = synthNightshift({}, { bundle: false });
  });

  it("sends every route to its group's function, one integration per group", () => {
    const resources = synth.template.toJSON().Resources as Record<string, { Type: string; Properties: Record<string, unknown> }>;
    const functions = synth.stack.functions;
    const functionOf: Record<RouteGroup, string> = {
      core: synth.logicalId(functions.api.function),
      sandbox: synth.logicalId(functions.apiSandbox.function),
      schedules: synth.logicalId(functions.apiSchedules.function),
      openapi: synth.logicalId(functions.apiOpenapi.function),
    };
    const integrationTarget = new Map<string, string>();
    for (const [id, resource] of Object.entries(resources)) {
      if (resource.Type !== 'AWS::ApiGatewayV2::Integration') continue;
      const uri = JSON.stringify(resource.Properties.IntegrationUri);
      const target = Object.entries(functionOf).find(([, fn]) => uri.includes(`"${fn}"`));
      if (target) integrationTarget.set(id, target[0]);
    }
    expect([...integrationTarget.values()].sort()).toEqual([...ROUTE_GROUPS].sort());
    const groupByRoute = Object.fromEntries(
      Object.values(resources)
        .filter((resource) => resource.Type === 'AWS::ApiGatewayV2::Route')
        .map((resource) => {
          const integration = /integrations\/(.*)$/.exec(JSON.stringify(resource.Properties.Target))?.[0] ?? '';
          const id = [...integrationTarget.keys()].find((key) => integration.includes(key));
          return [resource.Properties.RouteKey as string, id ? integrationTarget.get(id) : undefined];
        }),
    );
    expect(groupByRoute).toEqual(Object.fromEntries(API_ROUTES.map((route) => [routeKey(route), route.group])));
  });
});

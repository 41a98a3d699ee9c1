import type { ApiResult } from '../../src/platform/http/api-handler.js';
import { setSandboxProvider } from '../../src/sandbox/current.js';
import { apiEvent, lambdaContext, type ApiRequest } from './api-event.js';
import { useFreshTable, type EmulatorEndpoints } from './environment.js';
import { distribution, type Distribution } from './stats.js';

export const ESTIMATE_ROUTE = 'POST /api/v1/tasks/estimate';

export interface HandlerLatency {
  route: string;
  /** null when the route does not exist (yet). */
  latency: Distribution | null;
  /** Answers other than 2xx, which would make the timing meaningless. */
  failures: number;
}

/**
 * In-process latency of the API Lambda's handler (middy, zod, services, DynamoDB Local), called
 * with API Gateway v2 events as the JWT authorizer would pass them: no HTTP, no adapter.
 */
export async function measureHandlerLatency(endpoints: EmulatorEndpoints, calls: number): Promise<HandlerLatency[]> {
  await useFreshTable(endpoints);
  setSandboxProvider(undefined);
  const { handler, routes } = await import('../../functions/api/all-routes.js');
  const invoke = async (request: ApiRequest): Promise<{ ms: number; result: ApiResult }> => {
    const started = performance.now();
    const result = await handler(apiEvent(request), lambdaContext());
    return { ms: performance.now() - started, result };
  };
  const time = async (route: string, request: (i: number) => ApiRequest): Promise<HandlerLatency> => {
    if (!routes[route]) return { route, latency: null, failures: 0 };
    const samples: number[] = [];
    let failures = 0;
    const warmup = Math.min(10, calls);
    for (let i = 0; i < calls + warmup; i++) {
      const { ms, result } = await invoke(request(i));
      if ((result.statusCode ?? 500) >= 300) failures += 1;
      if (i >= warmup) samples.push(ms);
    }
    return { route, latency: distribution(samples), failures };
  };

  // 30 tasks per user keeps every creator under the pending limit.
  const create = await time('POST /api/v1/tasks', (i) => ({
    routeKey: 'POST /api/v1/tasks',
    userId: `creator-${Math.floor(i / 30)}`,
    body: { title: `handler bench ${i}`, description: 'in-process', priority: (i % 4) + 1 },
  }));
  const list = await time('GET /api/v1/tasks', () => ({ routeKey: 'GET /api/v1/tasks', userId: 'creator-0', query: { limit: '20' } }));
  const estimate = await time(ESTIMATE_ROUTE, (i) => ({
    routeKey: ESTIMATE_ROUTE,
    userId: 'estimator',
    body:
      i % 2 === 0
        ? { title: 'send the weekly report', type: 'action', integration: 'gmail', action: 'send' }
        : { title: 'summarise the notes', type: 'action', integration: 'llm', action: 'chat', estimated_tokens: 4000 },
  }));
  return [create, list, estimate];
}

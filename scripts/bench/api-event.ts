import { randomUUID } from 'node:crypto';
import type { Context } from 'aws-lambda';
import type { ApiEvent } from '../../src/platform/http/api-handler.js';

export interface ApiRequest {
  /** API Gateway route key, e.g. `POST /api/v1/tasks` or `GET /api/v1/tasks/{id}`. */
  routeKey: string;
  /** The caller (JWT `sub`); absent for callback routes, which carry their own token. */
  userId?: string;
  path?: string;
  pathParameters?: Record<string, string>;
  query?: Record<string, string>;
  headers?: Record<string, string>;
  body?: unknown;
}

/**
 * An API Gateway HTTP API (payload 2.0) event as the JWT authorizer hands it to the function, so
 * the handler can be timed in-process with nothing in front of it.
 */
export function apiEvent(request: ApiRequest): ApiEvent {
  const [method = 'GET', routePath = '/'] = request.routeKey.split(' ');
  const path =
    request.path ?? routePath.replace(/\{(\w+)\}/g, (_match, name: string) => encodeURIComponent(request.pathParameters?.[name] ?? name));
  const now = new Date();
  const query = request.query ?? {};
  return {
    version: '2.0',
    routeKey: request.routeKey,
    rawPath: path,
    rawQueryString: new URLSearchParams(query).toString(),
    headers: { 'content-type': 'application/json', ...request.headers },
    queryStringParameters: Object.keys(query).length > 0 ? query : undefined,
    pathParameters: request.pathParameters,
    body: request.body === undefined ? undefined : JSON.stringify(request.body),
    isBase64Encoded: false,
    requestContext: {
      accountId: 'bench',
      apiId: 'bench',
      domainName: 'bench.local',
      domainPrefix: 'bench',
      http: { method, path, protocol: 'HTTP/1.1', sourceIp: '127.0.0.1', userAgent: 'nightshift-bench' },
      requestId: randomUUID(),
      routeKey: request.routeKey,
      stage: '$default',
      time: now.toUTCString(),
      timeEpoch: now.getTime(),
      authorizer: request.userId ? { jwt: { claims: { sub: request.userId, groups: '[]' }, scopes: null } } : undefined,
    },
  };
}

/** A Lambda context good enough for middy and Powertools. */
export function lambdaContext(functionName = 'api'): Context {
  return {
    callbackWaitsForEmptyEventLoop: false,
    functionName,
    functionVersion: '$LATEST',
    invokedFunctionArn: `arn:aws:lambda:us-east-1:000000000000:function:${functionName}`,
    memoryLimitInMB: '512',
    awsRequestId: randomUUID(),
    logGroupName: `/aws/lambda/${functionName}`,
    logStreamName: 'bench',
    getRemainingTimeInMillis: () => 30_000,
    done: () => undefined,
    fail: () => undefined,
    succeed: () => undefined,
  };
}

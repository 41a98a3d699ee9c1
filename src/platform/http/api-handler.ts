import middy from '@middy/core';
import type { APIGatewayProxyEventV2, APIGatewayProxyResultV2, Context } from 'aws-lambda';
import type * as z from 'zod';
import { ZodError } from 'zod';
import { DomainError, ERROR_STATUS, ForbiddenError, UnauthorizedError, ValidationError } from '../errors.js';
import { logger } from '../logger.js';
import { publishMetrics } from '../metrics.js';
import { isStorageBusy } from '../dynamodb/transact.js';

/** What API Gateway (JWT authorizer or our Lambda authorizer) tells the function about the caller. */
export type ApiEvent = APIGatewayProxyEventV2 & {
  requestContext: APIGatewayProxyEventV2['requestContext'] & {
    authorizer?: {
      jwt?: { claims: Record<string, string | number | boolean | string[]>; scopes?: string[] | null };
      lambda?: Record<string, unknown>;
    };
  };
};
export type ApiResult = Exclude<APIGatewayProxyResultV2, string>;

export interface Identity {
  userId: string;
  isAdmin: boolean;
}

/** API Gateway stringifies array claims as "[a b]" or "[a, b]"; accept every form. */
function parseGroups(value: unknown): string[] {
  if (Array.isArray(value)) return value.map(String);
  if (typeof value !== 'string') return [];
  return value
    .replace(/^\[|\]$/g, '')
    .split(/[\s,]+/)
    .map((group) => group.replace(/^"|"$/g, ''))
    .filter(Boolean);
}

/** The authenticated caller, from the JWT authorizer's claims or the Lambda authorizer's context. */
export function identityOf(event: ApiEvent): Identity {
  const authorizer = event.requestContext.authorizer;
  const claims = authorizer?.jwt?.claims ?? authorizer?.lambda;
  const sub = claims?.sub ?? claims?.user_id;
  if (typeof sub !== 'string' || sub.length === 0) throw new UnauthorizedError();
  const groups = [...parseGroups(claims?.['cognito:groups']), ...parseGroups(claims?.groups)];
  return { userId: sub, isAdmin: groups.includes('admin') };
}

export function requireAdmin(identity: Identity): void {
  if (!identity.isAdmin) throw new ForbiddenError('This endpoint is for administrators');
}

export const MAX_BODY_BYTES = 256 * 1024;

/** Parses and validates the JSON body; anything malformed is a 400 that changed nothing. */
export function parseBody<S extends z.ZodType>(event: ApiEvent, schema: S): z.infer<S> {
  const raw = event.body ?? '';
  const text = event.isBase64Encoded ? Buffer.from(raw, 'base64').toString('utf8') : raw;
  if (Buffer.byteLength(text, 'utf8') > MAX_BODY_BYTES) {
    throw new DomainError('PAYLOAD_TOO_LARGE', `The body is larger than ${MAX_BODY_BYTES} bytes`);
  }
  let json: unknown;
  try {
    json = text.trim() === '' ? {} : JSON.parse(text);
  } catch {
    throw new ValidationError('The body is not valid JSON');
  }
  return schema.parse(json);
}

export function parseWith<S extends z.ZodType>(value: unknown, schema: S): z.infer<S> {
  return schema.parse(value ?? {});
}

export const json = (statusCode: number, body: unknown, headers: Record<string, string> = {}): ApiResult => ({
  statusCode,
  headers: { 'content-type': 'application/json', ...headers },
  body: body === undefined ? '' : JSON.stringify(body),
});

/** Clips what an error echoes of the input (a 200 KB enum value, thousands of unknown keys). */
function clip(value: unknown, depth = 0): unknown {
  if (typeof value === 'string') return value.length > 200 ? `${value.slice(0, 200)}…` : value;
  if (value === null || typeof value !== 'object') return value;
  if (depth >= 4) return '…';
  if (Array.isArray(value)) return value.slice(0, 20).map((item) => clip(item, depth + 1));
  return Object.fromEntries(Object.entries(value).slice(0, 20).map(([key, item]) => [clip(key) as string, clip(item, depth + 1)]));
}

const describeZod = (error: ZodError): string =>
  error.issues
    .slice(0, 5)
    .map((issue) => clip(issue.path.length > 0 ? `${issue.path.join('.')}: ${issue.message}` : issue.message) as string)
    .join('; ');

/** A handler's answer broke its own response schema: a bug on our side, so a 500, never a 400. */
export class ResponseShapeError extends Error {
  constructor(issues: string) {
    super(`The response does not match its schema: ${issues}`);
    this.name = 'ResponseShapeError';
  }
}

/**
 * Answers `body` through its response schema: only the fields the schema lists reach the wire
 * (unknown ones are dropped), and a body that breaks the schema is a 500 logged with the reason.
 */
export function reply<S extends z.ZodType>(statusCode: number, schema: S, body: z.input<S>, headers: Record<string, string> = {}): ApiResult {
  const parsed = schema.safeParse(body);
  if (!parsed.success) throw new ResponseShapeError(describeZod(parsed.error));
  return json(statusCode, parsed.data, headers);
}

/** Seconds a 503 asks the caller to wait before trying again. */
export const RETRY_AFTER_SECONDS = 1;

/** The one place that turns errors into HTTP answers; unknown errors become a plain 500. */
export function errorResponse(error: unknown): ApiResult {
  if (error instanceof ZodError) {
    return json(400, { error: { code: 'VALIDATION_ERROR', message: describeZod(error), details: clip(error.issues) } });
  }
  if (error instanceof DomainError) {
    const body: Record<string, unknown> = { code: error.code, message: error.message };
    if (error.details !== undefined) body.details = error.details;
    const status = ERROR_STATUS[error.code];
    // Clients (the typed client among them) wait this long before retrying a 503.
    return json(status, { error: body }, status === 503 ? { 'retry-after': String(RETRY_AFTER_SECONDS) } : {});
  }
  if (isStorageBusy(error)) {
    logger.warn('storage busy; answered 503', { error });
    return json(
      503,
      { error: { code: 'SERVICE_UNAVAILABLE', message: 'The service is busy; nothing was changed. Retry after a second' } },
      { 'retry-after': String(RETRY_AFTER_SECONDS) },
    );
  }
  logger.error('unhandled error', { error });
  return json(500, { error: { code: 'INTERNAL_ERROR', message: 'Something went wrong on our side' } });
}

export type RouteHandler = (event: ApiEvent, context: Context) => Promise<ApiResult>;

/** Wraps a router in middy with the error mapping and request logging. */
export function apiHandler(route: RouteHandler) {
  return middy<ApiEvent, ApiResult>()
    .use({
      before: (request) => {
        logger.appendKeys({ route: request.event.routeKey, request_id: request.event.requestContext?.requestId });
      },
      after: () => {
        logger.resetKeys();
        publishMetrics();
      },
      onError: (request) => {
        logger.resetKeys();
        request.response = errorResponse(request.error);
      },
    })
    .handler(route);
}

/** routeKey (as in src/platform/http/route-table.ts) -> handler; long polls read the Lambda's remaining time from `context`. */
export type RouteMap = Readonly<Record<string, RouteHandler>>;

/** One route group's Lambda handler: dispatches on `routeKey`; a route it does not serve is a 404. */
export function routerHandler(routes: RouteMap) {
  return apiHandler(async (event, context) => {
    const route = Object.hasOwn(routes, event.routeKey) ? routes[event.routeKey] : undefined;
    if (!route) throw new DomainError('NOT_FOUND', `No route for ${event.routeKey}`);
    return route(event, context);
  });
}

import * as z from 'zod';
import { ERROR_STATUS, type ErrorCode } from '../platform/errors.js';
import { errorResponseSchema } from '../platform/wire.js';
import { API_ROUTES, routeKey, type RouteAuth } from '../platform/http/route-table.js';
import { isTextAnswer, OPERATIONS, type Named, type Operation, type ResponseHeader } from './operations.js';

/*
 * The OpenAPI 3.1 document, generated from the zod schemas the handlers parse requests with and
 * answer through (zod's own JSON Schema output, draft 2020-12, which is OpenAPI 3.1's dialect).
 * Request schemas are rendered as the API reads them (`io: input`: fields with defaults are
 * optional), response schemas as it writes them (`io: output`: every field listed, objects closed).
 */

type JsonSchema = Record<string, unknown>;
export interface OpenApiDocument {
  [field: string]: unknown;
  openapi: '3.1.0';
  info: { title: string; version: string; description: string };
  paths: Record<string, Record<string, JsonSchema>>;
}

export const API_VERSION = '0.1.0';

const ref = (name: string): JsonSchema => ({ $ref: `#/components/schemas/${name}` });

const SECURITY: Record<RouteAuth, Array<Record<string, string[]>>> = {
  user: [{ bearerAuth: [] }, { apiKey: [] }],
  none: [],
  callback: [{ callbackToken: [] }],
};

const HEADERS: Record<ResponseHeader | 'Retry-After', JsonSchema> = {
  'x-next-cursor': { description: "The next page's cursor, passed back as ?cursor=; absent on the last page", schema: { type: 'string' } },
  'cache-control': { description: 'no-store: the answer carries a secret', schema: { type: 'string' } },
  'Retry-After': { description: 'Seconds to wait before trying again', schema: { type: 'integer', minimum: 0 } },
};

const ERROR_TEXT: Partial<Record<ErrorCode | 'INTERNAL_ERROR', string>> = {
  VALIDATION_ERROR: 'the request does not match its schema (the message names the field); nothing changed',
  UNAUTHORIZED: 'no valid credentials',
  INTERNAL_ERROR: 'a fault on our side; nothing about the request',
  SERVICE_UNAVAILABLE: 'a dependency is briefly unavailable; retry after Retry-After seconds',
  IDEMPOTENCY_CONFLICT: 'the Idempotency-Key was used with another request in the last 24 hours',
};

const IDEMPOTENCY_KEY_PARAMETER: JsonSchema = {
  name: 'Idempotency-Key',
  in: 'header',
  required: false,
  description: 'The same key with the same body within 24 h answers the first answer again (header idempotent-replayed: true) and creates nothing; with another body 409 IDEMPOTENCY_CONFLICT',
  schema: { type: 'string', minLength: 1, maxLength: 255 },
};

/** Codes every route of a kind can answer, on top of the route's own. */
function errorCodesOf(operation: Operation, auth: RouteAuth): Array<ErrorCode | 'INTERNAL_ERROR'> {
  const codes: Array<ErrorCode | 'INTERNAL_ERROR'> = ['VALIDATION_ERROR', 'SERVICE_UNAVAILABLE', 'INTERNAL_ERROR'];
  if (auth !== 'none') codes.push('UNAUTHORIZED');
  if (operation.body) codes.push('PAYLOAD_TOO_LARGE');
  return [...new Set([...codes, ...(operation.errors ?? [])])];
}

const statusOf = (code: ErrorCode | 'INTERNAL_ERROR'): number => (code === 'INTERNAL_ERROR' ? 500 : ERROR_STATUS[code]);

/** Every named schema of one side (requests or responses) as components, with refs between them. */
function components(named: readonly Named[], io: 'input' | 'output'): Record<string, JsonSchema> {
  const registry = z.registry<{ id: string }>();
  const seen = new Map<string, z.ZodType>();
  for (const { name, schema } of named) {
    const earlier = seen.get(name);
    if (earlier && earlier !== schema) throw new Error(`Two different schemas are both named ${name}`);
    if (earlier) continue;
    seen.set(name, schema);
    registry.add(schema, { id: name });
  }
  const { schemas } = z.toJSONSchema(registry, { io, target: 'draft-2020-12', unrepresentable: 'any', uri: (id) => `#/components/schemas/${id}` });
  return Object.fromEntries(
    Object.entries(schemas).map(([name, schema]) => {
      const { $schema: _dialect, $id: _id, ...rest } = schema as JsonSchema;
      return [name, rest];
    }),
  );
}

/** Query or path parameters from an object schema, one per property. */
function parameters(schema: z.ZodType | undefined, location: 'query' | 'path'): JsonSchema[] {
  if (!schema) return [];
  const json = z.toJSONSchema(schema, { io: 'input', unrepresentable: 'any' }) as { properties?: Record<string, JsonSchema>; required?: string[] };
  return Object.entries(json.properties ?? {}).map(([name, property]) => {
    const { description, ...rest } = property;
    return {
      name,
      in: location,
      required: location === 'path' || (json.required ?? []).includes(name),
      ...(description ? { description } : {}),
      schema: rest,
    };
  });
}

function operationObject(operation: Operation, auth: RouteAuth): JsonSchema {
  const responses: Record<string, JsonSchema> = {};
  for (const [status, answer] of Object.entries(operation.responses)) {
    if (answer === null) {
      responses[status] = { description: 'Nothing to answer' };
      continue;
    }
    if (isTextAnswer(answer)) {
      responses[status] = { description: answer.description, content: Object.fromEntries(answer.mediaTypes.map((type) => [type, { schema: { type: 'string' } }])) };
      continue;
    }
    responses[status] = {
      description: answer.name,
      ...(answer.headers ? { headers: Object.fromEntries(answer.headers.map((header) => [header, HEADERS[header]])) } : {}),
      content: { 'application/json': { schema: ref(answer.name) } },
    };
  }
  const byStatus = new Map<number, Array<ErrorCode | 'INTERNAL_ERROR'>>();
  for (const code of errorCodesOf(operation, auth)) byStatus.set(statusOf(code), [...(byStatus.get(statusOf(code)) ?? []), code]);
  for (const [status, codes] of [...byStatus].sort(([a], [b]) => a - b)) {
    if (responses[status]) continue;
    responses[status] = {
      description: codes.map((code) => (ERROR_TEXT[code] ? `${code}: ${ERROR_TEXT[code]}` : code)).join('; '),
      ...(status === 503 ? { headers: { 'Retry-After': HEADERS['Retry-After'] } } : {}),
      content: { 'application/json': { schema: ref('Error') } },
    };
  }
  const params = [...parameters(operation.path, 'path'), ...parameters(operation.query, 'query'), ...(operation.idempotent ? [IDEMPOTENCY_KEY_PARAMETER] : [])];
  return {
    operationId: operation.operationId,
    tags: [operation.tag],
    summary: operation.summary,
    security: SECURITY[auth],
    ...(params.length > 0 ? { parameters: params } : {}),
    ...(operation.body
      ? {
          requestBody: {
            required: true,
            content: { 'application/json': { schema: ref(operation.body.name), ...(operation.body.example ? { example: operation.body.example } : {}) } },
          },
        }
      : {}),
    responses,
  };
}

/** The whole document: every route of the route table, in its order. */
export function buildOpenApiDocument(): OpenApiDocument {
  const paths: OpenApiDocument['paths'] = {};
  for (const route of API_ROUTES) {
    const operation = OPERATIONS[routeKey(route)];
    if (!operation) throw new Error(`The route ${routeKey(route)} has no operation in src/contract/operations.ts`);
    paths[route.path] = { ...paths[route.path], [route.method.toLowerCase()]: operationObject(operation, route.auth) };
  }
  const operations = Object.values(OPERATIONS);
  const requests = operations.flatMap((operation) => (operation.body ? [operation.body] : []));
  const responses = operations.flatMap((operation) => Object.values(operation.responses).filter((answer): answer is Named => answer !== null && !isTextAnswer(answer)));
  return {
    openapi: '3.1.0',
    info: {
      title: 'Nightshift API',
      version: API_VERSION,
      description:
        'A serverless task queue for long-running AI-agent work. JSON, snake_case. Errors answer {"error": {"code", "message"}}. Lists of tasks and batches are arrays; the next page\'s cursor is in the x-next-cursor header, passed back as ?cursor=.',
    },
    servers: [{ url: 'http://127.0.0.1:3000', description: 'npm start (the local stack)' }],
    tags: [...new Set(operations.map((operation) => operation.tag))].map((name) => ({ name })),
    paths,
    components: {
      schemas: { ...components(requests, 'input'), ...components([...responses, { name: 'Error', schema: errorResponseSchema }], 'output') },
      securitySchemes: {
        bearerAuth: { type: 'http', scheme: 'bearer', bearerFormat: 'JWT', description: 'sub = the user id; admins carry the group "admin". Locally: npm run --silent token -- <user>' },
        apiKey: { type: 'apiKey', in: 'header', name: 'x-api-key', description: 'A key from POST /api/v1/users/me/api-keys' },
        callbackToken: { type: 'http', scheme: 'bearer', description: "The task's own callback token (NIGHTSHIFT_CALLBACK_TOKEN in its sandbox); no user credentials" },
      },
    },
  };
}

import { readFileSync } from 'node:fs';
import { validate, compileErrors } from '@readme/openapi-parser';
import { describe, expect, it } from 'vitest';
import { buildOpenApiDocument } from '../../../src/contract/openapi.js';
import { OPERATIONS } from '../../../src/contract/operations.js';
import { API_ROUTES, routeKey } from '../../../src/platform/http/route-table.js';
import { errorResponse, reply } from '../../../src/platform/http/api-handler.js';
import { taskResponseSchema } from '../../../src/tasks/responses.js';
import { CLIENT_TYPES_FILE, OPENAPI_FILE, renderClientTypes, renderOpenApiDocument } from '../../../scripts/openapi.js';
import { contractChecker } from '../../support/contract.js';

const document = buildOpenApiDocument();
const TASK = (taskResponseSchema.meta()?.examples as unknown[])[0] as Record<string, unknown>;

describe('the OpenAPI document', () => {
  it('is the committed docs/openapi.json (run `npm run openapi` after changing a schema)', () => {
    expect(readFileSync(OPENAPI_FILE, 'utf8')).toBe(renderOpenApiDocument());
  });

  it("is what the committed client types were generated from (run `npm run openapi`)", async () => {
    expect(readFileSync(CLIENT_TYPES_FILE, 'utf8')).toBe(await renderClientTypes());
  });

  it('describes every route of the route table, and nothing else', () => {
    const documented = Object.entries(document.paths).flatMap(([path, item]) => Object.keys(item).map((method) => `${method.toUpperCase()} ${path}`));
    expect(documented.sort()).toEqual(API_ROUTES.map(routeKey).sort());
    expect(Object.keys(OPERATIONS).sort()).toEqual(API_ROUTES.map(routeKey).sort());
  });

  it('validates as OpenAPI 3.1 with an independent validator', async () => {
    const result = await validate(structuredClone(document) as never);
    expect(result.valid ? '' : compileErrors(result)).toBe('');
    expect(result.valid && result.specification).toBe('OpenAPI');
    expect(document.openapi).toBe('3.1.0');
  });

  it('names the security schemes: bearer JWT, x-api-key, and the task callback token', () => {
    const paths = document.paths as Record<string, Record<string, any>>;
    expect(paths['/api/v1/tasks']!.post.security).toEqual([{ bearerAuth: [] }, { apiKey: [] }]);
    expect(paths['/api/v1/tasks/{id}/complete']!.post.security).toEqual([{ callbackToken: [] }]);
    expect(paths['/api/v1/health']!.get.security).toEqual([]);
    expect(paths['/api/v1/openapi.json']!.get.security).toEqual([]);
  });

  it('documents each error a route answers with the error body, and Retry-After on 503', () => {
    const create = (document.paths['/api/v1/tasks'] as Record<string, any>).post;
    expect(create.responses['403'].description).toContain('MONTHLY_LIMIT_REACHED');
    expect(create.responses['400'].description).toContain('TOO_MANY_PENDING');
    expect(create.responses['413'].content['application/json'].schema).toEqual({ $ref: '#/components/schemas/Error' });
    expect(create.responses['503'].headers['Retry-After']).toBeDefined();
    const list = (document.paths['/api/v1/tasks'] as Record<string, any>).get;
    expect(list.responses['200'].headers['x-next-cursor']).toBeDefined();
    expect(list.parameters.map((p: { name: string }) => p.name)).toEqual(['status', 'limit', 'cursor']);
  });

  it('lists the task wire fields explicitly: internal ones are absent and the object is closed', () => {
    const task = (document.components as any).schemas.Task;
    expect(task.additionalProperties).toBe(false);
    for (const internal of ['user_id', 'callback_token_hash', 'hours_window']) expect(Object.keys(task.properties)).not.toContain(internal);
    expect(task.required).toContain('queue_position');
  });

  it('reads requests as the API does: fields with a default are optional, unknown fields are refused', () => {
    const create = (document.components as any).schemas.TaskCreate;
    expect(create.required).toEqual(['title']);
    expect(create.additionalProperties).toBe(false);
  });
});

describe('answering through a response schema', () => {
  it('drops a stored field the schema does not list', () => {
    const answer = reply(200, taskResponseSchema, { ...TASK, callback_token_hash: 'secret', user_id: 'alice' } as never);
    const body = JSON.parse(answer.body as string);
    expect(body).not.toHaveProperty('callback_token_hash');
    expect(body).not.toHaveProperty('user_id');
    expect(body.title).toBe(TASK.title);
  });

  it('answers null for a nullable field that a record written before the field existed lacks', () => {
    const { group_id: _absent, batch_id: _also, ...older } = TASK;
    const body = JSON.parse(reply(200, taskResponseSchema, older as never).body as string);
    expect(body).toMatchObject({ group_id: null, batch_id: null });
  });

  it('turns a body that breaks its schema into a 500 (our fault), not a 400', () => {
    const { title: _missing, ...broken } = TASK;
    let thrown: unknown;
    try {
      reply(200, taskResponseSchema, broken as never);
    } catch (error) {
      thrown = error;
    }
    const answer = errorResponse(thrown);
    expect(answer.statusCode).toBe(500);
    expect(JSON.parse(answer.body as string).error.code).toBe('INTERNAL_ERROR');
  });
});

describe('the contract checker the end-to-end tests use', () => {
  const checker = contractChecker(JSON.parse(renderOpenApiDocument()));
  const answer = (status: number, body: unknown, headers: Record<string, string> = {}) => ({
    method: 'GET',
    url: 'http://127.0.0.1:1/api/v1/tasks/abc',
    status,
    headers: new Headers({ 'content-type': 'application/json', ...headers }),
    body: JSON.stringify(body),
  });

  it('accepts a documented answer', () => {
    expect(checker.check(answer(200, TASK))).toEqual([]);
    expect(checker.check(answer(404, { error: { code: 'TASK_NOT_FOUND', message: 'Task abc was not found' } }))).toEqual([]);
  });

  it.each([
    ['an undocumented field', answer(200, { ...TASK, user_id: 'alice' }), 'must NOT have additional properties (user_id)'],
    ['a missing required field', answer(200, { ...TASK, status: undefined }), "must have required property 'status'"],
    ['a wrongly typed field', answer(200, { ...TASK, priority: 'high' }), 'priority'],
    ['an undocumented status', answer(409, { error: { code: 'CONFLICT', message: 'x' } }), 'status 409 is not documented'],
    ['an undocumented x-next-cursor', answer(200, TASK, { 'x-next-cursor': 'abc' }), 'x-next-cursor is not documented'],
    ['an error code outside the list', answer(404, { error: { code: 'NOPE', message: 'x' } }), 'must be equal to one of the allowed values'],
  ])('rejects %s', (_what, bad, message) => {
    expect(checker.check(bad).join('\n')).toContain(message);
  });
});

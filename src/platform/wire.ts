import * as z from 'zod';
import type { ErrorCode } from './errors.js';

/*
 * Building blocks of the response schemas. A response schema lists every field the API answers;
 * objects are closed (the OpenAPI document says `additionalProperties: false`), so a field added
 * to a stored record reaches the wire only when someone adds it here.
 */

/** An ISO 8601 instant as the API writes it (`2026-10-26T01:00:00.000Z`). */
export const instant = z.string().meta({ format: 'date-time', examples: ['2026-10-26T01:00:00.000Z'] });

/** An arbitrary JSON object (task input, model parameters). */
export const jsonObject = z.record(z.string(), z.unknown());

const ERROR_CODES = [
  'VALIDATION_ERROR',
  'UNAUTHORIZED',
  'FORBIDDEN',
  'NOT_FOUND',
  'TASK_NOT_FOUND',
  'TOO_MANY_PENDING',
  'TASK_ALREADY_COMPLETED',
  'MONTHLY_LIMIT_REACHED',
  'CREDIT_LIMIT_REACHED',
  'NO_LOCAL_EXECUTOR',
  'PROJECT_NOT_FOUND',
  'SPACE_NOT_FOUND',
  'OVERRIDE_REQUEST_NOT_FOUND',
  'OVERRIDE_REQUEST_DECIDED',
  'CONFLICT',
  'IDEMPOTENCY_CONFLICT',
  'TASK_NOT_FINISHED',
  'NOTHING_TO_RERUN',
  'PAYLOAD_TOO_LARGE',
  'SERVICE_UNAVAILABLE',
  'INTERNAL_ERROR',
] as const;
// Fails to compile when an error code is missing from the list above.
const _everyCode: [Exclude<ErrorCode, (typeof ERROR_CODES)[number]>] extends [never] ? true : never = true;

/** Every error answer: `{"error": {"code", "message", "details"?}}`. */
export const errorResponseSchema = z
  .object({
    error: z.object({
      code: z.enum(ERROR_CODES).meta({ description: 'Stable code for programs' }),
      message: z.string().meta({ description: 'Text for people' }),
      details: z.unknown().optional().meta({ description: 'For VALIDATION_ERROR: the issues found, clipped' }),
    }),
  })
  .meta({ examples: [{ error: { code: 'TASK_NOT_FOUND', message: 'Task 0193f4c2 was not found' } }] });
export type ErrorResponse = z.infer<typeof errorResponseSchema>;

/** GET /api/v1/health (no auth). */
export const healthResponseSchema = z.object({
  status: z.enum(['ok', 'degraded']),
  checks: z.object({ table: z.string(), spawn_queue: z.string(), wake_queue: z.string() }).meta({ description: '"ok" or "down: <error>" per dependency' }),
  time: instant,
});

/** GET /api/v1/openapi.json: an OpenAPI 3.1 document (only its frame is pinned here). */
export const openApiDocumentSchema = z.looseObject({
  openapi: z.string().meta({ examples: ['3.1.0'] }),
  info: z.looseObject({ title: z.string(), version: z.string() }),
  paths: z.record(z.string(), z.unknown()),
});

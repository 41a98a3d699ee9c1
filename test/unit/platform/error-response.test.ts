import { describe, expect, it } from 'vitest';
import * as z from 'zod';
import { errorResponse } from '../../../src/platform/http/api-handler.js';
import { DomainError } from '../../../src/platform/errors.js';
import { TransactionConflictError } from '../../../src/platform/dynamodb/transact.js';
import { TransactionCanceledException } from '@aws-sdk/client-dynamodb';

const bodyOf = (result: ReturnType<typeof errorResponse>) => JSON.parse(String(result.body));

describe('errorResponse', () => {
  it('answers 400 VALIDATION_ERROR naming the field', () => {
    const error = z.object({ priority: z.number() }).safeParse({ priority: 'high' }).error;
    const result = errorResponse(error);
    expect(result.statusCode).toBe(400);
    expect(bodyOf(result).error).toMatchObject({ code: 'VALIDATION_ERROR', message: expect.stringContaining('priority') });
  });

  it('does not echo a huge rejected value or thousands of unknown keys back', () => {
    const plan = z.object({ plan: z.enum(['free', 'pro']) }).strict();
    const huge = plan.safeParse({ plan: 'p'.repeat(200_000) }).error;
    expect(String(errorResponse(huge).body).length).toBeLessThan(2000);
    const keys = Object.fromEntries(Array.from({ length: 5000 }, (_, i) => [`k${i}`.repeat(20), i]));
    const unknown = plan.safeParse({ plan: 'free', ...keys }).error;
    expect(String(errorResponse(unknown).body).length).toBeLessThan(20_000);
  });

  it.each([
    ['UNAUTHORIZED', 401],
    ['FORBIDDEN', 403],
    ['TASK_NOT_FOUND', 404],
    ['PAYLOAD_TOO_LARGE', 413],
  ] as const)('maps %s to %i', (code, status) => {
    const result = errorResponse(new DomainError(code, 'because'));
    expect(result.statusCode).toBe(status);
    expect(bodyOf(result)).toEqual({ error: { code, message: 'because' } });
  });

  it('asks the caller to retry a 503 SERVICE_UNAVAILABLE after Retry-After seconds', () => {
    const answer = errorResponse(new DomainError('SERVICE_UNAVAILABLE', 'The table is busy; try again'));
    expect(answer.statusCode).toBe(503);
    expect(answer.headers?.['retry-after']).toBe('1');
    expect(errorResponse(new DomainError('CONFLICT', 'x')).headers).not.toHaveProperty('retry-after');
  });

  it('turns anything else into a plain 500 without internals', () => {
    const result = errorResponse(new Error('ValidationException: secret table name'));
    expect(result.statusCode).toBe(500);
    expect(String(result.body)).not.toContain('secret');
  });
});

describe('errorResponse when storage is busy', () => {
  const named = (name: string) => Object.assign(new Error('busy'), { name });
  it.each([
    ['throttled reads or writes', named('ProvisionedThroughputExceededException')],
    ['a throttled request', named('ThrottlingException')],
    ['a transaction that kept losing races', new TransactionConflictError([0])],
    [
      'a transaction cancelled by a conflict',
      new TransactionCanceledException({ message: 'cancelled', $metadata: {}, CancellationReasons: [{ Code: 'None' }, { Code: 'TransactionConflict' }] }),
    ],
  ])('answers 503 SERVICE_UNAVAILABLE with Retry-After for %s, never a 500', (_name, error) => {
    const result = errorResponse(error);
    expect(result.statusCode).toBe(503);
    expect(result.headers).toMatchObject({ 'retry-after': '1' });
    expect(bodyOf(result).error).toMatchObject({ code: 'SERVICE_UNAVAILABLE' });
  });

  it('still answers 500 for a bug', () => {
    expect(errorResponse(new TypeError('x is undefined')).statusCode).toBe(500);
  });
});

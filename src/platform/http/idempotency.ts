import { createHash } from 'node:crypto';
import * as z from 'zod';
import { DomainError, ValidationError } from '../errors.js';
import { logger } from '../logger.js';
import { claimIdempotencyKey, completeIdempotencyRecord, getIdempotencyRecord, releaseIdempotencyKey } from '../idempotency-store.js';
import type { ApiEvent, ApiResult } from './api-handler.js';

/** How long a key answers with its first response. */
export const IDEMPOTENCY_TTL_SECONDS = 24 * 3600;
/** A first request that has not finished after this long (its Lambda died) gives the key up. */
const LOCK_MS = 60_000;
/** How long a concurrent duplicate waits for the first request's answer before a 409. */
const WAIT_MS = 10_000;
const POLL_MS = 100;

export const IDEMPOTENCY_HEADER = 'idempotency-key';
/** Set on an answer replayed from an earlier request with the same key. */
export const REPLAYED_HEADER = 'idempotent-replayed';

const keySchema = z.string().min(1).max(255).regex(/^[\x21-\x7e]+$/, 'printable ASCII without spaces');

function headerOf(event: ApiEvent, name: string): string | undefined {
  for (const [key, value] of Object.entries(event.headers ?? {})) if (key.toLowerCase() === name) return value;
  return undefined;
}

/** JSON with sorted keys, so the same body sent with other spacing or key order is the same request. */
function canonical(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(canonical).join(',')}]`;
  if (value !== null && typeof value === 'object') {
    return `{${Object.keys(value).sort().map((key) => `${JSON.stringify(key)}:${canonical((value as Record<string, unknown>)[key])}`).join(',')}}`;
  }
  return JSON.stringify(value) ?? 'null';
}

function requestHash(event: ApiEvent): string {
  const raw = event.body ?? '';
  const text = event.isBase64Encoded ? Buffer.from(raw, 'base64').toString('utf8') : raw;
  let body: string;
  try {
    body = text.trim() === '' ? '{}' : canonical(JSON.parse(text));
  } catch {
    body = text;
  }
  return createHash('sha256').update(`${event.routeKey}\n${event.rawPath ?? ''}\n${body}`).digest('hex');
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/**
 * Runs a creating request at most once per `Idempotency-Key` (24 h, per user): the same key with
 * the same body answers the first answer again (status and body, with `idempotent-replayed: true`)
 * and creates nothing; another body is 409 IDEMPOTENCY_CONFLICT. A concurrent duplicate waits for
 * the first one's answer. A first request that fails (4xx or an error) frees the key again, so a
 * corrected retry may run. Without the header `run` simply runs.
 */
export async function idempotent(event: ApiEvent, userId: string, run: () => Promise<ApiResult>, clock: () => number = Date.now): Promise<ApiResult> {
  const header = headerOf(event, IDEMPOTENCY_HEADER);
  if (header === undefined) return run();
  const parsed = keySchema.safeParse(header);
  if (!parsed.success) throw new ValidationError(`Idempotency-Key: ${parsed.error.issues[0]?.message ?? 'invalid'} (1-255 characters)`, { field: 'Idempotency-Key' });
  const key = parsed.data;
  const hash = requestHash(event);
  const started = clock();
  for (;;) {
    const nowMs = clock();
    const claimed = await claimIdempotencyKey({ userId, key, requestHash: hash, lockedUntil: nowMs + LOCK_MS, expiresAt: Math.floor(nowMs / 1000) + IDEMPOTENCY_TTL_SECONDS }, nowMs);
    if (claimed) return runFirst(userId, key, run);
    const record = await getIdempotencyRecord(userId, key);
    if (!record) continue; // freed meanwhile: try to take it
    if (record.requestHash !== hash && record.expiresAt * 1000 >= nowMs) {
      throw new DomainError('IDEMPOTENCY_CONFLICT', `Idempotency-Key "${key}" was already used with another request in the last 24 hours; use a new key for a new request`);
    }
    if (record.state === 'completed' && record.statusCode !== null && record.body !== null) {
      return { statusCode: record.statusCode, headers: { 'content-type': 'application/json', [REPLAYED_HEADER]: 'true' }, body: record.body };
    }
    if (clock() - started > WAIT_MS) {
      throw new DomainError('CONFLICT', `A request with Idempotency-Key "${key}" is still in progress; retry in a few seconds`);
    }
    await sleep(POLL_MS);
  }
}

async function runFirst(userId: string, key: string, run: () => Promise<ApiResult>): Promise<ApiResult> {
  let result: ApiResult;
  try {
    result = await run();
  } catch (error) {
    await releaseIdempotencyKey(userId, key).catch((cause: unknown) => logger.warn('could not free an idempotency key', { key, error: cause }));
    throw error;
  }
  const status = result.statusCode ?? 200;
  if (status >= 200 && status < 300) await completeIdempotencyRecord(userId, key, status, typeof result.body === 'string' ? result.body : '');
  else await releaseIdempotencyKey(userId, key);
  return result;
}

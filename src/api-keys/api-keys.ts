import { createHash, randomBytes, randomUUID } from 'node:crypto';
import { DomainError, ValidationError } from '../platform/errors.js';
import { logger } from '../platform/logger.js';
import type { ApiKeyCreate } from './schemas.js';
import { findApiKeyByHash, getApiKey, listApiKeys as listStoredApiKeys, putApiKey, revokeApiKey as revokeStoredApiKey, type ApiKeyRecord } from './api-key-store.js';

/** Every key starts with this, so a leaked one is easy to recognise (and to scan for). */
export const API_KEY_PREFIX = 'ns_';
/** 32 random bytes, base64url: 43 characters after the prefix. */
const SECRET_BYTES = 32;
const KEY_PATTERN = /^ns_[A-Za-z0-9_-]{43}$/;
/** Characters of the key kept for display; the 40 left out carry ~240 bits. */
const SHOWN_PREFIX_LENGTH = API_KEY_PREFIX.length + 4;
export const MAX_ACTIVE_API_KEYS = 50;

export const hashApiKey = (key: string): string => createHash('sha256').update(key).digest('hex');

export type ApiKeyStatus = 'active' | 'expired' | 'revoked';

/** An API key as its owner sees it; never the secret. */
export interface ApiKeyView {
  id: string;
  name: string;
  prefix: string;
  created_at: string;
  expires_at: string | null;
  revoked_at: string | null;
  status: ApiKeyStatus;
}

/** Whether a key may be used at `now`: not revoked and not past its expiry. */
export function apiKeyStatus(key: Pick<ApiKeyRecord, 'expires_at' | 'revoked_at'>, now: Date): ApiKeyStatus {
  if (key.revoked_at !== null) return 'revoked';
  if (key.expires_at !== null && Date.parse(key.expires_at) <= now.getTime()) return 'expired';
  return 'active';
}

const view = (record: ApiKeyRecord, now: Date): ApiKeyView => ({
  id: record.id,
  name: record.name,
  prefix: record.prefix,
  created_at: record.created_at,
  expires_at: record.expires_at,
  revoked_at: record.revoked_at,
  status: apiKeyStatus(record, now),
});

/** Creates a key; the answer is the only time the secret `key` is ever shown. */
export async function createApiKey(userId: string, input: ApiKeyCreate, now = new Date()): Promise<ApiKeyView & { key: string }> {
  const expiresAt = input.expires_at ? new Date(input.expires_at) : null;
  if (expiresAt && expiresAt.getTime() <= now.getTime()) throw new ValidationError('expires_at must be in the future');
  const existing = await listStoredApiKeys(userId);
  if (existing.filter((key) => apiKeyStatus(key, now) === 'active').length >= MAX_ACTIVE_API_KEYS) {
    throw new ValidationError(`You already have ${MAX_ACTIVE_API_KEYS} active API keys; revoke one first`);
  }
  const key = `${API_KEY_PREFIX}${randomBytes(SECRET_BYTES).toString('base64url')}`;
  const record: ApiKeyRecord = {
    id: randomUUID(),
    user_id: userId,
    name: input.name,
    prefix: key.slice(0, SHOWN_PREFIX_LENGTH),
    key_hash: hashApiKey(key),
    created_at: now.toISOString(),
    expires_at: expiresAt ? expiresAt.toISOString() : null,
    revoked_at: null,
  };
  await putApiKey(record);
  logger.info('api key created', { user_id: userId, api_key_id: record.id, expires_at: record.expires_at });
  return { ...view(record, now), key };
}

export async function listApiKeys(userId: string, now = new Date()): Promise<ApiKeyView[]> {
  return (await listStoredApiKeys(userId)).map((record) => view(record, now));
}

/** Revokes one of the caller's keys; another user's key is reported as not found. Idempotent. */
export async function revokeApiKey(userId: string, keyId: string, now = new Date()): Promise<void> {
  const record = await getApiKey(userId, keyId);
  if (!record) throw new DomainError('NOT_FOUND', `API key ${keyId} was not found`);
  await revokeStoredApiKey(record, now);
  logger.info('api key revoked', { user_id: userId, api_key_id: keyId });
}

/** Who presents `key`, or null for a malformed, unknown, revoked or expired key. */
export async function authenticateApiKey(key: string, now = new Date()): Promise<{ userId: string; keyId: string } | null> {
  // Malformed keys never reach the table.
  if (!KEY_PATTERN.test(key)) return null;
  const found = await findApiKeyByHash(hashApiKey(key));
  if (!found || apiKeyStatus({ expires_at: found.expires_at, revoked_at: null }, now) !== 'active') return null;
  return { userId: found.user_id, keyId: found.key_id };
}

/**
 * What the Lambda authorizer (and the local API adapter, through the same function) tells the
 * API about an API-key caller. API keys never carry the admin group: admin work needs a JWT.
 */
export async function apiKeyAuthorizerContext(key: string, now = new Date()): Promise<Record<string, string> | null> {
  const caller = await authenticateApiKey(key, now);
  return caller ? { user_id: caller.userId, groups: '', api_key_id: caller.keyId } : null;
}

import { createHash, timingSafeEqual } from 'node:crypto';

/*
 * A sandbox's callback and sandbox tokens are 256 random bits; the task stores only a verifier.
 * 128 bits of SHA-256 are as hard to forge as the whole digest for a secret this long (finding a
 * token for a stored verifier is a 2^128 preimage search) and take 22 characters of the task
 * item instead of 64: every write of a task costs write units by its size in KB.
 */

/** The verifier stored for `token`: the first 128 bits of its SHA-256, base64url. */
export const hashToken = (token: string): string => createHash('sha256').update(token).digest().subarray(0, 16).toString('base64url');

/** The whole hex digest, as tasks claimed before the short verifier store it. */
const legacyHash = (token: string): string => createHash('sha256').update(token).digest('hex');

const sameText = (a: string, b: string): boolean => a.length === b.length && timingSafeEqual(Buffer.from(a), Buffer.from(b));

/** Whether `token` is the one `stored` was made from (either form), compared in constant time. */
export function tokenMatches(stored: string | null | undefined, token: string): boolean {
  if (!stored) return false;
  return sameText(stored, stored.length === 64 ? legacyHash(token) : hashToken(token));
}

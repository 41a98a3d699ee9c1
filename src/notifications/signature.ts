import { createHmac, timingSafeEqual } from 'node:crypto';

/** Header that carries the signature of a webhook body. */
export const SIGNATURE_HEADER = 'Nightshift-Signature';
export const EVENT_ID_HEADER = 'Nightshift-Event-Id';

/** How old a signed timestamp may be before a receiver should refuse it (replay protection). */
export const DEFAULT_TOLERANCE_SECONDS = 300;

const hmac = (secret: string, timestamp: number, body: string): string => createHmac('sha256', secret).update(`${timestamp}.${body}`).digest('hex');

/** `t=<unix seconds>,v1=<hex HMAC-SHA256 of "<t>.<body>">`, keyed with the user's signing secret. */
export function signatureHeader(secret: string, timestampSeconds: number, body: string): string {
  return `t=${timestampSeconds},v1=${hmac(secret, timestampSeconds, body)}`;
}

/**
 * What a receiver does: true when `header` is a valid signature of `body` with `secret` whose
 * timestamp is within `toleranceSeconds` of `nowSeconds`. Compares in constant time.
 */
export function verifySignature(secret: string, header: string, body: string, nowSeconds: number, toleranceSeconds = DEFAULT_TOLERANCE_SECONDS): boolean {
  const parts = new Map<string, string[]>();
  for (const piece of header.split(',')) {
    const [name, ...rest] = piece.trim().split('=');
    if (!name || rest.length === 0) continue;
    parts.set(name, [...(parts.get(name) ?? []), rest.join('=')]);
  }
  const t = Number(parts.get('t')?.[0]);
  if (!Number.isInteger(t) || Math.abs(nowSeconds - t) > toleranceSeconds) return false;
  const expected = Buffer.from(hmac(secret, t, body), 'hex');
  return (parts.get('v1') ?? []).some((candidate) => {
    if (!/^[0-9a-f]{64}$/.test(candidate)) return false;
    return timingSafeEqual(expected, Buffer.from(candidate, 'hex'));
  });
}

/** At-least-once for this long after the event; then the delivery is given up. */
export const DELIVERY_WINDOW_SECONDS = 24 * 3600;
/** No wait between attempts is longer than this (so a receiver back up is reached within the hour). */
export const MAX_BACKOFF_SECONDS = 3600;
/** A receiver that does not answer within this is treated as failed (and retried). */
export const DELIVERY_TIMEOUT_MS = 10_000;

/**
 * Seconds to wait after failed attempt number `attempt` (1-based): base x 2^(attempt-1), capped,
 * with up to 20 % jitter (`random` in [0, 1)) so that many failing receivers do not retry in step.
 */
export function backoffSeconds(attempt: number, baseSeconds: number, random: number): number {
  const plain = Math.min(MAX_BACKOFF_SECONDS, baseSeconds * 2 ** Math.max(0, attempt - 1));
  return Math.max(1, Math.round(plain * (1 + 0.2 * random)));
}

/** Whether another attempt at `nextAt` would still be inside the delivery window. */
export const withinWindow = (createdAt: string, nextAt: Date): boolean => nextAt.getTime() - Date.parse(createdAt) <= DELIVERY_WINDOW_SECONDS * 1000;

/** Answers that no retry can fix: the receiver says the request itself is wrong or gone. */
export const isPermanentFailure = (status: number): boolean => status === 400 || status === 404 || status === 410 || status === 413 || status === 422;

/**
 * Override requests: a user of a space at its monthly hard limit asks admins for more credits; an
 * admin grants (through the overrides endpoint) or declines. A request is decided once.
 */
import { DomainError } from '../platform/errors.js';

export const OVERRIDE_REQUEST_STATUSES = ['pending', 'granted', 'declined'] as const;
export type OverrideRequestStatus = (typeof OVERRIDE_REQUEST_STATUSES)[number];

export interface OverrideRequest {
  request_id: string;
  /** The space the user asked about. */
  space_id: string;
  /** The space whose quota applied when it was asked (this one or the ancestor it draws from). */
  quota_space_id: string;
  user_id: string;
  credits: number;
  reason: string;
  status: OverrideRequestStatus;
  created_at: string;
  decided_at: string | null;
  decided_by: string | null;
  decision_reason: string | null;
  /** The ledger id of the override that granted it. */
  override_id: string | null;
}

export class OverrideRequestNotFoundError extends DomainError {
  constructor(requestId: string) {
    super('OVERRIDE_REQUEST_NOT_FOUND', `Override request ${requestId} was not found`);
    this.name = 'OverrideRequestNotFoundError';
  }
}

export class OverrideRequestDecidedError extends DomainError {
  constructor(request: Pick<OverrideRequest, 'request_id' | 'status'>) {
    super('OVERRIDE_REQUEST_DECIDED', `Override request ${request.request_id} was already ${request.status}`);
    this.name = 'OverrideRequestDecidedError';
  }
}

/** A space a user may ask about, as the caller saw it: 404 SPACE_NOT_FOUND otherwise. */
export class OverrideSpaceNotFoundError extends DomainError {
  constructor(spaceId: string) {
    super('SPACE_NOT_FOUND', `Space ${spaceId} was not found`);
    this.name = 'OverrideSpaceNotFoundError';
  }
}

export interface Decision {
  status: Exclude<OverrideRequestStatus, 'pending'>;
  by: string;
  reason: string | null;
  at: Date;
  overrideId?: string;
}

/** The request once decided; a request that is not pending any more cannot be decided again. */
export function decideRequest(request: OverrideRequest, decision: Decision): OverrideRequest {
  if (request.status !== 'pending') throw new OverrideRequestDecidedError(request);
  return {
    ...request,
    status: decision.status,
    decided_at: decision.at.toISOString(),
    decided_by: decision.by,
    decision_reason: decision.reason,
    override_id: decision.overrideId ?? null,
  };
}

/** A new pending request. */
export function newOverrideRequest(fields: Pick<OverrideRequest, 'request_id' | 'space_id' | 'quota_space_id' | 'user_id' | 'credits' | 'reason'>, now: Date): OverrideRequest {
  return { ...fields, status: 'pending', created_at: now.toISOString(), decided_at: null, decided_by: null, decision_reason: null, override_id: null };
}

/** Newest first, across listings that each are newest first: by creation time, then id. */
export const sortKeyOf = (request: Pick<OverrideRequest, 'created_at' | 'request_id'>): string => `${request.created_at}#${request.request_id}`;

/** Merges pages of listings sorted newest first into one page of `limit`; `more` when anything is left. */
export function mergeNewestFirst(pages: OverrideRequest[][], limit: number): { requests: OverrideRequest[]; more: boolean } {
  const all = pages.flat().sort((a, b) => (sortKeyOf(a) < sortKeyOf(b) ? 1 : sortKeyOf(a) > sortKeyOf(b) ? -1 : 0));
  return { requests: all.slice(0, limit), more: all.length > limit };
}

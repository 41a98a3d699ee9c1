/**
 * Override requests, the use cases: a space's users ask, everyone who may use the space reads its
 * requests, admins list them by status and decline them. Granting goes through the overrides
 * endpoint (src/spaces/spaces.ts `grantOverride` with `request_id`). Each step writes a ledger row
 * in the same transaction as the request, so the space's audit trail tells the whole story.
 */
import { randomUUID } from 'node:crypto';
import { loadQuotaState } from '../credits/charges.js';
import { putLedgerItem, type LedgerEntry } from '../credits/ledger-store.js';
import { creditsToUnits, unitsToCredits } from '../credits/pricing.js';
import { isPersonalSpace, personalSpaceId } from '../credits/quota-windows.js';
import { ForbiddenError, ValidationError } from '../platform/errors.js';
import { logger } from '../platform/logger.js';
import { transact, withOptimisticRetry } from '../platform/dynamodb/transact.js';
import { getSpace } from '../spaces/space-store.js';
import {
  decideRequest,
  mergeNewestFirst,
  newOverrideRequest,
  OverrideRequestNotFoundError,
  OverrideSpaceNotFoundError,
  type OverrideRequest,
  type OverrideRequestStatus,
} from './override-request.js';
import {
  decideOverrideRequestItem,
  encodeBefore,
  getOverrideRequest,
  listOverrideRequestPages,
  putNewOverrideRequestItem,
  type OverrideRequestSource,
} from './override-request-store.js';
import type { OverrideRequestCreate, OverrideRequestDecline } from './schemas.js';

export interface Caller {
  userId: string;
  isAdmin: boolean;
}

/** What users and admins see of a request: everything but the quota space it was checked against. */
export type OverrideRequestView = Omit<OverrideRequest, 'quota_space_id'>;

export interface OverrideRequestPage {
  override_requests: OverrideRequestView[];
  next_cursor: string | null;
}

export const overrideRequestView = (request: OverrideRequest): OverrideRequestView => ({
  request_id: request.request_id,
  space_id: request.space_id,
  user_id: request.user_id,
  credits: request.credits,
  reason: request.reason,
  status: request.status,
  created_at: request.created_at,
  decided_at: request.decided_at,
  decided_by: request.decided_by,
  decision_reason: request.decision_reason,
  override_id: request.override_id ?? null,
});

/**
 * The space's users (owner and members; admins too when `admins` is set) may read and ask;
 * anyone else gets the same 404 as for a space that does not exist.
 */
async function assertUsableSpace(caller: Caller, spaceId: string, admins: boolean): Promise<void> {
  if (isPersonalSpace(spaceId)) {
    if (spaceId === personalSpaceId(caller.userId) || (admins && caller.isAdmin)) return;
    throw new OverrideSpaceNotFoundError(spaceId);
  }
  const space = await getSpace(spaceId);
  const member = space !== null && (space.owner_id === caller.userId || space.members.includes(caller.userId));
  if (!space || !(member || (admins && caller.isAdmin))) throw new OverrideSpaceNotFoundError(spaceId);
}

/** The ledger row that tells a request's step; it names no window, so it moves no counter's sum. */
export function overrideRequestLedgerEntry(
  request: OverrideRequest,
  step: 'override_request' | 'override_declined',
  actor: string,
  note: string | null,
  at: string,
): LedgerEntry {
  const units = creditsToUnits(request.credits);
  return {
    id: `${step === 'override_request' ? 'override-request' : 'override-declined'}:${request.request_id}`,
    task_id: null,
    space_id: request.quota_space_id,
    // Listed in the ledger of the space asked about too, when it draws from an ancestor's quota.
    task_space_id: request.quota_space_id === request.space_id ? null : request.space_id,
    executor_id: null,
    credits: unitsToCredits(units),
    units,
    reason: step,
    actor,
    created_at: at,
    weekly_window: null,
    monthly_window: null,
    note,
    expires_at: null,
    request_id: request.request_id,
  };
}

/**
 * POST /spaces/{id}/override-requests: the caller (owner or member) asks admins for `credits`
 * above the space's monthly hard limit. Personal spaces and spaces without a monthly limit have
 * nothing to override (400).
 */
export async function requestOverride(caller: Caller, spaceId: string, body: OverrideRequestCreate, now = new Date()): Promise<OverrideRequestView> {
  await assertUsableSpace(caller, spaceId, false);
  if (isPersonalSpace(spaceId)) throw new ValidationError(`Space ${spaceId} has no credit limit to override`);
  const state = await loadQuotaState(spaceId, now);
  if (state.monthlyLimit === null) throw new ValidationError(`Space ${state.quotaSpaceId} has no monthly credit limit to override`);
  const request = newOverrideRequest(
    { request_id: randomUUID(), space_id: spaceId, quota_space_id: state.quotaSpaceId, user_id: caller.userId, credits: body.credits, reason: body.reason },
    now,
  );
  await transact([putNewOverrideRequestItem(request), putLedgerItem(overrideRequestLedgerEntry(request, 'override_request', caller.userId, body.reason, request.created_at))]);
  logger.info('override requested', { request_id: request.request_id, space_id: spaceId, user_id: caller.userId, credits: body.credits });
  return overrideRequestView(request);
}

async function page(source: OverrideRequestSource, query: { limit: number; cursor?: string }): Promise<OverrideRequestPage> {
  const { requests, more } = mergeNewestFirst(await listOverrideRequestPages(source, query), query.limit);
  const last = requests.at(-1);
  return { override_requests: requests.map(overrideRequestView), next_cursor: more && last ? encodeBefore(last) : null };
}

/** GET /spaces/{id}/override-requests: the space's requests, newest first (its users and admins). */
export async function listSpaceOverrideRequests(caller: Caller, spaceId: string, query: { limit: number; cursor?: string }): Promise<OverrideRequestPage> {
  await assertUsableSpace(caller, spaceId, true);
  return page({ spaceId }, query);
}

/** GET /admin/override-requests: admins' queue, one status or all, newest first. */
export async function listOverrideRequests(caller: Caller, query: { status?: OverrideRequestStatus; limit: number; cursor?: string }): Promise<OverrideRequestPage> {
  if (!caller.isAdmin) throw new ForbiddenError('This endpoint is for administrators');
  return page({ status: query.status }, query);
}

/** POST /admin/override-requests/{id}/decline: 409 when it was decided already, by anyone. */
export async function declineOverrideRequest(caller: Caller, requestId: string, body: OverrideRequestDecline, now = new Date()): Promise<OverrideRequestView> {
  if (!caller.isAdmin) throw new ForbiddenError('This endpoint is for administrators');
  const declined = await withOptimisticRetry(async () => {
    const request = await getOverrideRequest(requestId);
    if (!request) throw new OverrideRequestNotFoundError(requestId);
    const next = decideRequest(request, { status: 'declined', by: caller.userId, reason: body.reason ?? null, at: now });
    await transact([
      decideOverrideRequestItem(next),
      putLedgerItem(overrideRequestLedgerEntry(next, 'override_declined', caller.userId, body.reason ?? null, now.toISOString())),
    ]);
    return next;
  });
  logger.info('override request declined', { request_id: requestId, admin_id: caller.userId, space_id: declined.space_id });
  return overrideRequestView(declined);
}

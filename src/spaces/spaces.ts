/**
 * Spaces: who owns and may use them, their quota settings, the quota view people see, admin
 * overrides and the ledger. The credit arithmetic itself is in ./credits.ts.
 */
import { randomUUID } from 'node:crypto';
import { creditsToUnits, unitsToCredits } from '../credits/pricing.js';
import { DomainError, ForbiddenError, ValidationError } from '../platform/errors.js';
import { logger } from '../platform/logger.js';
import { isPersonalSpace, personalSpaceId, quotaStatus, wouldCreateCycle, type QuotaLevel, type QuotaSpace } from '../credits/quota-windows.js';
import type { OverrideCreate, SpacePut } from './schemas.js';
import { listLedger, putLedgerItem, type LedgerEntry } from '../credits/ledger-store.js';
import { getSpace, getSpaces, listMemberSpaceIds, membershipChangeItems, putSpaceItem, spaceUnchangedItem, spaceUsers, type Space, type SpaceOverride, type SpaceQuota } from './space-store.js';
import { transact, withOptimisticRetry, type TransactItem } from '../platform/dynamodb/transact.js';
import { getUser } from '../accounts/user-store.js';
import { loadQuotaState, quotaUsage, releaseWaitingUsers } from '../credits/charges.js';
import { decideRequest, OverrideRequestNotFoundError, type OverrideRequest } from '../overrides/override-request.js';
import { decideOverrideRequestItem, getOverrideRequest } from '../overrides/override-request-store.js';

/** Who is asking: spaces are visible to their owner, their members and admins. */
export interface Caller {
  userId: string;
  isAdmin: boolean;
}

/** DynamoDB's limit on the items of one TransactWriteItems call. */
const MAX_TRANSACTION_ITEMS = 100;

/** Deepest a space may sit (a root is level 1): keeps charge-time resolution and PUT checks small. */
export const MAX_SPACE_DEPTH = 8;

/** Another user's space, or none: the same answer, so ids of other people's spaces do not leak. */
export class SpaceNotFoundError extends DomainError {
  constructor(spaceId: string) {
    super('NOT_FOUND', `Space ${spaceId} was not found`);
    this.name = 'SpaceNotFoundError';
  }
}

const isMember = (space: Space, userId: string): boolean => space.owner_id === userId || space.members.includes(userId);
const canSee = (space: Space, identity: Caller): boolean => identity.isAdmin || isMember(space, identity.userId);

/**
 * The space if the caller may see it (owner, member or admin); null for a personal space, which
 * exists implicitly and only its user (or an admin) sees. Otherwise `SpaceNotFoundError`.
 */
async function visibleSpace(identity: Caller, spaceId: string): Promise<Space | null> {
  if (isPersonalSpace(spaceId)) {
    if (spaceId === personalSpaceId(identity.userId) || identity.isAdmin) return null;
    throw new SpaceNotFoundError(spaceId);
  }
  const space = await getSpace(spaceId);
  if (!space || !canSee(space, identity)) throw new SpaceNotFoundError(spaceId);
  return space;
}

/** A task may name its user's personal space or a space the user owns or is a member of (404 otherwise). */
export async function assertTaskSpace(userId: string, spaceId: string): Promise<void> {
  if (isPersonalSpace(spaceId)) {
    if (spaceId !== personalSpaceId(userId)) throw new SpaceNotFoundError(spaceId);
    return;
  }
  const space = await getSpace(spaceId);
  if (!space || !isMember(space, userId)) throw new SpaceNotFoundError(spaceId);
}

export interface SpaceView {
  id: string;
  name: string;
  owner_id: string;
  parent_id: string | null;
  members: string[];
  quota: SpaceQuota | null;
  overrides: SpaceOverride[];
  created_at: string;
  updated_at: string;
}

const activeOverrides = (space: Space, now: Date): SpaceOverride[] =>
  space.overrides.filter((override) => Date.parse(override.expires_at) > now.getTime());

const spaceView = (space: Space, now: Date): SpaceView => ({
  id: space.id,
  name: space.name,
  owner_id: space.owner_id,
  parent_id: space.parent_id,
  members: space.members,
  quota: space.quota,
  overrides: activeOverrides(space, now),
  created_at: space.created_at,
  updated_at: space.updated_at,
});

function quotaFrom(input: NonNullable<SpacePut['quota']>, billingDay: number): SpaceQuota {
  const quota: SpaceQuota = {
    monthly_limit: input.monthly_limit ?? null,
    weekly_limit: input.weekly_limit ?? null,
    weekly_reset_day: input.weekly_reset_day ?? 0,
    monthly_reset_day: input.monthly_reset_day ?? billingDay,
  };
  if (input.inherit !== undefined) quota.inherit = input.inherit;
  return quota;
}

/**
 * The parent's chain checked for a new or changed `parent_id`: it must exist and be visible to the
 * caller, must not be a personal space, must not close a cycle, and must keep the tree at most
 * MAX_SPACE_DEPTH deep. Returns condition items holding the chain as read, so two concurrent moves
 * cannot build a cycle together.
 */
async function checkParent(identity: Caller, spaceId: string, parentId: string): Promise<TransactItem[]> {
  if (isPersonalSpace(parentId)) throw new ValidationError('parent_id: a personal space cannot have sub-spaces');
  const chain = new Map<string, QuotaSpace>();
  const checks: TransactItem[] = [];
  let currentId: string | null = parentId;
  while (currentId) {
    if (currentId === spaceId) throw new ValidationError(`parent_id: space ${parentId} is inside ${spaceId}; that would make a cycle`);
    if (chain.has(currentId) || chain.size >= MAX_SPACE_DEPTH) break;
    const space = await getSpace(currentId);
    if (!space) break;
    if (currentId === parentId && !canSee(space, identity)) break;
    chain.set(currentId, space);
    checks.push(spaceUnchangedItem(space));
    currentId = space.parent_id;
  }
  if (!chain.has(parentId)) throw new ValidationError(`parent_id: space ${parentId} was not found`);
  if (wouldCreateCycle(spaceId, parentId, chain)) throw new ValidationError(`parent_id: ${parentId} would make a cycle`);
  if (chain.size + 1 > MAX_SPACE_DEPTH) throw new ValidationError(`parent_id: spaces nest at most ${MAX_SPACE_DEPTH} deep`);
  return checks;
}

/**
 * PUT /spaces/{id}: creates the space (the caller owns it) or updates it (owner or admin only).
 * Omitted fields keep their value; `parent_id: null` and `quota: null` clear them. A quota without
 * `monthly_reset_day` resets on the owner's billing day; without `weekly_reset_day`, on Sunday.
 * Changing the quota or the parent re-checks the work waiting for credits in this space's tree.
 */
export async function putSpace(
  identity: Caller,
  spaceId: string,
  body: SpacePut,
  now = new Date(),
): Promise<{ space: SpaceView; created: boolean }> {
  if (isPersonalSpace(spaceId)) throw new ValidationError('Personal spaces exist implicitly and cannot be created or changed');
  const result = await withOptimisticRetry(async () => {
    const existing = await getSpace(spaceId);
    if (existing && !canSee(existing, identity)) throw new SpaceNotFoundError(spaceId);
    if (existing && existing.owner_id !== identity.userId && !identity.isAdmin) {
      throw new ForbiddenError(`Only the owner of space ${spaceId} or an admin can change it`);
    }
    const ownerId = existing?.owner_id ?? identity.userId;
    const billingDay = existing?.billing_day ?? (await getUser(ownerId, now)).billing_day;
    const parentId = body.parent_id !== undefined ? body.parent_id : (existing?.parent_id ?? null);
    const parentChanged = parentId !== (existing?.parent_id ?? null);
    const checks = parentId && parentChanged ? await checkParent(identity, spaceId, parentId) : [];
    const next: Space = {
      id: spaceId,
      name: body.name ?? existing?.name ?? spaceId,
      owner_id: ownerId,
      parent_id: parentId,
      members: body.members ? [...new Set(body.members)].filter((member) => member !== ownerId) : (existing?.members ?? []),
      quota: body.quota === undefined ? (existing?.quota ?? null) : body.quota === null ? null : quotaFrom(body.quota, billingDay),
      overrides: existing ? activeOverrides(existing, now) : [],
      billing_day: billingDay,
      version: (existing?.version ?? 0) + 1,
      created_at: existing?.created_at ?? now.toISOString(),
      updated_at: now.toISOString(),
    };
    // The membership items (GET /spaces) change with the space; a change too large for one
    // transaction (a member list of hundreds rewritten) writes the rest right after it.
    const memberships = membershipChangeItems(spaceId, existing ? spaceUsers(existing) : [], spaceUsers(next));
    const room = MAX_TRANSACTION_ITEMS - 1 - checks.length;
    await transact([putSpaceItem(next), ...checks, ...memberships.slice(0, room)]);
    for (let start = room; start < memberships.length; start += MAX_TRANSACTION_ITEMS) {
      await transact(memberships.slice(start, start + MAX_TRANSACTION_ITEMS));
    }
    return { next, created: !existing, quotaOrParentChanged: body.quota !== undefined || parentChanged };
  });
  logger.info(result.created ? 'space created' : 'space updated', { space_id: spaceId, user_id: identity.userId, quota: result.next.quota });
  if (result.quotaOrParentChanged && !result.created) {
    // Waiters are filed under the space whose quota blocked them: this one or an ancestor.
    let currentId: string | null = spaceId;
    for (let depth = 0; currentId && depth < MAX_SPACE_DEPTH; depth++) {
      await releaseWaitingUsers(currentId, now);
      currentId = currentId === spaceId ? result.next.parent_id : ((await getSpace(currentId))?.parent_id ?? null);
    }
  }
  return { space: spaceView(result.next, now), created: result.created };
}

/**
 * GET /spaces: the spaces the caller owns or is a member of, by id, one page at a time (admins
 * too see only their own here). Read through the caller's membership items; a space whose
 * membership changed since an item was read is checked against the space itself.
 */
export async function listMySpaces(identity: Caller, query: { limit: number; cursor?: string }, now = new Date()): Promise<{ spaces: SpaceView[]; nextCursor: string | null }> {
  const page = await listMemberSpaceIds(identity.userId, query);
  const byId = new Map((await getSpaces(page.spaceIds)).map((space) => [space.id, space]));
  const spaces = page.spaceIds.map((id) => byId.get(id)).filter((space): space is Space => space !== undefined && isMember(space, identity.userId));
  return { spaces: spaces.map((space) => spaceView(space, now)), nextCursor: page.nextCursor };
}

export interface QuotaWindowView {
  used: number;
  limit: number | null;
  remaining: number | null;
  resets_at: string;
}

export interface SpaceQuotaView {
  space_id: string;
  /** The space whose quota applies (this one, an ancestor it draws from, or itself when unlimited). */
  quota_space_id: string;
  inherited: boolean;
  status: QuotaLevel;
  message: string;
  weekly: QuotaWindowView;
  monthly: QuotaWindowView & { override_credits: number };
}

/** GET /spaces/{id}/quota: both windows' use, limits and resets, the status and a message for people. */
export async function getSpaceQuota(identity: Caller, spaceId: string, now = new Date()): Promise<SpaceQuotaView> {
  await visibleSpace(identity, spaceId);
  const state = await loadQuotaState(spaceId, now);
  const usage = quotaUsage(state);
  const status = quotaStatus({ ...usage, weeklyResetsAt: state.weekly.end, monthlyResetsAt: state.monthly.end });
  return {
    space_id: spaceId,
    quota_space_id: state.quotaSpaceId,
    inherited: state.inherited,
    status: status.status,
    message: status.message,
    weekly: {
      used: usage.weeklyUsed,
      limit: state.weeklyLimit,
      remaining: status.weeklyRemaining,
      resets_at: state.weekly.end.toISOString(),
    },
    monthly: {
      used: usage.monthlyUsed,
      limit: state.monthlyLimit,
      remaining: status.monthlyRemaining,
      resets_at: state.monthly.end.toISOString(),
      override_credits: state.overrideCredits,
    },
  };
}

export interface OverrideView {
  id: string;
  /** The space whose quota the override raises (the one asked about, or the ancestor it draws from). */
  space_id: string;
  requested_space_id: string;
  credits: number;
  reason: string;
  expires_at: string;
  created_at: string;
  actor: string;
  request_id: string | null;
}

/** The override request `requestId` as granted by this override: it must be this space's and pending. */
async function grantedRequest(admin: Caller, spaceId: string, requestId: string, overrideId: string, now: Date): Promise<OverrideRequest> {
  const request = await getOverrideRequest(requestId);
  if (!request) throw new OverrideRequestNotFoundError(requestId);
  if (request.space_id !== spaceId) throw new ValidationError(`request_id: override request ${requestId} is for space ${request.space_id}, not ${spaceId}`);
  return decideRequest(request, { status: 'granted', by: admin.userId, reason: null, at: now, overrideId });
}

/**
 * Admin: grants `credits` on top of the monthly hard limit until `expires_at`, on the space whose
 * quota applies to `spaceId`. The grant and its ledger row (actor = the admin) are one transaction;
 * work that waited for the quota is re-checked at once. With `request_id`, the override answers
 * that request of this space, which must still be pending: it is marked granted in the same
 * transaction (409 OVERRIDE_REQUEST_DECIDED when someone decided it first).
 */
export async function grantOverride(admin: Caller, spaceId: string, body: OverrideCreate, now = new Date()): Promise<OverrideView> {
  const expiresAt = new Date(body.expires_at);
  if (expiresAt.getTime() <= now.getTime()) throw new ValidationError('expires_at: must be in the future');
  if (isPersonalSpace(spaceId)) throw new ValidationError(`Space ${spaceId} has no credit limit to override`);
  await visibleSpace(admin, spaceId);
  const id = randomUUID();
  const created = await withOptimisticRetry(async () => {
    const granted = body.request_id ? await grantedRequest(admin, spaceId, body.request_id, `override:${id}`, now) : null;
    const state = await loadQuotaState(spaceId, now);
    const target = state.quotaSpace;
    if (!target || state.monthlyLimit === null) {
      throw new ValidationError(`Space ${state.quotaSpaceId} has no monthly credit limit to override`);
    }
    const override: SpaceOverride = { id, credits: body.credits, expires_at: expiresAt.toISOString(), created_at: now.toISOString() };
    const next: Space = { ...target, overrides: [...activeOverrides(target, now), override], version: target.version + 1, updated_at: now.toISOString() };
    const units = creditsToUnits(body.credits);
    const entry: LedgerEntry = {
      id: `override:${id}`,
      task_id: null,
      space_id: target.id,
      task_space_id: null,
      executor_id: null,
      credits: unitsToCredits(units),
      units,
      reason: 'override',
      actor: admin.userId,
      created_at: now.toISOString(),
      weekly_window: null,
      monthly_window: null,
      note: body.reason,
      expires_at: override.expires_at,
      request_id: granted?.request_id ?? null,
    };
    const answer = granted ? [decideOverrideRequestItem({ ...granted, decision_reason: body.reason })] : [];
    await transact([putSpaceItem(next), putLedgerItem(entry), ...answer]);
    return { target, override };
  });
  logger.info('quota override granted', {
    admin_id: admin.userId,
    space_id: created.target.id,
    requested_space_id: spaceId,
    credits: body.credits,
    expires_at: created.override.expires_at,
    reason: body.reason,
    request_id: body.request_id ?? null,
  });
  await releaseWaitingUsers(created.target.id, now);
  return {
    id: `override:${id}`,
    space_id: created.target.id,
    requested_space_id: spaceId,
    credits: created.override.credits,
    reason: body.reason,
    expires_at: created.override.expires_at,
    created_at: created.override.created_at,
    actor: admin.userId,
    request_id: body.request_id ?? null,
  };
}

export interface LedgerView {
  entries: Array<Pick<LedgerEntry, 'id' | 'task_id' | 'space_id' | 'task_space_id' | 'executor_id' | 'credits' | 'reason' | 'actor' | 'created_at' | 'note' | 'expires_at'> & { request_id: string | null }>;
  next_cursor: string | null;
  /** The space whose counters these rows explain. */
  quota_space_id: string;
}

/**
 * GET /spaces/{id}/ledger, newest first. For a space with its own quota (or none above it): every
 * row that moved its counters, which they sum to. For a sub-space drawing from an ancestor: the
 * rows of its own tasks (each names the ancestor charged), so members see their spend without
 * seeing the rest of the ancestor's ledger.
 */
export async function getSpaceLedger(
  identity: Caller,
  spaceId: string,
  query: { limit: number; cursor?: string },
  now = new Date(),
): Promise<LedgerView> {
  await visibleSpace(identity, spaceId);
  const state = await loadQuotaState(spaceId, now);
  const view = state.quotaSpaceId === spaceId ? 'charged' : 'own-tasks';
  const page = await listLedger(spaceId, { view, ...query });
  return {
    entries: page.entries.map((entry) => ({
      id: entry.id,
      task_id: entry.task_id,
      space_id: entry.space_id,
      task_space_id: entry.task_space_id,
      executor_id: entry.executor_id,
      credits: entry.credits,
      reason: entry.reason,
      actor: entry.actor,
      created_at: entry.created_at,
      note: entry.note,
      expires_at: entry.expires_at,
      request_id: entry.request_id ?? null,
    })),
    next_cursor: page.nextCursor,
    quota_space_id: state.quotaSpaceId,
  };
}

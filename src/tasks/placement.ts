/**
 * Where a task would run and what it would cost: the router's decision for the caller's devices
 * and the quota of the task's space. `POST /tasks/estimate` shows it; creating a task stores it.
 */
import { estimateCredits, type CreditEstimateInput } from '../credits/pricing.js';
import type { Task } from './task.js';
import { canCharge, personalSpaceId, quotaStatus, type QuotaLevel } from '../credits/quota-windows.js';
import { routeTask, type RoutingDecision } from '../routing/router.js';
import type { TaskCreate } from './schemas.js';
import { listExecutors } from '../executors/executor-store.js';
import { exceedsLimitError, loadQuotaState, OVER_QUOTA_BADGE, quotaUsage, type CreditEstimateExceedsLimitError } from '../credits/charges.js';
import { assertTaskSpace } from '../spaces/spaces.js';
import { repositoryForTask } from '../projects/projects.js';
import type { TaskRepository } from './task.js';

export interface TaskPlacement {
  space_id: string;
  decision: RoutingDecision;
  quotaSpaceId: string;
  quotaStatus: QuotaLevel;
  quotaMessage: string;
  /** The task would wait for its space's monthly credits (remote work that costs credits). */
  overQuota: boolean;
  /** Remote work whose estimate exceeds the whole monthly limit: creating it is refused (403). */
  exceedsLimit: CreditEstimateExceedsLimitError | null;
  /** The project's repository, when `project_id` names a project the user may use. */
  repository: TaskRepository | null;
}

/**
 * Routes a task for `userId` without writing anything: checks the space (404 if the user is not a
 * member), reads the user's devices and the space's quota, and asks the router. `local` with no
 * capable online device throws `NoLocalExecutorError` (409); an unknown action is a 400.
 */
export async function placeTask(userId: string, input: TaskCreate, now = new Date(), readAccount?: (userId: string) => Promise<{ billing_day: number }>): Promise<TaskPlacement> {
  const spaceId = input.space_id ?? personalSpaceId(userId);
  await assertTaskSpace(userId, spaceId);
  // A space with no limit reads no usage counters: its quota says "No credit limit" whatever they hold.
  const [executors, quota, repository] = await Promise.all([listExecutors(userId), loadQuotaState(spaceId, now, readAccount, { usageOnlyUnderLimits: true }), repositoryForTask(userId, input)]);
  const usage = quotaUsage(quota);
  const resets = { weeklyResetsAt: quota.weekly.end, monthlyResetsAt: quota.monthly.end };
  const task = {
    type: input.type,
    integration: input.integration,
    action: input.action,
    title: input.title,
    description: input.description,
    input: input.input,
    model: input.model,
    estimated_tokens: input.estimated_tokens,
    estimated_minutes: input.estimated_minutes,
  };
  const credits: CreditEstimateInput = {
    type: input.type,
    integration: input.integration,
    action: input.action,
    estimatedTokens: input.estimated_tokens,
    estimatedMinutes: input.estimated_minutes,
  };
  // The router weighs whether a cloud run would be blocked; the status shown is for its choice.
  const beforeRouting = quotaStatus({ ...usage, ...resets, charge: estimateCredits(credits, 'remote') });
  const decision = routeTask({ task, preference: input.execution_preference, executors, quota: { status: beforeRouting.status }, now });
  const status = quotaStatus({ ...usage, ...resets, charge: decision.estimated_credits });
  return {
    space_id: spaceId,
    decision,
    quotaSpaceId: quota.quotaSpaceId,
    quotaStatus: status.status,
    quotaMessage: status.message,
    overQuota: decision.execution_location === 'remote' && !canCharge(usage, decision.estimated_credits),
    exceedsLimit: decision.execution_location === 'remote' ? exceedsLimitError(quota, decision.estimated_credits) : null,
    repository,
  };
}

/** A placement that may be queued: remote work whose estimate can never fit its space is refused. */
export function assertQueueable(placement: TaskPlacement): TaskPlacement {
  if (placement.exceedsLimit) throw placement.exceedsLimit;
  return placement;
}

/** The routing fields a new task stores (pass to `newTask` as its `extra`). */
export function placementFields(placement: TaskPlacement): Partial<Task> {
  const { decision } = placement;
  return {
    space_id: placement.space_id,
    execution_location: decision.execution_location,
    executor_id: decision.executor_id,
    estimated_credits: decision.estimated_credits,
    model: decision.model,
    model_params: decision.model_params,
    blocked_reason: placement.overQuota ? OVER_QUOTA_BADGE : null,
    repository: placement.repository,
  };
}

export interface TaskEstimate {
  execution_location: RoutingDecision['execution_location'];
  estimated_credits: number;
  estimated_duration_ms: number;
  executor_id: string | null;
  rationale: string;
  quota_status: QuotaLevel;
  quota_message: string;
  model: string | null;
  model_params: Record<string, unknown> | null;
  space_id: string;
  quota_space_id: string;
}

/** POST /tasks/estimate: where the task would run, its credits and time, the quota message, the model and the spaces involved. Writes nothing. */
export async function estimateTask(userId: string, input: TaskCreate, now = new Date()): Promise<TaskEstimate> {
  const placement = await placeTask(userId, input, now);
  const { decision } = placement;
  return {
    execution_location: decision.execution_location,
    estimated_credits: decision.estimated_credits,
    estimated_duration_ms: decision.estimated_duration_ms,
    executor_id: decision.executor_id,
    rationale: decision.rationale,
    quota_status: placement.quotaStatus,
    quota_message: placement.quotaMessage,
    model: decision.model,
    model_params: decision.model_params,
    space_id: placement.space_id,
    quota_space_id: placement.quotaSpaceId,
  };
}

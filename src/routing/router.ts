/**
 * Decides where a task runs: on one of the user's online device executors ("local", free) or in
 * the cloud ("remote", paid in credits), weighing capability, the execution preference and the
 * space's quota, and says why in plain English.
 */
import type { ExecutionLocation, ExecutionPreference } from '../tasks/task.js';
import { DomainError } from '../platform/errors.js';
import { estimateCredits, estimateDurationMs, findActionPricing, type CreditEstimateInput } from '../credits/pricing.js';
import { pricing, type PricingConfig } from '../credits/pricing-config.js';
import type { QuotaLevel } from '../credits/quota-windows.js';
import { paramsForModel, selectModel } from './intent.js';

/** A device executor counts as online while its last heartbeat is at most this old. */
export const EXECUTOR_ONLINE_WINDOW_MS = 60_000;
/** The capability a device needs to run agent tasks. */
export const AGENT_CAPABILITY = 'agent';

export interface ExecutorSnapshot {
  executor_id: string;
  /** `integration.action` (e.g. `gmail.send`), `integration.*`, or `agent`. */
  capabilities: readonly string[];
  models: readonly string[];
  max_concurrent: number;
  /** Tasks the device is running or has leased now. */
  active_count: number;
  last_heartbeat_at: string | Date | number | null;
}

/** The task fields routing reads (a stored `Task` fits). */
export interface RoutableTask {
  type: 'agent' | 'action';
  integration?: string | null;
  action?: string | null;
  title?: string | null;
  description?: string | null;
  input?: Readonly<Record<string, unknown>> | null;
  model?: string | null;
  model_params?: Readonly<Record<string, unknown>> | null;
  estimated_tokens?: number | null;
  estimated_minutes?: number | null;
}

export interface RouteTaskInput {
  task: RoutableTask;
  preference?: ExecutionPreference;
  executors: readonly ExecutorSnapshot[];
  /** The quota status of the space the task draws from; absent = not limited. */
  quota?: { status: QuotaLevel } | null;
  now: Date;
  config?: PricingConfig;
}

export interface RoutingDecision {
  execution_location: ExecutionLocation;
  /** The device chosen for local work; null in the cloud. */
  executor_id: string | null;
  estimated_credits: number;
  estimated_duration_ms: number;
  rationale: string;
  model: string | null;
  model_params: Record<string, unknown> | null;
  /** The intent that chose the model, or null when the task named it or needs none. */
  intent: string | null;
}

/** `local` was requested but no online device can run the task. */
export class NoLocalExecutorError extends DomainError {
  readonly capability: string;

  constructor(capability: string) {
    super(
      'NO_LOCAL_EXECUTOR',
      `No online device executor can run "${capability}": start a device that supports it or choose another execution preference`,
      { details: { capability } },
    );
    this.name = 'NoLocalExecutorError';
    this.capability = capability;
  }
}

const heartbeatMs = (value: ExecutorSnapshot['last_heartbeat_at']): number =>
  value === null ? Number.NaN : new Date(value).getTime();

/** Online = a heartbeat within the last 60 s (a heartbeat slightly in the future counts, for clock skew). */
export function isExecutorOnline(executor: Pick<ExecutorSnapshot, 'last_heartbeat_at'>, now: Date): boolean {
  const age = now.getTime() - heartbeatMs(executor.last_heartbeat_at);
  return Number.isFinite(age) && age <= EXECUTOR_ONLINE_WINDOW_MS;
}

/** The capability a device must declare to run the task. */
export function requiredCapability(task: Pick<RoutableTask, 'type' | 'integration' | 'action'>): string {
  return task.type === 'agent' ? AGENT_CAPABILITY : `${task.integration ?? ''}.${task.action ?? ''}`;
}

const supports = (executor: ExecutorSnapshot, task: RoutableTask): boolean => {
  const needed = requiredCapability(task);
  if (executor.capabilities.includes(needed)) return true;
  return task.type === 'action' && executor.capabilities.includes(`${task.integration ?? ''}.*`);
};

interface Device {
  executor: ExecutorSnapshot;
  spare: number;
  hasModel: boolean;
  heartbeat: number;
}

/** Online capable devices, best first: spare capacity, then the chosen model, then most room, then freshest. */
function rankDevices(executors: readonly ExecutorSnapshot[], task: RoutableTask, model: string | null, now: Date): Device[] {
  return executors
    .filter((executor) => isExecutorOnline(executor, now) && supports(executor, task))
    .map((executor) => ({
      executor,
      spare: executor.max_concurrent - executor.active_count,
      hasModel: model !== null && executor.models.includes(model),
      heartbeat: heartbeatMs(executor.last_heartbeat_at),
    }))
    .sort(
      (a, b) =>
        Number(b.spare > 0) - Number(a.spare > 0) ||
        Number(b.hasModel) - Number(a.hasModel) ||
        b.spare - a.spare ||
        b.heartbeat - a.heartbeat ||
        a.executor.executor_id.localeCompare(b.executor.executor_id),
    );
}

interface ModelChoice {
  model: string | null;
  model_params: Record<string, unknown> | null;
  intent: string | null;
}

/** Text the intent rules read: what the task says, plus the top-level strings of its input (the prompt). */
const intentText = (task: RoutableTask): string =>
  [task.title, task.description, ...Object.values(task.input ?? {})].filter((part) => typeof part === 'string').join('\n');

function chooseModel(task: RoutableTask, config: PricingConfig): ModelChoice {
  if (task.model) {
    const params = task.model_params ?? paramsForModel(task.model, config.intent) ?? {};
    return { model: task.model, model_params: { ...params }, intent: null };
  }
  const usesModel = task.type === 'action' && findActionPricing(config, task.integration, task.action).uses_model;
  if (!usesModel) return { model: null, model_params: null, intent: null };
  const selection = selectModel(intentText(task), config.intent);
  return { model: selection.model, model_params: { ...selection.model_params, ...task.model_params }, intent: selection.intent };
}

const creditInput = (task: RoutableTask): CreditEstimateInput => ({
  type: task.type,
  integration: task.integration,
  action: task.action,
  estimatedTokens: task.estimated_tokens,
  estimatedMinutes: task.estimated_minutes,
});

const onDevice = (device: Device): string =>
  device.spare > 0
    ? `runs on device ${device.executor.executor_id}`
    : `runs on device ${device.executor.executor_id} once a slot frees up (busy ${device.executor.active_count}/${device.executor.max_concurrent})`;

/**
 * Routes a task. Preferences: `local` forces a device (throws `NoLocalExecutorError` if none is
 * online and capable), `remote` forces the cloud, `auto` uses a device with a free slot and
 * otherwise the cloud, `cost_optimized` picks the cheaper place, `performance_optimized` the
 * faster one. Agent tasks run in the cloud unless `local` is asked for. When the quota is BLOCKED
 * and a device can do the work, non-forced preferences go local so the task is not held up.
 */
export function routeTask(input: RouteTaskInput): RoutingDecision {
  const { task, executors, now } = input;
  const preference = input.preference ?? 'auto';
  const config = input.config ?? pricing();
  const capability = requiredCapability(task);
  const credits = creditInput(task);
  const modelChoice = chooseModel(task, config);
  const devices = rankDevices(executors, task, modelChoice.model, now);
  const best = devices[0];
  const free = best && best.spare > 0 ? best : undefined;
  const quotaBlocked = input.quota?.status === 'BLOCKED';

  const local = (device: Device, reason: string): RoutingDecision => {
    const modelNote =
      modelChoice.model && task.type === 'action' && !device.hasModel
        ? ` (model ${modelChoice.model} is not installed on it)`
        : '';
    return {
      execution_location: 'local',
      executor_id: device.executor.executor_id,
      estimated_credits: estimateCredits(credits, 'local', config),
      estimated_duration_ms: estimateDurationMs(credits, 'local', config),
      rationale: `${reason}${modelNote}`,
      ...modelChoice,
    };
  };
  const remote = (reason: string): RoutingDecision => {
    const estimatedCredits = estimateCredits(credits, 'remote', config);
    // Free cloud work is never held back by the limit; paid work waits.
    const blockedNote =
      quotaBlocked && estimatedCredits > 0 ? '; monthly credit limit reached, so it waits for the reset or an override' : '';
    return {
      execution_location: 'remote',
      executor_id: null,
      estimated_credits: estimatedCredits,
      estimated_duration_ms: estimateDurationMs(credits, 'remote', config),
      rationale: `${reason}${blockedNote}`,
      ...modelChoice,
    };
  };

  if (preference === 'local') {
    if (!best) throw new NoLocalExecutorError(capability);
    return local(best, `local preference: ${onDevice(best)}`);
  }
  if (preference === 'remote') return remote('remote preference: runs in the cloud');
  if (task.type === 'agent') {
    return remote(`agent task + ${preference} preference: agent tasks run in the cloud unless local is requested`);
  }

  // A blocked quota holds cloud work back; a device that can do it runs it now, for free.
  const preferLocalWhenBlocked = (reason: string): RoutingDecision =>
    quotaBlocked && best
      ? local(best, `monthly credit limit reached + local handler available: ${onDevice(best)} for free`)
      : remote(reason);

  const unavailable = best
    ? `every online device that supports ${capability} is at capacity`
    : `no online device supports ${capability}`;

  switch (preference) {
    case 'auto': {
      if (free) return local(free, `local handler available + auto preference: ${onDevice(free)}`);
      return preferLocalWhenBlocked(`${unavailable} + auto preference: runs in the cloud`);
    }
    case 'cost_optimized': {
      if (!best) return remote(`${unavailable} + cost_optimized preference: runs in the cloud`);
      const localCost = estimateCredits(credits, 'local', config);
      const remoteCost = estimateCredits(credits, 'remote', config);
      if (localCost < remoteCost) return local(best, `local handler available + cost_optimized preference: ${onDevice(best)}`);
      if (localCost === remoteCost && free) {
        return local(free, `local handler available + cost_optimized preference: same cost either way, ${onDevice(free)}`);
      }
      return preferLocalWhenBlocked(
        localCost === remoteCost
          ? `same cost either way and ${unavailable} + cost_optimized preference: runs in the cloud`
          : 'the cloud is cheaper + cost_optimized preference: runs in the cloud',
      );
    }
    case 'performance_optimized': {
      const remoteMs = estimateDurationMs(credits, 'remote', config);
      if (!free) return preferLocalWhenBlocked(`${unavailable} + performance_optimized preference: runs in the cloud`);
      const localMs = estimateDurationMs(credits, 'local', config);
      if (localMs <= remoteMs) {
        return local(
          free,
          `local handler available + performance_optimized preference: local is faster (${localMs} ms vs ${remoteMs} ms), ${onDevice(free)}`,
        );
      }
      return preferLocalWhenBlocked(
        `the cloud is faster (${remoteMs} ms vs ${localMs} ms locally) + performance_optimized preference: runs in the cloud`,
      );
    }
  }
}

/**
 * Credit arithmetic: base cost x location multiplier x token (or minute) factor.
 * Amounts are computed exactly in integer credit units (1/10 000 credit) and exposed as numbers
 * rounded to 4 decimals, so that estimates, charges and refunds add up without float drift.
 */
import { DomainError } from '../platform/errors.js';
import { pricing, type ActionPricing, type PricingConfig } from './pricing-config.js';

export const CREDIT_DECIMALS = 4;
/** Integer units per credit: every stored or compared amount is a whole number of these. */
export const CREDIT_UNITS_PER_CREDIT = 10_000;

/** Where a cost is incurred; `remote_peak` is reserved for peak-hour pricing. */
export type PricingLocation = 'local' | 'remote' | 'remote_peak';

export interface CreditEstimateInput {
  type: 'agent' | 'action';
  integration?: string | null;
  action?: string | null;
  /** LLM actions: tokens expected; the action's `default_tokens` when absent. */
  estimatedTokens?: number | null;
  /** Agent tasks: minutes of run expected; the config's default when absent. */
  estimatedMinutes?: number | null;
}

export interface ActualCreditsInput {
  task: CreditEstimateInput;
  location: PricingLocation;
  /** Credits charged up front for the task. */
  charged: number;
  /** Tokens actually used, as reported on completion. */
  tokensUsed?: number | null;
  /** Minutes an agent actually ran. */
  minutesUsed?: number | null;
}

export interface ActualCredits {
  actualCredits: number;
  /** `charged - actualCredits`: never negative, never more than was charged. */
  refundCredits: number;
}

/** The task names an integration/action the pricing table does not know. */
export class UnknownActionError extends DomainError {
  readonly integration: string | null;
  readonly action: string | null;

  constructor(integration: string | null, action: string | null, known: readonly string[]) {
    const what =
      integration && action
        ? `Unknown action "${integration}.${action}"`
        : 'An action task needs both "integration" and "action"';
    const hint = known.length > 0 ? `; known actions: ${known.join(', ')}` : '';
    super('VALIDATION_ERROR', `${what}${hint}`, { details: { integration, action } });
    this.name = 'UnknownActionError';
    this.integration = integration;
    this.action = action;
  }
}

const toUnitsExact = (credits: number): bigint => BigInt(Math.round(credits * CREDIT_UNITS_PER_CREDIT));

/** Credits -> integer credit units (rounded half away from zero at the 4th decimal). */
export const creditsToUnits = (credits: number): number => Math.round(credits * CREDIT_UNITS_PER_CREDIT);

/** Integer credit units -> credits. */
export const unitsToCredits = (units: number | bigint): number => Number(units) / CREDIT_UNITS_PER_CREDIT;

/** Rounds an amount to 4 decimals the same way every credit computation does. */
export const roundCredits = (credits: number): number => unitsToCredits(creditsToUnits(credits));

const knownActions = (config: PricingConfig): string[] =>
  Object.entries(config.actions).flatMap(([integration, actions]) =>
    Object.keys(actions).map((action) => `${integration}.${action}`),
  );

/** The pricing entry of `integration.action` (or the integration's `*` entry); throws `UnknownActionError`. */
export function findActionPricing(
  config: PricingConfig,
  integration: string | null | undefined,
  action: string | null | undefined,
): ActionPricing {
  // hasOwn: names like "constructor" must not resolve to Object.prototype members.
  const actions = integration && Object.hasOwn(config.actions, integration) ? config.actions[integration] : undefined;
  let entry: ActionPricing | undefined;
  if (actions && action) entry = Object.hasOwn(actions, action) ? actions[action] : actions['*'];
  if (!entry) throw new UnknownActionError(integration ?? null, action ?? null, knownActions(config));
  return entry;
}

/** A non-negative quantity expressed as the fraction numerator / denominator of the base unit. */
interface Quantity {
  numerator: bigint;
  denominator: bigint;
}

const checkedCount = (value: number, label: string): number => {
  if (!Number.isFinite(value) || value < 0) throw new RangeError(`${label} must be a non-negative number (got ${value})`);
  return value;
};

const tokensQuantity = (tokens: number): Quantity => ({
  numerator: BigInt(Math.ceil(checkedCount(tokens, 'tokens'))),
  denominator: 1000n,
});

// Minutes are counted in thousandths so that fractional estimates stay exact.
const minutesQuantity = (minutes: number): Quantity => ({
  numerator: BigInt(Math.round(checkedCount(minutes, 'minutes') * 1000)),
  denominator: 1000n,
});

const ONE: Quantity = { numerator: 1n, denominator: 1n };

/** base (credits) x multiplier x quantity, in integer credit units, rounded half up. */
function costUnits(base: number, multiplier: number, quantity: Quantity): bigint {
  const baseMicro = BigInt(Math.round(base * 1_000_000));
  const multiplierMilli = BigInt(Math.round(multiplier * 1000));
  const numerator = baseMicro * multiplierMilli * quantity.numerator;
  // micro-credits x milli -> 1e9 per credit; credit units are 1e4 per credit.
  const denominator = 100_000n * quantity.denominator;
  return (numerator * 2n + denominator) / (2n * denominator);
}

interface PricedWork {
  base: number;
  quantity: Quantity;
}

function pricedWork(
  task: CreditEstimateInput,
  config: PricingConfig,
  usage: { tokens?: number | null; minutes?: number | null },
): PricedWork {
  if (task.type === 'agent') {
    return {
      base: config.agent.credits_per_minute,
      quantity: minutesQuantity(usage.minutes ?? task.estimatedMinutes ?? config.agent.default_estimated_minutes),
    };
  }
  const pricing = findActionPricing(config, task.integration, task.action);
  if (pricing.unit === 'per_action') return { base: pricing.base, quantity: ONE };
  return { base: pricing.base, quantity: tokensQuantity(usage.tokens ?? task.estimatedTokens ?? pricing.default_tokens) };
}

/**
 * Credits a task is expected to cost at `location`: base x location multiplier x token factor
 * (tokens / 1000 for per-1000-token actions; estimated minutes for agent tasks). Local work
 * costs nothing with the default multipliers. Throws `UnknownActionError` for an unknown action.
 */
export function estimateCredits(
  task: CreditEstimateInput,
  location: PricingLocation,
  config: PricingConfig = pricing(),
): number {
  const work = pricedWork(task, config, {});
  return unitsToCredits(costUnits(work.base, config.location_multipliers[location], work.quantity));
}

/**
 * What a task really cost from its reported usage, and the refund owed on what was charged up
 * front. Without reported usage the charge stands. The actual cost is capped at the charge
 * (overage is never billed after the fact), so the refund lies in [0, charged].
 */
export function actualCredits(input: ActualCreditsInput, config: PricingConfig = pricing()): ActualCredits {
  const charged = toUnitsExact(Math.max(0, input.charged));
  const usage = { tokens: input.tokensUsed, minutes: input.minutesUsed };
  const work = pricedWork(input.task, config, usage);
  // A per-action price needs no usage report; metered work without one keeps its charge.
  const perAction = work.quantity === ONE;
  const reported = input.task.type === 'agent' ? usage.minutes != null : usage.tokens != null;
  let actual = charged;
  if (reported || perAction) {
    const computed = costUnits(work.base, config.location_multipliers[input.location], work.quantity);
    actual = computed < charged ? computed : charged;
  }
  return { actualCredits: unitsToCredits(actual), refundCredits: unitsToCredits(charged - actual) };
}

/** Estimated wall-clock duration of a task at `local` or `remote` (performance_optimized compares these). */
export function estimateDurationMs(
  task: CreditEstimateInput,
  location: 'local' | 'remote',
  config: PricingConfig = pricing(),
): number {
  if (task.type === 'agent') {
    const minutes = checkedCount(task.estimatedMinutes ?? config.agent.default_estimated_minutes, 'minutes');
    return Math.round(minutes * 60_000);
  }
  const pricing = findActionPricing(config, task.integration, task.action);
  if (pricing.unit === 'per_action') return pricing.duration_ms[location];
  const tokens = checkedCount(task.estimatedTokens ?? pricing.default_tokens, 'tokens');
  return pricing.duration_ms[location] + Math.round((pricing.duration_ms_per_1000_tokens[location] * tokens) / 1000);
}

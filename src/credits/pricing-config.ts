/**
 * The credit cost table, location multipliers, estimated durations and intent -> model rules,
 * read from `config/pricing.json` once at cold start and validated here. The zod schema is the
 * source of the types; nothing else parses the file.
 */
import * as z from 'zod';
import rawPricing from '../../config/pricing.json' with { type: 'json' };
import { ConfigurationError } from '../platform/errors.js';

export const PRICING_CONFIG_SOURCE = 'config/pricing.json';

/** Credits are computed in integer micro-credits, so a configured value may not be finer than that. */
const credits = z
  .number()
  .finite()
  .nonnegative()
  .refine((value) => Math.abs(value * 1e6 - Math.round(value * 1e6)) < 1e-6, {
    error: 'must have at most 6 decimal places',
  });

/** Multipliers are applied in thousandths. */
const multiplier = z
  .number()
  .finite()
  .nonnegative()
  .refine((value) => Math.abs(value * 1e3 - Math.round(value * 1e3)) < 1e-9, {
    error: 'must have at most 3 decimal places',
  });

const durationMs = z.number().int().nonnegative();
const locationDurations = z.object({ local: durationMs, remote: durationMs }).strict();

const name = z.string().regex(/^[a-z][a-z0-9_]*$/, 'must be lower_snake_case');
/** `*` prices every action of an integration that is not listed by name. */
const actionName = z.union([name, z.literal('*')]);

const perActionPricing = z
  .object({
    unit: z.literal('per_action'),
    base: credits,
    duration_ms: locationDurations,
    /** The action is LLM work: it gets a model by intent when the task names none. */
    uses_model: z.boolean().default(false),
  })
  .strict();

const perThousandTokensPricing = z
  .object({
    unit: z.literal('per_1000_tokens'),
    base: credits,
    /** Token count assumed when a task gives no `estimated_tokens`. */
    default_tokens: z.number().int().positive(),
    uses_model: z.boolean().default(false),
    duration_ms: locationDurations,
    duration_ms_per_1000_tokens: locationDurations.default({ local: 0, remote: 0 }),
  })
  .strict();

const actionPricing = z.discriminatedUnion('unit', [perActionPricing, perThousandTokensPricing]);

const modelParams = z.record(z.string(), z.union([z.number(), z.string(), z.boolean()]));

const intentRule = z
  .object({
    intent: z.string().min(1),
    keywords: z.array(z.string().trim().min(1)).min(1),
    model: z.string().min(1),
    model_params: modelParams.default({}),
  })
  .strict();

const defaultModel = z
  .object({
    intent: z.string().min(1),
    model: z.string().min(1),
    model_params: modelParams.default({}),
  })
  .strict();

export const PricingConfigSchema = z
  .object({
    location_multipliers: z
      .object({
        local: multiplier,
        remote: multiplier,
        /** Reserved for peak-hour pricing; the router does not use it yet. */
        remote_peak: multiplier,
      })
      .strict(),
    agent: z
      .object({
        /** Credits per estimated minute of a remote agent run. */
        credits_per_minute: credits,
        default_estimated_minutes: z.number().positive().finite(),
      })
      .strict(),
    actions: z.record(name, z.record(actionName, actionPricing)),
    intent: z
      .object({
        /** Tried in order; the first rule with a matching keyword wins. */
        rules: z.array(intentRule),
        default: defaultModel,
      })
      .strict(),
  })
  .strict();

export type PricingConfig = z.infer<typeof PricingConfigSchema>;
export type ActionPricing = z.infer<typeof actionPricing>;
export type LocationMultipliers = PricingConfig['location_multipliers'];

export interface PricingConfigIssue {
  path: string;
  message: string;
}

/** The pricing file is unusable; `issues` name each bad field by its path in the file. */
export class PricingConfigError extends ConfigurationError {
  readonly issues: readonly PricingConfigIssue[];

  constructor(source: string, issues: readonly PricingConfigIssue[]) {
    super(`Invalid pricing configuration (${source}): ${issues.map((i) => `${i.path}: ${i.message}`).join('; ')}`);
    this.name = 'PricingConfigError';
    this.issues = issues;
  }
}

const formatPath = (path: readonly PropertyKey[]): string =>
  path.length === 0
    ? '(root)'
    : path.reduce<string>(
        (acc, part) => (typeof part === 'number' ? `${acc}[${part}]` : acc === '' ? String(part) : `${acc}.${String(part)}`),
        '',
      );

const deepFreeze = <T>(value: T): T => {
  if (value !== null && typeof value === 'object' && !Object.isFrozen(value)) {
    Object.freeze(value);
    for (const child of Object.values(value)) deepFreeze(child);
  }
  return value;
};

/**
 * Validates a pricing configuration (by default the bundled `config/pricing.json`) and returns it
 * frozen. Throws `PricingConfigError` naming the path of every bad field.
 */
export function loadPricingConfig(raw: unknown = rawPricing, source = PRICING_CONFIG_SOURCE): PricingConfig {
  const result = PricingConfigSchema.safeParse(raw);
  if (!result.success) {
    throw new PricingConfigError(
      source,
      result.error.issues.map((issue) => ({ path: formatPath(issue.path), message: issue.message })),
    );
  }
  return deepFreeze(result.data);
}

let bundled: PricingConfig | undefined;

/**
 * The configuration every caller uses unless a test passes its own: validated on first use, not
 * at import, so a cold start of a function that never prices a task does not pay for it (the
 * validation took about 14 ms of the API function's module initialisation). The bundled file is
 * checked by test/unit/credits/pricing.test.ts, so a bad one fails CI, not a request.
 */
export const pricing = (): PricingConfig => (bundled ??= loadPricingConfig());

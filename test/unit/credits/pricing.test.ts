import { describe, expect, it } from 'vitest';
import rawPricing from '../../../config/pricing.json' with { type: 'json' };
import {
  actualCredits,
  estimateCredits,
  estimateDurationMs,
  roundCredits,
  UnknownActionError,
  type CreditEstimateInput,
  type PricingLocation,
} from '../../../src/credits/pricing.js';
import { loadPricingConfig, pricing, PricingConfigError } from '../../../src/credits/pricing-config.js';

const action = (integration: string, name: string, estimatedTokens?: number): CreditEstimateInput => ({
  type: 'action',
  integration,
  action: name,
  estimatedTokens,
});
const agent = (estimatedMinutes?: number): CreditEstimateInput => ({ type: 'agent', estimatedMinutes });

describe('estimateCredits', () => {
  it.each<[string, CreditEstimateInput, PricingLocation, number]>([
    ['gmail send in the cloud', action('gmail', 'send'), 'remote', 1.0],
    ['gmail send on a device', action('gmail', 'send'), 'local', 0],
    ['gmail read in the cloud', action('gmail', 'read'), 'remote', 0.5],
    ['gmail draft in the cloud', action('gmail', 'draft'), 'remote', 0.3],
    ['llm chat, 5000 tokens, in the cloud', action('llm', 'chat', 5000), 'remote', 0.05],
    ['llm chat, 5000 tokens, on a device', action('llm', 'chat', 5000), 'local', 0],
    ['llm chat without a token estimate (1000 by default)', action('llm', 'chat'), 'remote', 0.01],
    ['llm complete, 2500 tokens', action('llm', 'complete', 2500), 'remote', 0.025],
    ['llm embed, 1000 tokens', action('llm', 'embed', 1000), 'remote', 0.005],
    ['llm embed, 10 tokens (0.00005 rounds half up)', action('llm', 'embed', 10), 'remote', 0.0001],
    ['llm chat, 3333 tokens (rounded to 4 decimals)', action('llm', 'chat', 3333), 'remote', 0.0333],
    ['local_embedding in the cloud is still free', action('local_embedding', 'embed', 100_000), 'remote', 0],
    ['google_calendar list_events', action('google_calendar', 'list_events'), 'remote', 0.1],
    ['google_calendar create_event', action('google_calendar', 'create_event'), 'remote', 0.2],
    ['slack send_message', action('slack', 'send_message'), 'remote', 0.5],
    ['slack read_messages', action('slack', 'read_messages'), 'remote', 0.3],
    ['gmail send at the reserved peak multiplier', action('gmail', 'send'), 'remote_peak', 1.2],
    ['agent task, default 15 minutes, in the cloud', agent(), 'remote', 1.5],
    ['agent task, 30 minutes, in the cloud', agent(30), 'remote', 3],
    ['agent task, half a minute', agent(0.5), 'remote', 0.05],
    ['agent task on a device', agent(30), 'local', 0],
  ])('%s costs its configured credits', (_name, task, location, expected) => {
    // Prepare: the bundled pricing table

    // Act
    const credits = estimateCredits(task, location, pricing());

    // Assess
    expect(credits).toBe(expected);
  });

  it.each<[string, string | null, string | null]>([
    ['an unknown action', 'gmail', 'frobnicate'],
    ['an unknown integration', 'fax', 'send'],
    ['a missing integration and action', null, null],
    ['an Object.prototype name as action', 'gmail', 'constructor'],
    ['an Object.prototype name as integration', '__proto__', 'send'],
  ])('rejects %s with a validation error', (_name, integration, name) => {
    // Prepare
    const task: CreditEstimateInput = { type: 'action', integration, action: name };

    // Act
    const act = () => estimateCredits(task, 'remote', pricing());

    // Assess
    expect(act).toThrow(UnknownActionError);
    expect(act).toThrow(expect.objectContaining({ code: 'VALIDATION_ERROR', message: expect.stringContaining('gmail.send') }));
  });

  it('rejects a negative token estimate', () => {
    expect(() => estimateCredits(action('llm', 'chat', -1), 'remote', pricing())).toThrow(RangeError);
  });
});

describe('actualCredits', () => {
  it.each<[string, Parameters<typeof actualCredits>[0], number, number]>([
    [
      'fewer tokens than estimated refunds the difference',
      { task: action('llm', 'chat', 5000), location: 'remote', charged: 0.05, tokensUsed: 2000 },
      0.02,
      0.03,
    ],
    [
      'more tokens than estimated is not billed afterwards',
      { task: action('llm', 'chat', 5000), location: 'remote', charged: 0.05, tokensUsed: 8000 },
      0.05,
      0,
    ],
    [
      'no usage reported keeps the charge',
      { task: action('llm', 'chat', 5000), location: 'remote', charged: 0.05 },
      0.05,
      0,
    ],
    ['zero tokens used refunds everything', { task: action('llm', 'chat', 5000), location: 'remote', charged: 0.05, tokensUsed: 0 }, 0, 0.05],
    ['a per-action price has nothing to refund', { task: action('gmail', 'send'), location: 'remote', charged: 1 }, 1, 0],
    ['local work was free', { task: action('gmail', 'send'), location: 'local', charged: 0 }, 0, 0],
    ['a charge above the price is refunded down to it', { task: action('gmail', 'read'), location: 'remote', charged: 1 }, 0.5, 0.5],
    ['an agent that finished early', { task: agent(15), location: 'remote', charged: 1.5, minutesUsed: 6 }, 0.6, 0.9],
    ['an agent that overran', { task: agent(15), location: 'remote', charged: 1.5, minutesUsed: 40 }, 1.5, 0],
    ['a negative charge is treated as nothing charged', { task: action('llm', 'chat'), location: 'remote', charged: -1, tokensUsed: 10 }, 0, 0],
  ])('%s', (_name, input, expectedActual, expectedRefund) => {
    // Prepare: the bundled pricing table

    // Act
    const result = actualCredits(input, pricing());

    // Assess
    expect(result).toEqual({ actualCredits: expectedActual, refundCredits: expectedRefund });
    expect(result.refundCredits).toBeGreaterThanOrEqual(0);
    expect(result.refundCredits).toBeLessThanOrEqual(Math.max(0, input.charged));
  });
});

describe('roundCredits', () => {
  it.each([
    [0.1 + 0.2, 0.3],
    [1.00004, 1],
    [1.00005, 1.0001],
    [0, 0],
  ])('rounds %d to %d', (value, expected) => {
    expect(roundCredits(value)).toBe(expected);
  });
});

describe('estimateDurationMs', () => {
  it.each<[string, CreditEstimateInput, 'local' | 'remote', number]>([
    ['gmail send on a device', action('gmail', 'send'), 'local', 1500],
    ['gmail send in the cloud', action('gmail', 'send'), 'remote', 1200],
    ['llm chat, 5000 tokens, on a device', action('llm', 'chat', 5000), 'local', 500 + 5 * 4000],
    ['llm chat, 5000 tokens, in the cloud', action('llm', 'chat', 5000), 'remote', 800 + 5 * 1500],
    ['agent task, default 15 minutes', agent(), 'remote', 15 * 60_000],
  ])('%s', (_name, task, location, expected) => {
    expect(estimateDurationMs(task, location, pricing())).toBe(expected);
  });
});

describe('loadPricingConfig', () => {
  it('accepts the bundled config/pricing.json and freezes it', () => {
    // Act
    const config = loadPricingConfig();

    // Assess
    expect(config.actions.gmail?.send).toMatchObject({ unit: 'per_action', base: 1 });
    expect(config.intent.rules.map((rule) => rule.intent)).toEqual(['code', 'chat']);
    expect(Object.isFrozen(config.actions.gmail)).toBe(true);
  });

  type Mutation = (config: Record<string, any>) => void;
  it.each<[string, Mutation, string]>([
    ['a base that is a string', (c) => (c.actions.gmail.send.base = '1.0'), 'actions.gmail.send.base'],
    ['a negative base', (c) => (c.actions.slack.read_messages.base = -0.3), 'actions.slack.read_messages.base'],
    ['a base finer than a micro-credit', (c) => (c.actions.gmail.read.base = 0.0000001), 'actions.gmail.read.base'],
    ['an unknown pricing unit', (c) => (c.actions.gmail.send.unit = 'per_call'), 'actions.gmail.send.unit'],
    ['a missing remote multiplier', (c) => delete c.location_multipliers.remote, 'location_multipliers.remote'],
    ['a token action without default_tokens', (c) => delete c.actions.llm.chat.default_tokens, 'actions.llm.chat.default_tokens'],
    ['a misspelt field', (c) => (c.agent.credit_per_minute = 1), 'agent'],
    ['an intent rule with an empty keyword', (c) => (c.intent.rules[0].keywords[1] = ' '), 'intent.rules[0].keywords[1]'],
    ['a missing default model', (c) => delete c.intent.default, 'intent.default'],
    ['an integration name that is not snake_case', (c) => (c.actions['Gmail-2'] = {}), 'actions.Gmail-2'],
  ])('rejects %s, naming the bad field', (_name, mutate, path) => {
    // Prepare
    const raw = structuredClone(rawPricing) as Record<string, unknown>;
    mutate(raw);

    // Act
    const act = () => loadPricingConfig(raw, 'test/pricing.json');

    // Assess
    expect(act).toThrow(PricingConfigError);
    expect(act).toThrow(`Invalid pricing configuration (test/pricing.json): ${path}`);
  });

  it.each([[null], ['not json'], [[]]])('rejects a file that is not an object (%j)', (raw) => {
    expect(() => loadPricingConfig(raw)).toThrow(PricingConfigError);
  });
});

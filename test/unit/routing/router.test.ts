import { describe, expect, it } from 'vitest';
import type { ExecutionPreference } from '../../../src/tasks/task.js';
import { UnknownActionError } from '../../../src/credits/pricing.js';
import { pricing } from '../../../src/credits/pricing-config.js';
import type { QuotaLevel } from '../../../src/credits/quota-windows.js';
import {
  isExecutorOnline,
  NoLocalExecutorError,
  routeTask,
  type ExecutorSnapshot,
  type RoutableTask,
} from '../../../src/routing/router.js';

const NOW = new Date('2026-11-23T10:00:00.000Z');
const secondsAgo = (seconds: number): string => new Date(NOW.getTime() - seconds * 1000).toISOString();

const device = (overrides: Partial<ExecutorSnapshot> = {}): ExecutorSnapshot => ({
  executor_id: 'tauri:macbook-pro',
  capabilities: ['gmail.send', 'gmail.read', 'llm.chat', 'local_embedding.embed'],
  models: ['phi3:3.8b'],
  max_concurrent: 1,
  active_count: 0,
  last_heartbeat_at: secondsAgo(5),
  ...overrides,
});

const gmailSend: RoutableTask = { type: 'action', integration: 'gmail', action: 'send', title: 'Send the weekly update' };
const agentTask: RoutableTask = { type: 'agent', title: 'Refactor the billing module', estimated_minutes: 15 };

const route = (
  task: RoutableTask,
  preference: ExecutionPreference,
  executors: ExecutorSnapshot[],
  quota: QuotaLevel = 'OK',
) => routeTask({ task, preference, executors, quota: { status: quota }, now: NOW, config: pricing() });

describe('routeTask: gmail.send with one idle online device', () => {
  it.each<[ExecutionPreference, 'local' | 'remote', string | null, number, string]>([
    ['local', 'local', 'tauri:macbook-pro', 0, 'local preference: runs on device tauri:macbook-pro'],
    ['remote', 'remote', null, 1.0, 'remote preference: runs in the cloud'],
    ['auto', 'local', 'tauri:macbook-pro', 0, 'local handler available + auto preference'],
    ['cost_optimized', 'local', 'tauri:macbook-pro', 0, 'local handler available + cost_optimized preference'],
    // gmail.send is configured faster in the cloud (1200 ms) than on a device (1500 ms)
    ['performance_optimized', 'remote', null, 1.0, 'the cloud is faster (1200 ms vs 1500 ms locally)'],
  ])('%s -> %s', (preference, location, executorId, credits, rationale) => {
    // Prepare
    const executors = [device()];

    // Act
    const decision = route(gmailSend, preference, executors);

    // Assess
    expect(decision).toMatchObject({
      execution_location: location,
      executor_id: executorId,
      estimated_credits: credits,
      estimated_duration_ms: location === 'local' ? 1500 : 1200,
      model: null,
      model_params: null,
    });
    expect(decision.rationale).toContain(rationale);
  });
});

describe('routeTask: gmail.send with no usable device', () => {
  it.each<[string, ExecutorSnapshot[]]>([
    ['no executors at all', []],
    ['the device went silent 61 s ago', [device({ last_heartbeat_at: secondsAgo(61) })]],
    ['the device never sent a heartbeat', [device({ last_heartbeat_at: null })]],
    ['the device lacks the capability', [device({ capabilities: ['gmail.read'] })]],
  ])('%s: local preference is refused with NO_LOCAL_EXECUTOR', (_name, executors) => {
    // Act
    const act = () => route(gmailSend, 'local', executors);

    // Assess
    expect(act).toThrow(NoLocalExecutorError);
    expect(act).toThrow(expect.objectContaining({ code: 'NO_LOCAL_EXECUTOR', capability: 'gmail.send' }));
  });

  it.each<[ExecutionPreference]>([['auto'], ['cost_optimized'], ['performance_optimized'], ['remote']])(
    '%s preference runs in the cloud for 1 credit',
    (preference) => {
      // Prepare
      const executors = [device({ last_heartbeat_at: secondsAgo(61) })];

      // Act
      const decision = route(gmailSend, preference, executors);

      // Assess
      expect(decision).toMatchObject({ execution_location: 'remote', executor_id: null, estimated_credits: 1 });
    },
  );

  it('says why in plain English', () => {
    expect(route(gmailSend, 'auto', []).rationale).toBe('no online device supports gmail.send + auto preference: runs in the cloud');
  });
});

describe('isExecutorOnline', () => {
  it.each<[string, ExecutorSnapshot['last_heartbeat_at'], boolean]>([
    ['heartbeat just now', secondsAgo(0), true],
    ['heartbeat exactly 60 s ago', secondsAgo(60), true],
    ['heartbeat 61 s ago', secondsAgo(61), false],
    ['heartbeat as epoch milliseconds', NOW.getTime() - 30_000, true],
    ['heartbeat as a Date', new Date(NOW.getTime() - 90_000), false],
    ['heartbeat slightly in the future (clock skew)', new Date(NOW.getTime() + 2000), true],
    ['no heartbeat', null, false],
    ['an unreadable heartbeat', 'yesterday-ish', false],
  ])('%s -> %s', (_name, heartbeat, expected) => {
    expect(isExecutorOnline({ last_heartbeat_at: heartbeat }, NOW)).toBe(expected);
  });
});

describe('routeTask: device at capacity', () => {
  const busy = device({ max_concurrent: 2, active_count: 2 });

  it.each<[ExecutionPreference, QuotaLevel, 'local' | 'remote', string]>([
    ['auto', 'OK', 'remote', 'every online device that supports gmail.send is at capacity + auto preference'],
    // cheapest still: the device runs it once a slot frees up
    ['cost_optimized', 'OK', 'local', 'once a slot frees up (busy 2/2)'],
    ['performance_optimized', 'OK', 'remote', 'is at capacity + performance_optimized preference'],
    ['local', 'OK', 'local', 'local preference'],
    // the cloud is held back by the monthly limit, the device is not
    ['auto', 'BLOCKED', 'local', 'monthly credit limit reached + local handler available'],
    ['performance_optimized', 'BLOCKED', 'local', 'monthly credit limit reached'],
    ['remote', 'BLOCKED', 'remote', 'monthly credit limit reached, so it waits for the reset or an override'],
    ['auto', 'WARNING', 'remote', 'at capacity + auto preference'],
  ])('%s with quota %s -> %s', (preference, quota, location, rationale) => {
    // Act
    const decision = route(gmailSend, preference, [busy], quota);

    // Assess
    expect(decision.execution_location).toBe(location);
    expect(decision.executor_id).toBe(location === 'local' ? 'tauri:macbook-pro' : null);
    expect(decision.rationale).toContain(rationale);
  });

  it('prefers a device with a free slot over a busy one', () => {
    // Prepare
    const executors = [
      device({ executor_id: 'tauri:busy', max_concurrent: 4, active_count: 4 }),
      device({ executor_id: 'tauri:idle', max_concurrent: 1, active_count: 0 }),
    ];

    // Act
    const decision = route(gmailSend, 'local', executors);

    // Assess
    expect(decision.executor_id).toBe('tauri:idle');
  });

  it('with no device and a blocked quota, still names the cloud and the limit', () => {
    const decision = route(gmailSend, 'auto', [], 'BLOCKED');
    expect(decision).toMatchObject({ execution_location: 'remote', estimated_credits: 1 });
    expect(decision.rationale).toContain('monthly credit limit reached');
  });
});

describe('routeTask: performance_optimized compares estimated durations', () => {
  it.each<[string, RoutableTask, 'local' | 'remote', number]>([
    // local_embedding: 300 ms on the device vs 600 ms in the cloud
    ['local_embedding on the device', { type: 'action', integration: 'local_embedding', action: 'embed' }, 'local', 300],
    // llm chat, 1000 tokens: 4500 ms on the device vs 2300 ms in the cloud
    ['llm chat in the cloud', { type: 'action', integration: 'llm', action: 'chat', estimated_tokens: 1000 }, 'remote', 2300],
  ])('%s', (_name, task, location, duration) => {
    const decision = route(task, 'performance_optimized', [device()]);
    expect(decision).toMatchObject({ execution_location: location, estimated_duration_ms: duration });
  });

  it('cost_optimized with a free action on both sides keeps it on an idle device', () => {
    const task: RoutableTask = { type: 'action', integration: 'local_embedding', action: 'embed' };
    const decision = route(task, 'cost_optimized', [device()]);
    expect(decision).toMatchObject({ execution_location: 'local', estimated_credits: 0 });
    expect(decision.rationale).toContain('same cost either way');
  });
});

describe('routeTask: agent tasks', () => {
  const agentDevice = device({ capabilities: ['agent'] });

  it.each<[string, ExecutionPreference, QuotaLevel, ExecutorSnapshot[], 'local' | 'remote', number]>([
    ['auto runs in the cloud even with an agent-capable device', 'auto', 'OK', [agentDevice], 'remote', 1.5],
    ['cost_optimized runs in the cloud', 'cost_optimized', 'OK', [agentDevice], 'remote', 1.5],
    ['performance_optimized runs in the cloud', 'performance_optimized', 'OK', [agentDevice], 'remote', 1.5],
    ['auto with a blocked quota still runs in the cloud', 'auto', 'BLOCKED', [agentDevice], 'remote', 1.5],
    ['local runs on a device with the agent capability', 'local', 'OK', [agentDevice], 'local', 0],
  ])('%s', (_name, preference, quota, executors, location, credits) => {
    // Act
    const decision = route(agentTask, preference, executors, quota);

    // Assess
    expect(decision).toMatchObject({
      execution_location: location,
      estimated_credits: credits,
      estimated_duration_ms: 15 * 60_000,
    });
  });

  it('local is refused when no device has the agent capability', () => {
    expect(() => route(agentTask, 'local', [device()])).toThrow(
      expect.objectContaining({ code: 'NO_LOCAL_EXECUTOR', capability: 'agent' }),
    );
  });

  it('explains the cloud choice', () => {
    expect(route(agentTask, 'auto', []).rationale).toBe(
      'agent task + auto preference: agent tasks run in the cloud unless local is requested',
    );
  });
});

describe('routeTask: LLM work', () => {
  it.each<[string, string, string, Record<string, unknown>, string]>([
    ['code work', 'Refactor this TypeScript function', 'mistral:7b', { temperature: 0 }, 'code'],
    ['chat', 'Reply to Anna and say hello', 'phi3:3.8b', { temperature: 0.15 }, 'chat'],
    ['anything else', 'Summarise the quarterly numbers', 'phi3:3.8b', { temperature: 0.15 }, 'general'],
  ])('%s gets a model by intent', (_name, description, model, params, intent) => {
    // Prepare
    const task: RoutableTask = { type: 'action', integration: 'llm', action: 'chat', description, estimated_tokens: 5000 };

    // Act
    const decision = route(task, 'remote', []);

    // Assess
    expect(decision).toMatchObject({ model, model_params: params, intent, estimated_credits: 0.05 });
  });

  it('reads the prompt in the input as well', () => {
    const task: RoutableTask = { type: 'action', integration: 'llm', action: 'complete', input: { prompt: 'write a SQL query' } };
    expect(route(task, 'remote', []).model).toBe('mistral:7b');
  });

  it('keeps a model the task names, with its configured parameters', () => {
    const task: RoutableTask = { type: 'action', integration: 'llm', action: 'chat', description: 'hello', model: 'mistral:7b' };
    expect(route(task, 'remote', [])).toMatchObject({ model: 'mistral:7b', model_params: { temperature: 0 }, intent: null });
  });

  it('prefers the device that has the chosen model', () => {
    // Prepare
    const executors = [
      device({ executor_id: 'tauri:a', models: ['phi3:3.8b'], max_concurrent: 4 }),
      device({ executor_id: 'tauri:b', models: ['mistral:7b'] }),
    ];
    const task: RoutableTask = { type: 'action', integration: 'llm', action: 'chat', description: 'debug this code' };

    // Act
    const decision = route(task, 'auto', executors);

    // Assess
    expect(decision).toMatchObject({ execution_location: 'local', executor_id: 'tauri:b', model: 'mistral:7b' });
  });

  it('still uses a device without the model, and says so', () => {
    const task: RoutableTask = { type: 'action', integration: 'llm', action: 'chat', description: 'debug this code' };
    const decision = route(task, 'cost_optimized', [device({ models: [] })]);
    expect(decision.execution_location).toBe('local');
    expect(decision.rationale).toContain('model mistral:7b is not installed on it');
  });

  it('gives non-LLM actions no model', () => {
    expect(route(gmailSend, 'remote', [])).toMatchObject({ model: null, model_params: null, intent: null });
  });
});

describe('routeTask: capabilities and input', () => {
  it('accepts a wildcard capability for the integration', () => {
    const decision = route(gmailSend, 'auto', [device({ capabilities: ['gmail.*'] })]);
    expect(decision.execution_location).toBe('local');
  });

  it('picks the device with the most free slots', () => {
    const executors = [
      device({ executor_id: 'tauri:small', max_concurrent: 1 }),
      device({ executor_id: 'tauri:big', max_concurrent: 3, active_count: 1 }),
    ];
    expect(route(gmailSend, 'auto', executors).executor_id).toBe('tauri:big');
  });

  it('defaults to the auto preference', () => {
    const decision = routeTask({ task: gmailSend, executors: [device()], now: NOW });
    expect(decision.rationale).toContain('auto preference');
  });

  it('rejects an unknown action before routing', () => {
    const task: RoutableTask = { type: 'action', integration: 'gmail', action: 'teleport' };
    expect(() => route(task, 'auto', [device()])).toThrow(UnknownActionError);
  });
});

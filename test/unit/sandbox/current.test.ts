import { afterEach, describe, expect, it } from 'vitest';
import { currentSandboxProvider, installSandboxProviders, setSandboxProvider } from '../../../src/sandbox/current.js';
import { cloudProviderFromEnvironment } from '../../../src/sandbox/cloud-providers.js';
import type { SandboxProvider } from '../../../src/sandbox/provider.js';

const named = (name: string): SandboxProvider => ({
  name,
  spawn: () => Promise.reject(new Error('not used')),
  terminate: () => Promise.resolve(),
  terminateAttempt: () => Promise.resolve(),
});

afterEach(() => {
  installSandboxProviders(() => named('reset'));
  setSandboxProvider(undefined);
});

describe('the process-wide sandbox provider', () => {
  it('is built once from the installed factory', () => {
    let builds = 0;
    installSandboxProviders(() => named(`built-${++builds}`));
    setSandboxProvider(undefined);
    expect(currentSandboxProvider().name).toBe('built-1');
    expect(currentSandboxProvider().name).toBe('built-1');
  });

  it("a Lambda handler's default (ifNone) does not replace the local runtime's or a test's set", () => {
    installSandboxProviders(() => named('local'));
    installSandboxProviders(() => named('cloud'), { ifNone: true });
    setSandboxProvider(undefined);
    expect(currentSandboxProvider().name).toBe('local');
  });
});

describe('cloudProviderFromEnvironment (what the Lambda functions build)', () => {
  it.each([
    [{}, 'SANDBOX_PROVIDER'],
    [{ SANDBOX_PROVIDER: 'process' }, 'SANDBOX_PROVIDER'],
    [{ SANDBOX_PROVIDER: 'ecs' }, 'ECS_CLUSTER_ARN'],
    [{ SANDBOX_PROVIDER: 'daytona' }, 'DAYTONA_API_KEY'],
  ])('refuses %j, naming %s', (env, name) => {
    expect(() => cloudProviderFromEnvironment(env)).toThrow(name);
  });

  it('builds the ECS provider from its settings', () => {
    const provider = cloudProviderFromEnvironment({ SANDBOX_PROVIDER: 'ecs', ECS_CLUSTER_ARN: 'arn:cluster', ECS_TASK_DEFINITION_ARN: 'arn:task' });
    expect(provider.name).toBe('ecs');
  });
});

import { ConfigurationError } from '../platform/errors.js';
import type { SandboxProvider } from './provider.js';

/*
 * The process-wide sandbox provider. Which providers a process can build is chosen by its entry
 * point, not here: the Lambda functions that start, stop or read sandboxes install the cloud set
 * (src/sandbox/cloud-providers.ts), the local runtime, bench and tests the one-machine set
 * (src/sandbox/from-environment.ts). So a function's bundle carries only the providers it uses.
 */
let provider: SandboxProvider | undefined;
let factory: (() => SandboxProvider) | undefined;

/** The provider, built from the installed factory on first use. */
export function currentSandboxProvider(): SandboxProvider {
  if (provider) return provider;
  if (!factory) throw new ConfigurationError('No sandbox provider is installed in this process (installSandboxProviders)');
  provider = factory();
  return provider;
}

/**
 * Installs how this process builds its provider (a provider already built is kept until
 * `setSandboxProvider(undefined)`). `ifNone`: only when none is installed yet, which is how a
 * Lambda handler installs its default without overriding the local runtime's or a test's.
 */
export function installSandboxProviders(build: () => SandboxProvider, options: { ifNone?: boolean } = {}): void {
  if (options.ifNone && factory) return;
  factory = build;
}

/** The local runtime and tests install their own provider (e.g. one bound to a data dir); undefined rebuilds it from the factory. */
export function setSandboxProvider(next: SandboxProvider | undefined): void {
  provider = next;
}

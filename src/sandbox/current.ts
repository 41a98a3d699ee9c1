import type { SandboxProvider } from './provider.js';
import { providerFromEnvironment } from './from-environment.js';

let provider: SandboxProvider | undefined;

/** The process-wide sandbox provider, built from the environment on first use. */
export function currentSandboxProvider(): SandboxProvider {
  provider ??= providerFromEnvironment(process.env);
  return provider;
}

/** The local runtime and tests install their own provider (e.g. one bound to a data dir). */
export function setSandboxProvider(next: SandboxProvider | undefined): void {
  provider = next;
}

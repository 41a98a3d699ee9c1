import { DaytonaSandboxProvider, type DaytonaSandboxProviderOptions } from './daytona-provider.js';
import { EcsSandboxProvider, type EcsSandboxProviderOptions } from './ecs-provider.js';
import { ProcessSandboxProvider, type ProcessSandboxProviderOptions } from './process-provider.js';
import type { SandboxProvider } from './provider.js';

export * from './provider.js';
export { DaytonaSandboxProvider, type DaytonaSandboxProviderOptions } from './daytona-provider.js';
export { EcsSandboxProvider, type EcsSandboxProviderOptions } from './ecs-provider.js';
export { ProcessSandboxProvider, type ProcessSandboxProviderOptions } from './process-provider.js';

export const SANDBOX_PROVIDER_NAMES = ['process', 'daytona', 'ecs'] as const;
export type SandboxProviderName = (typeof SANDBOX_PROVIDER_NAMES)[number];

/** Which provider to build, with that provider's options (the config layer fills it from env). */
export type SandboxProviderConfig =
  | ({ provider: 'process' } & ProcessSandboxProviderOptions)
  | ({ provider: 'daytona' } & DaytonaSandboxProviderOptions)
  | ({ provider: 'ecs' } & EcsSandboxProviderOptions);

/** Builds the configured sandbox provider. */
export function createSandboxProvider(config: SandboxProviderConfig): SandboxProvider {
  switch (config.provider) {
    case 'process': {
      const { provider: _provider, ...options } = config;
      return new ProcessSandboxProvider(options);
    }
    case 'daytona': {
      const { provider: _provider, ...options } = config;
      return new DaytonaSandboxProvider(options);
    }
    case 'ecs': {
      const { provider: _provider, ...options } = config;
      return new EcsSandboxProvider(options);
    }
    default: {
      const unknown: never = config;
      throw new Error(`Unknown sandbox provider ${JSON.stringify((unknown as { provider?: unknown }).provider)}`);
    }
  }
}

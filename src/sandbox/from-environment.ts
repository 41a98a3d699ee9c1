import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import * as z from 'zod';
import { artifactStore, hasArtifactStore } from '../platform/artifact-store.js';
import { buildCloudProvider, cloudSandboxEnvSchema, parseSandboxEnv } from './cloud-providers.js';
import { ProcessSandboxProvider } from './process-provider.js';
import type { SandboxProvider } from './provider.js';
import { PROVIDER_START_TIMEOUT_SECONDS } from '../scheduling/spawn-timings.js';

const envSchema = cloudSandboxEnvSchema.extend({
  SANDBOX_PROVIDER: z.enum(['process', 'daytona', 'ecs']).default('process'),
  NIGHTSHIFT_DATA_DIR: z.string().default('.nightshift'),
});

/** The demo agent shipped in the repo: what `npm start` runs when SANDBOX_COMMAND is not set. */
export const demoAgentCommand = (): string =>
  `node ${JSON.stringify(fileURLToPath(new URL('../../scripts/demo-agent.mjs', import.meta.url)))}`;

/**
 * Builds the provider named by SANDBOX_PROVIDER from the environment; missing settings are named.
 * This is the one-machine set (the process provider too); Lambda functions use
 * cloudProviderFromEnvironment (src/sandbox/cloud-providers.ts).
 */
export function providerFromEnvironment(env: NodeJS.ProcessEnv): SandboxProvider {
  const c = parseSandboxEnv(envSchema, env);
  if (c.SANDBOX_PROVIDER !== 'process') return buildCloudProvider(c.SANDBOX_PROVIDER, c, { artifacts: () => (hasArtifactStore() ? artifactStore() : null) });
  return new ProcessSandboxProvider({
    command: c.SANDBOX_COMMAND ?? demoAgentCommand(),
    dataDir: join(c.NIGHTSHIFT_DATA_DIR),
    artifacts: () => (hasArtifactStore() ? artifactStore() : null),
    github: c.GITHUB_TOKEN ? { apiUrl: c.GITHUB_API_URL, token: c.GITHUB_TOKEN } : undefined,
    // A start includes the checkout; the spawn path's timings are derived from this limit.
    gitNetworkTimeoutMs: PROVIDER_START_TIMEOUT_SECONDS.process * 1000,
  });
}

import { GetSecretValueCommand, SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import * as z from 'zod';
import { ConfigurationError } from '../platform/errors.js';
import type { ArtifactStore } from '../platform/artifact-store.js';
import { getConfig } from '../platform/config.js';
import { DaytonaSandboxProvider } from './daytona-provider.js';
import { EcsSandboxProvider } from './ecs-provider.js';
import type { GitHubOptions } from './github-pull-requests.js';
import type { SandboxProvider } from './provider.js';
import { PROVIDER_START_TIMEOUT_SECONDS } from '../scheduling/spawn-timings.js';

/*
 * The providers that run sandboxes in AWS (SANDBOX_PROVIDER=ecs or daytona), without the process
 * provider: the Lambda functions bundle only these, so they carry no child_process, git
 * workspace or artifact-writing code (src/sandbox/from-environment.ts adds it on one machine).
 */
const list = z
  .string()
  .default('')
  .transform((value) => value.split(',').map((item) => item.trim()).filter(Boolean));

export const cloudSandboxEnvSchema = z.object({
  SANDBOX_COMMAND: z.string().optional(),
  DAYTONA_API_URL: z.url().default('https://app.daytona.io/api'),
  DAYTONA_API_KEY: z.string().default(''),
  DAYTONA_API_KEY_SECRET_ARN: z.string().default(''),
  DAYTONA_TARGET: z.string().optional(),
  DAYTONA_SNAPSHOT: z.string().optional(),
  DAYTONA_IMAGE: z.string().optional(),
  DAYTONA_GIT_USERNAME: z.string().default('x-access-token'),
  DAYTONA_GIT_TOKEN: z.string().default(''),
  GITHUB_API_URL: z.url().default('https://api.github.com'),
  GITHUB_TOKEN: z.string().default(''),
  /** In AWS (ECS): the git secret, whose token also opens the pull requests (read by the API on first use). */
  GITHUB_TOKEN_SECRET_ARN: z.string().default(''),
  ECS_CLUSTER_ARN: z.string().default(''),
  ECS_TASK_DEFINITION_ARN: z.string().default(''),
  ECS_CONTAINER_NAME: z.string().default('agent'),
  ECS_SUBNET_IDS: list,
  ECS_SECURITY_GROUP_IDS: list,
  ECS_ASSIGN_PUBLIC_IP: z.enum(['ENABLED', 'DISABLED']).default('DISABLED'),
});

export type CloudSandboxEnv = z.infer<typeof cloudSandboxEnvSchema>;

const cloudEnvSchema = cloudSandboxEnvSchema.extend({ SANDBOX_PROVIDER: z.enum(['daytona', 'ecs']) });

export function parseSandboxEnv<T extends z.ZodType>(schema: T, env: NodeJS.ProcessEnv): z.infer<T> {
  const parsed = schema.safeParse(env);
  if (!parsed.success) {
    throw new ConfigurationError(`Invalid sandbox configuration: ${parsed.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; ')}`);
  }
  return parsed.data;
}

/** What the Lambda functions run: the ECS or Daytona provider named by SANDBOX_PROVIDER. */
export function cloudProviderFromEnvironment(env: NodeJS.ProcessEnv, extras: CloudProviderExtras = {}): SandboxProvider {
  const c = parseSandboxEnv(cloudEnvSchema, env);
  return buildCloudProvider(c.SANDBOX_PROVIDER, c, extras);
}

/** Builds the Daytona or ECS provider from parsed settings; missing settings are named. */
/**
 * What only some callers give: the artifact store, where the Daytona provider keeps a repository
 * task's patch when it collects (in the API, on the agent's report). Injected, so the functions that
 * only start or stop sandboxes carry no S3 client.
 */
export interface CloudProviderExtras {
  artifacts?: () => ArtifactStore | null;
}

export function buildCloudProvider(name: 'daytona' | 'ecs', c: CloudSandboxEnv, extras: CloudProviderExtras = {}): SandboxProvider {
  if (name === 'daytona') {
    const build = (secret: DaytonaSecret) => {
      // Git credentials for private repositories: the provider's own, sent per clone and push.
      const gitToken = secret.gitToken ?? (c.DAYTONA_GIT_TOKEN || c.GITHUB_TOKEN);
      return new DaytonaSandboxProvider({
        apiUrl: c.DAYTONA_API_URL,
        apiKey: secret.apiKey,
        command: c.SANDBOX_COMMAND ?? 'echo "set SANDBOX_COMMAND to your agent CLI"',
        target: c.DAYTONA_TARGET,
        snapshot: c.DAYTONA_SNAPSHOT,
        image: c.DAYTONA_IMAGE,
        startTimeoutMs: PROVIDER_START_TIMEOUT_SECONDS.daytona * 1000,
        git: gitToken ? { username: secret.gitUsername ?? c.DAYTONA_GIT_USERNAME, password: gitToken } : undefined,
        artifacts: extras.artifacts,
        github: c.GITHUB_TOKEN ? { apiUrl: c.GITHUB_API_URL, token: c.GITHUB_TOKEN } : undefined,
      });
    };
    if (c.DAYTONA_API_KEY) return build({ apiKey: c.DAYTONA_API_KEY });
    if (c.DAYTONA_API_KEY_SECRET_ARN) return lazyProvider('daytona', async () => build(await readSecret(c.DAYTONA_API_KEY_SECRET_ARN)), { supportsRepositories: true });
    throw new ConfigurationError('DAYTONA_API_KEY (locally) or DAYTONA_API_KEY_SECRET_ARN (in AWS) is required when SANDBOX_PROVIDER=daytona');
  }
  if (!c.ECS_CLUSTER_ARN || !c.ECS_TASK_DEFINITION_ARN) {
    throw new ConfigurationError('ECS_CLUSTER_ARN and ECS_TASK_DEFINITION_ARN are required when SANDBOX_PROVIDER=ecs');
  }
  return new EcsSandboxProvider({
    cluster: c.ECS_CLUSTER_ARN,
    taskDefinition: c.ECS_TASK_DEFINITION_ARN,
    containerName: c.ECS_CONTAINER_NAME,
    subnets: c.ECS_SUBNET_IDS,
    securityGroups: c.ECS_SECURITY_GROUP_IDS,
    assignPublicIp: c.ECS_ASSIGN_PUBLIC_IP === 'ENABLED',
    command: c.SANDBOX_COMMAND,
    artifactsBucket: getConfig().artifactsBucket || undefined,
    github: githubOptions(c),
  });
}

/** GITHUB_TOKEN, or the token in the secret GITHUB_TOKEN_SECRET_ARN names (read once, on first use). */
function githubOptions(c: CloudSandboxEnv): (() => Promise<GitHubOptions | undefined>) | undefined {
  if (c.GITHUB_TOKEN) {
    const options = { apiUrl: c.GITHUB_API_URL, token: c.GITHUB_TOKEN };
    return () => Promise.resolve(options);
  }
  if (!c.GITHUB_TOKEN_SECRET_ARN) return undefined;
  let read: Promise<GitHubOptions> | undefined;
  return () =>
    (read ??= readSecretString(c.GITHUB_TOKEN_SECRET_ARN)
      .then((token) => ({ apiUrl: c.GITHUB_API_URL, token: token.trim() }))
      .catch((error: unknown) => {
        read = undefined;
        throw error;
      }));
}

async function readSecretString(secretId: string): Promise<string> {
  const result = await new SecretsManagerClient({}).send(new GetSecretValueCommand({ SecretId: secretId }));
  if (!result.SecretString) throw new ConfigurationError(`Secret ${secretId} is empty`);
  return result.SecretString;
}

interface DaytonaSecret {
  apiKey: string;
  gitUsername?: string;
  gitToken?: string;
}

/**
 * In AWS the Daytona key lives in Secrets Manager; it is read once, on first use. The secret holds
 * the bare key or JSON such as {"apiKey": "...", "gitUsername": "...", "gitToken": "..."}.
 */
async function readSecret(secretId: string): Promise<DaytonaSecret> {
  const value = await readSecretString(secretId);
  try {
    const parsed = JSON.parse(value) as Record<string, unknown>;
    const key = parsed.apiKey ?? parsed.api_key ?? parsed.DAYTONA_API_KEY;
    const text = (field: unknown) => (typeof field === 'string' && field !== '' ? field : undefined);
    if (typeof key === 'string') return { apiKey: key, gitUsername: text(parsed.gitUsername), gitToken: text(parsed.gitToken) };
  } catch {
    // not JSON: the bare key
  }
  return { apiKey: value };
}

/** A provider whose construction needs I/O (a secret); built on the first call, then reused. */
function lazyProvider(name: string, build: () => Promise<SandboxProvider>, traits: { supportsRepositories?: boolean } = {}): SandboxProvider {
  let real: Promise<SandboxProvider> | undefined;
  const get = () => (real ??= build().catch((error: unknown) => {
    real = undefined;
    throw error;
  }));
  return {
    name,
    ...traits,
    spawn: async (request) => (await get()).spawn(request),
    collectRepository: async (request) => {
      const provider = await get();
      if (!provider.collectRepository) throw new Error(`The ${name} sandbox provider does not collect repositories`);
      return provider.collectRepository(request);
    },
    lostSandboxes: async (ids) => {
      const provider = await get();
      return provider.lostSandboxes ? provider.lostSandboxes(ids) : [];
    },
    terminate: async (id) => (await get()).terminate(id),
    terminateAttempt: async (task) => (await get()).terminateAttempt(task),
    logs: async (id, maxBytes) => {
      const provider = await get();
      return provider.logs ? provider.logs(id, maxBytes) : null;
    },
  };
}

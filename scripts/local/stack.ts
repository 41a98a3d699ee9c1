import { mkdirSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { resetAwsClients } from '../../src/platform/aws.js';
import { resetConfigCache } from '../../src/platform/config.js';
import { ENV } from '../../src/platform/resources.js';
import { installSandboxProviders, setSandboxProvider } from '../../src/sandbox/current.js';
import { providerFromEnvironment } from '../../src/sandbox/from-environment.js';
import { terminateAllSandboxes } from '../../src/sandbox/process-provider.js';
import { artifactBucketName, ensureBucket, ensureQueues, ensureTable, emulatorEnvironment, freePort, startDynamoDbLocal, startS3Server, startSqsServer, type RunningEmulator } from './emulators.js';
import { localSecret } from './local-auth.js';
import { startBatchScheduler, type LocalBatchScheduler } from './batch-scheduler.js';
import { startLocalRuntime, type RunningRuntime } from './runtime.js';
import { createLocalWebApp, type LocalOidc } from './web-app.js';

export interface LocalStackOptions {
  /** API port; 0 picks a free one. */
  port: number;
  dataDir: string;
  /** Keep DynamoDB data in dataDir (npm start) or in memory (tests). */
  persist: boolean;
  /** Use already running emulators (tests share one per run) instead of starting new ones. */
  endpoints?: { dynamodb: string; sqs: string; s3?: string };
  /** Table and queue name prefix, so several stacks can share emulators. */
  namePrefix?: string;
  log?: (line: string) => void;
  waitTimeSeconds?: number;
  /** How often the digest trigger looks for due digests (60 s, as in AWS; tests shorten it). */
  digestIntervalSeconds?: number;
  /**
   * Trust an OpenID Connect issuer as the stack in AWS does (its JWKS, issuer and audience, through
   * the authorizer's own decision), and offer single sign-on with it on the dashboard.
   */
  oidc?: LocalOidc & { jwks_url: string };
}

export interface LocalStack {
  url: string;
  secret: Uint8Array;
  tableName: string;
  queues: { spawnQueueUrl: string; spawnDlqUrl: string; wakeQueueUrl: string; notifyQueueUrl: string; notifyDlqUrl: string };
  stop(): Promise<void>;
}

/**
 * The whole system on one machine: DynamoDB Local, the SQS server, the real Lambda handlers
 * behind the API Gateway adapter, timers and queue pollers, and the `process` sandbox provider.
 */
export async function startLocalStack(options: LocalStackOptions): Promise<LocalStack> {
  const dataDir = resolve(options.dataDir);
  mkdirSync(dataDir, { recursive: true });
  const emulators: RunningEmulator[] = [];
  let runtime: RunningRuntime | undefined;
  let batchScheduler: LocalBatchScheduler | undefined;
  const stopAll = async () => {
    await batchScheduler?.stop();
    await runtime?.stop();
    await terminateAllSandboxes();
    await Promise.allSettled(emulators.map((e) => e.stop()));
  };
  try {
    let endpoints = options.endpoints;
    if (!endpoints) {
      const [dynamodb, sqs, s3] = await Promise.all([
        startDynamoDbLocal({ dataDir: options.persist ? join(dataDir, 'dynamodb') : undefined, log: options.log }),
        startSqsServer(),
        startS3Server({ directory: join(dataDir, 'artifacts') }),
      ]);
      emulators.push(dynamodb, sqs, s3);
      endpoints = { dynamodb: dynamodb.endpoint, sqs: sqs.endpoint, s3: s3.endpoint };
    }
    const prefix = options.namePrefix ?? 'nightshift';
    const tableName = `${prefix}-main`;
    Object.assign(process.env, emulatorEnvironment(endpoints.dynamodb, endpoints.sqs, endpoints.s3));
    if ((await ensureTable(endpoints.dynamodb, tableName)) === 'migrated') {
      options.log?.(`table ${tableName}: its indexes were an older definition's; recreated as defined, items kept`);
    }
    const queues = await ensureQueues(endpoints.sqs, prefix);
    if (endpoints.s3) {
      await ensureBucket(endpoints.s3, artifactBucketName(prefix));
      process.env[ENV.artifactsBucket] = artifactBucketName(prefix);
    }
    const port = options.port === 0 ? await freePort() : options.port;
    const url = `http://127.0.0.1:${port}`;
    Object.assign(process.env, {
      [ENV.tableName]: tableName,
      [ENV.spawnQueueUrl]: queues.spawnQueueUrl,
      [ENV.spawnDlqUrl]: queues.spawnDlqUrl,
      [ENV.wakeQueueUrl]: queues.wakeQueueUrl,
      [ENV.notifyQueueUrl]: queues.notifyQueueUrl,
      CALLBACK_BASE_URL: url,
      NIGHTSHIFT_DATA_DIR: dataDir,
    });
    // On one machine webhooks may go to 127.0.0.1 (local tools, tests); in AWS this stays off.
    process.env.NOTIFICATIONS_ALLOW_LOOPBACK ??= '1';
    resetConfigCache();
    resetAwsClients();
    installSandboxProviders(() => providerFromEnvironment(process.env));
    setSandboxProvider(undefined);
    const { getConfig } = await import('../../src/platform/config.js');
    const config = getConfig();
    const [api, orchestrator, spawner, spawnDlq, sweeper, apiKeys, batchTrigger] = await Promise.all([
      import('../../functions/api/all-routes.js'),
      import('../../functions/orchestrator/handler.js'),
      import('../../functions/spawner/handler.js'),
      import('../../functions/spawn-dlq/handler.js'),
      import('../../functions/sweeper/handler.js'),
      import('../../src/api-keys/api-keys.js'),
      import('../../functions/batch-trigger/handler.js'),
    ]);
    const [notifier, digestTrigger] = await Promise.all([import('../../functions/notifier/handler.js'), import('../../functions/digest-trigger/handler.js')]);
    const secret = localSecret(dataDir);
    runtime = await startLocalRuntime({
      port,
      secret,
      queues,
      pollIntervalSeconds: config.pollIntervalSeconds,
      timeoutCheckIntervalSeconds: config.timeoutCheckIntervalSeconds,
      waitTimeSeconds: options.waitTimeSeconds,
      digestIntervalSeconds: options.digestIntervalSeconds,
      log: options.log,
      // x-api-key goes through the same lookup as the Lambda authorizer in AWS.
      authenticateApiKey: (key) => apiKeys.apiKeyAuthorizerContext(key),
      authenticateBearer: options.oidc ? await issuerAuthentication(options.oidc) : undefined,
      web: createLocalWebApp({ secret, oidc: options.oidc ? { issuer: options.oidc.issuer, client_id: options.oidc.client_id, audience: options.oidc.audience } : undefined }),
      functions: {
        api: api.handler,
        orchestrator: orchestrator.handler,
        spawner: spawner.handler,
        spawnDlq: spawnDlq.handler,
        sweeper: sweeper.handler,
        notifier: notifier.handler,
        digestTrigger: digestTrigger.handler,
      },
    });
    // EventBridge Scheduler's part: recurring batches fire the batch-trigger function on their cron.
    batchScheduler = startBatchScheduler({ trigger: batchTrigger.handler, log: options.log });
    return { url: runtime.url, secret, tableName, queues, stop: stopAll };
  } catch (error) {
    await stopAll();
    throw error;
  }
}

/** Bearer tokens of `oidc`'s issuer, checked by the AWS authorizer's decision against its JWKS. */
async function issuerAuthentication(oidc: NonNullable<LocalStackOptions['oidc']>): Promise<(token: string) => Promise<Record<string, string> | null>> {
  const [{ createAuthorizer }, { createRemoteJWKSet }] = await Promise.all([import('../../functions/authorizer/authorize.js'), import('jose')]);
  const authorize = createAuthorizer({
    keys: createRemoteJWKSet(new URL(oidc.jwks_url), { timeoutDuration: 3000 }),
    issuer: oidc.issuer,
    audience: oidc.audience,
    authenticateApiKey: async () => null,
  });
  return async (token) => {
    const event = { headers: { authorization: `Bearer ${token}` }, routeKey: 'local' } as unknown as Parameters<typeof authorize>[0];
    const result = await authorize(event);
    return result.isAuthorized ? result.context : null;
  };
}

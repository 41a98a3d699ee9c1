import { randomUUID } from 'node:crypto';
import { resetConfigCache } from '../../src/platform/config.js';
import { ENV } from '../../src/platform/resources.js';
import { startDynamoDbLocal, startSqsServer, useFreshResources, type LocalQueues } from '../local/emulators.js';

/** Where the emulators listen (both on 127.0.0.1). */
export interface EmulatorEndpoints {
  dynamodb: string;
  sqs: string;
  /** DynamoDB Local's process, when this run started it (its CPU time is metered). */
  dynamodbPid?: number;
}

export interface RunningEmulators extends EmulatorEndpoints {
  stop(): Promise<void>;
}

/** An in-memory DynamoDB Local and an SQS server of this run's own, on free loopback ports. */
export async function startEmulators(): Promise<RunningEmulators> {
  const [dynamodb, sqs] = await Promise.all([startDynamoDbLocal(), startSqsServer()]);
  return {
    dynamodb: dynamodb.endpoint,
    dynamodbPid: dynamodb.pid,
    sqs: sqs.endpoint,
    stop: async () => void (await Promise.allSettled([dynamodb.stop(), sqs.stop()])),
  };
}

export interface FreshTable {
  tableName: string;
  queues: LocalQueues;
}

/**
 * A new table and new queues on the emulators, with this process's environment (and the cached
 * config and SDK clients) pointing at them, so measurements never see each other's data.
 */
export async function useFreshTable(endpoints: EmulatorEndpoints, extraEnv: Record<string, string> = {}): Promise<FreshTable> {
  return useFreshResources(endpoints, `b${randomUUID().slice(0, 8)}`, extraEnv);
}

/**
 * Points this process at another table made by `useFreshTable` on the same emulators (the SDK
 * clients stay: only the configuration changes), so measurements can alternate between tables.
 */
export function useTable(table: FreshTable): void {
  Object.assign(process.env, {
    [ENV.tableName]: table.tableName,
    [ENV.spawnQueueUrl]: table.queues.spawnQueueUrl,
    [ENV.spawnDlqUrl]: table.queues.spawnDlqUrl,
    [ENV.wakeQueueUrl]: table.queues.wakeQueueUrl,
  });
  resetConfigCache();
}

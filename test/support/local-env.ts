import { randomUUID } from 'node:crypto';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DeleteMessageCommand, ReceiveMessageCommand } from '@aws-sdk/client-sqs';
import { inject } from 'vitest';
import { sqs } from '../../src/platform/aws.js';
import { spawnMessageSchema, wakeMessageSchema, type SpawnMessage, type WakeMessage } from '../../src/platform/queue/messages.js';
import { useFreshResources, type ensureQueues, type LocalQueues } from '../../scripts/local/emulators.js';
import { startLocalStack, type LocalStack, type LocalStackOptions } from '../../scripts/local/stack.js';
import { signLocalToken } from '../../scripts/local/local-auth.js';

export interface TestEnv {
  tableName: string;
  queues: LocalQueues;
}

/** A fresh table and queues on the shared emulators, with this process's env pointing at them. */
export async function useFreshTable(
  extraEnv: Record<string, string> = {},
  queueOverrides: Parameters<typeof ensureQueues>[2] = {},
): Promise<TestEnv> {
  const endpoints = { dynamodb: inject('dynamodbEndpoint'), sqs: inject('sqsEndpoint'), s3: inject('s3Endpoint') };
  return useFreshResources(endpoints, `t${randomUUID().slice(0, 8)}`, extraEnv, queueOverrides);
}

/** The whole local stack (API, timers, pollers, process sandboxes) on the shared emulators. */
export async function startTestStack(
  extraEnv: Record<string, string> = {},
  stackOptions: Pick<LocalStackOptions, 'oidc'> = {},
): Promise<LocalStack & { token: (user: string, admin?: boolean) => Promise<string>; dataDir: string }> {
  Object.assign(process.env, extraEnv);
  const dataDir = mkdtempSync(join(tmpdir(), 'nightshift-test-'));
  const stack = await startLocalStack({
    port: 0,
    dataDir,
    persist: false,
    endpoints: { dynamodb: inject('dynamodbEndpoint'), sqs: inject('sqsEndpoint'), s3: inject('s3Endpoint') },
    namePrefix: `e${randomUUID().slice(0, 8)}`,
    waitTimeSeconds: 1,
    digestIntervalSeconds: 2,
    ...stackOptions,
  });
  return { ...stack, dataDir, token: (user, admin = false) => signLocalToken(stack.secret, user, { admin }) };
}

/** Polls until `check` returns a value (not undefined/false) or the time is up. */
export async function eventually<T>(check: () => Promise<T | undefined | false>, timeoutMs = 15_000, what = 'condition'): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await check();
    if (value !== undefined && value !== false) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

/** Every message on a queue now, parsed with `schema`, each read and deleted. */
async function drainQueue<T>(queueUrl: string, schema: { parse: (value: unknown) => T }): Promise<T[]> {
  const messages: T[] = [];
  for (;;) {
    const result = await sqs().send(new ReceiveMessageCommand({ QueueUrl: queueUrl, MaxNumberOfMessages: 10, WaitTimeSeconds: 0 }));
    if (!result.Messages?.length) return messages;
    for (const message of result.Messages) {
      messages.push(schema.parse(JSON.parse(message.Body ?? '')));
      await sqs().send(new DeleteMessageCommand({ QueueUrl: queueUrl, ReceiptHandle: message.ReceiptHandle }));
    }
  }
}

/** Drains the spawn queue as a crashed spawner would leave it: every message read and deleted. */
export const takeSpawnMessages = (queueUrl: string): Promise<SpawnMessage[]> => drainQueue(queueUrl, spawnMessageSchema);

/** The wake messages queued so far (read and deleted). */
export const takeWakeMessages = (queueUrl: string): Promise<WakeMessage[]> => drainQueue(queueUrl, wakeMessageSchema);

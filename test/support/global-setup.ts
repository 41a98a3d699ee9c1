import type { TestProject } from 'vitest/node';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startDynamoDbLocal, startS3Server, startSqsServer, type RunningEmulator } from '../../scripts/local/emulators.js';

/*
 * One in-memory DynamoDB Local and one SQS server per test run, on free loopback ports. Each
 * test file gets its own table and queues (see local-env.ts), so files never collide.
 */
let emulators: RunningEmulator[] = [];
let artifactsDir: string | undefined;

export async function setup(project: TestProject): Promise<void> {
  artifactsDir = mkdtempSync(join(tmpdir(), 'nightshift-s3-'));
  const [dynamodb, sqs, s3] = await Promise.all([startDynamoDbLocal(), startSqsServer(), startS3Server({ directory: artifactsDir })]);
  emulators = [dynamodb, sqs, s3];
  project.provide('dynamodbEndpoint', dynamodb.endpoint);
  project.provide('sqsEndpoint', sqs.endpoint);
  project.provide('s3Endpoint', s3.endpoint);
}

export async function teardown(): Promise<void> {
  await Promise.allSettled(emulators.map((emulator) => emulator.stop()));
  if (artifactsDir) rmSync(artifactsDir, { recursive: true, force: true });
}

declare module 'vitest' {
  export interface ProvidedContext {
    dynamodbEndpoint: string;
    sqsEndpoint: string;
    s3Endpoint: string;
  }
}

import type { SQSBatchResponse, SQSEvent } from 'aws-lambda';
import { failUnspawnableTask } from '../../src/scheduling/spawn.js';
import { processRecords } from '../../src/platform/queue/sqs-batch.js';
import { spawnMessageSchema } from '../../src/platform/queue/messages.js';
import { installCloudSandboxProviders } from '../../src/sandbox/lambda-providers.js';

installCloudSandboxProviders();

/** Spawn messages that used up their receives: their tasks fail with a clear reason. */
export const handler = async (event: SQSEvent): Promise<SQSBatchResponse> =>
  processRecords(event, spawnMessageSchema, (message) => failUnspawnableTask(message));

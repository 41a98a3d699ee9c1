import type { SQSBatchResponse, SQSEvent } from 'aws-lambda';
import { failUnspawnableTask } from '../../src/scheduling/spawn.js';
import { processRecords } from '../../src/platform/queue/sqs-batch.js';
import { isStopSandboxMessage, spawnQueueMessageSchema } from '../../src/platform/queue/messages.js';
import { logger } from '../../src/platform/logger.js';
import { installCloudSandboxProviders } from '../../src/sandbox/lambda-providers.js';

installCloudSandboxProviders();

/**
 * Spawn messages that used up their receives: their tasks fail with a clear reason. A stop that
 * used up its receives is logged as an error (the sandbox lives until its own timeout kills it)
 * and dropped: its task has already ended.
 */
export const handler = async (event: SQSEvent): Promise<SQSBatchResponse> =>
  processRecords(event, spawnQueueMessageSchema, async (message) => {
    if (!isStopSandboxMessage(message)) return failUnspawnableTask(message);
    logger.error('could not stop the sandbox of an ended attempt; it runs until its timeout', { task_id: message.task_id, attempt: message.attempt });
    return false;
  });

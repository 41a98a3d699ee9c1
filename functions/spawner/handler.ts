import type { SQSBatchResponse, SQSEvent } from 'aws-lambda';
import { count, publishMetrics } from '../../src/platform/metrics.js';
import { spawnClaimedTask } from '../../src/scheduling/spawn.js';
import { processRecords } from '../../src/platform/queue/sqs-batch.js';
import { isStopSandboxMessage, spawnQueueMessageSchema } from '../../src/platform/queue/messages.js';
import { stopEndedAttemptSandbox } from '../../src/tasks/finish-task.js';
import { installCloudSandboxProviders } from '../../src/sandbox/lambda-providers.js';

installCloudSandboxProviders();

/**
 * Starts one sandbox per claimed task, and stops the sandboxes of attempts a batch cancel ended;
 * failures are retried by SQS and end in the DLQ.
 */
export const handler = async (event: SQSEvent): Promise<SQSBatchResponse> => {
  const response = await processRecords(event, spawnQueueMessageSchema, async (message) => {
    if (isStopSandboxMessage(message)) await stopEndedAttemptSandbox(message.task_id, message.attempt);
    else if ((await spawnClaimedTask(message)) === 'started') count('TasksStarted');
  });
  publishMetrics();
  return response;
};

import { DescribeTableCommand } from '@aws-sdk/client-dynamodb';
import { GetQueueAttributesCommand } from '@aws-sdk/client-sqs';
import { ddb, sqs } from '../../../src/platform/aws.js';
import { getConfig } from '../../../src/platform/config.js';
import { healthResponseSchema } from '../../../src/platform/wire.js';
import { reply, type ApiResult } from '../../../src/platform/http/api-handler.js';

const check = async (probe: () => Promise<unknown>): Promise<string> => {
  try {
    await probe();
    return 'ok';
  } catch (error) {
    return `down: ${error instanceof Error ? error.name : 'unknown error'}`;
  }
};

/** Health without auth: the table and the queues must answer. */
export async function health(): Promise<ApiResult> {
  const config = getConfig();
  const checks = {
    table: await check(() => ddb().send(new DescribeTableCommand({ TableName: config.tableName }))),
    spawn_queue: await check(() =>
      sqs().send(new GetQueueAttributesCommand({ QueueUrl: config.spawnQueueUrl, AttributeNames: ['QueueArn'] })),
    ),
    wake_queue: await check(() =>
      sqs().send(new GetQueueAttributesCommand({ QueueUrl: config.wakeQueueUrl, AttributeNames: ['QueueArn'] })),
    ),
  };
  const ok = Object.values(checks).every((value) => value === 'ok');
  return reply(ok ? 200 : 503, healthResponseSchema, { status: ok ? 'ok' : 'degraded', checks, time: new Date().toISOString() });
}

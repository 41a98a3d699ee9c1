import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { SQSClient } from '@aws-sdk/client-sqs';

/*
 * SDK clients live at module scope so a warm Lambda reuses connections. The SDK itself honours
 * AWS_ENDPOINT_URL and the per-service AWS_ENDPOINT_URL_DYNAMODB / AWS_ENDPOINT_URL_SQS, which is
 * how the local runtime and LocalStack point them elsewhere without code changes. Clients that
 * only some functions need (S3: src/platform/s3.ts) live in modules of their own, so the other
 * functions' bundles do not carry them.
 */
let documentClient: DynamoDBDocumentClient | undefined;
let sqsClient: SQSClient | undefined;
const resetHooks: (() => void)[] = [];

export function ddb(): DynamoDBDocumentClient {
  documentClient ??= DynamoDBDocumentClient.from(new DynamoDBClient({ maxAttempts: 5 }), {
    marshallOptions: { removeUndefinedValues: true },
  });
  return documentClient;
}

export function sqs(): SQSClient {
  // Requests go to the configured endpoint, whatever host a queue URL names (emulators name odd hosts).
  sqsClient ??= new SQSClient({ useQueueUrlAsEndpoint: false });
  return sqsClient;
}

/** A client module of its own registers how its cached client is dropped by `resetAwsClients`. */
export function onAwsClientsReset(reset: () => void): void {
  resetHooks.push(reset);
}

/** Drops cached clients (tests point them at fresh emulators). */
export function resetAwsClients(): void {
  documentClient = undefined;
  sqsClient = undefined;
  for (const reset of resetHooks) reset();
}

import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { SQSClient } from '@aws-sdk/client-sqs';

/*
 * SDK clients live at module scope so a warm Lambda reuses connections. The SDK itself honours
 * AWS_ENDPOINT_URL and the per-service AWS_ENDPOINT_URL_DYNAMODB / AWS_ENDPOINT_URL_SQS, which is
 * how the local runtime and LocalStack point them elsewhere without code changes.
 */
let documentClient: DynamoDBDocumentClient | undefined;
let sqsClient: SQSClient | undefined;

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

/** Drops cached clients (tests point them at fresh emulators). */
export function resetAwsClients(): void {
  documentClient = undefined;
  sqsClient = undefined;
}

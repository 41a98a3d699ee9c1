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

/**
 * The SDK's logger middleware builds a redacted copy of every request and response for its logger
 * even when that logger discards it (the default no-op logger has an `info` method): about 3 % of
 * the orchestrator's CPU per claim, for nothing, since Nightshift logs through Powertools and
 * never hands the SDK a logger. The hot clients drop it.
 */
function withoutSdkLogging<T extends { middlewareStack: { remove(name: string): boolean } }>(client: T): T {
  client.middlewareStack.remove('loggerMiddleware');
  return client;
}

export function ddb(): DynamoDBDocumentClient {
  documentClient ??= DynamoDBDocumentClient.from(withoutSdkLogging(new DynamoDBClient({ maxAttempts: 5 })), {
    marshallOptions: { removeUndefinedValues: true },
  });
  return documentClient;
}

export function sqs(): SQSClient {
  // Requests go to the configured endpoint, whatever host a queue URL names (emulators name odd hosts).
  sqsClient ??= withoutSdkLogging(new SQSClient({ useQueueUrlAsEndpoint: false }));
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

import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { SQSClient } from '@aws-sdk/client-sqs';
import { S3Client } from '@aws-sdk/client-s3';

/*
 * SDK clients live at module scope so a warm Lambda reuses connections. The SDK itself honours
 * AWS_ENDPOINT_URL and the per-service AWS_ENDPOINT_URL_DYNAMODB / AWS_ENDPOINT_URL_SQS, which is
 * how the local runtime and LocalStack point them elsewhere without code changes.
 */
let documentClient: DynamoDBDocumentClient | undefined;
let sqsClient: SQSClient | undefined;
let s3Client: S3Client | undefined;

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

/**
 * S3 for the artifact store. Path-style addressing when S3_FORCE_PATH_STYLE=true (s3rver on
 * 127.0.0.1 has no virtual-host names); checksums only where S3 requires them, which every
 * S3-compatible server understands.
 */
export function s3(): S3Client {
  s3Client ??= new S3Client({
    forcePathStyle: process.env.S3_FORCE_PATH_STYLE === 'true',
    requestChecksumCalculation: 'WHEN_REQUIRED',
    responseChecksumValidation: 'WHEN_REQUIRED',
  });
  return s3Client;
}

/** Drops cached clients (tests point them at fresh emulators). */
export function resetAwsClients(): void {
  documentClient = undefined;
  sqsClient = undefined;
  s3Client = undefined;
}

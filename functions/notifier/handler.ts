import type { SQSBatchResponse, SQSEvent } from 'aws-lambda';
import { deliverNotification } from '../../src/notifications/deliver.js';
import { notifyMessageSchema } from '../../src/notifications/schemas.js';
import { processRecords } from '../../src/platform/queue/sqs-batch.js';

/** Notification deliveries: one attempt per message; a crash leaves the message for SQS to retry (then the DLQ). */
export const handler = async (event: SQSEvent): Promise<SQSBatchResponse> => processRecords(event, notifyMessageSchema, (message) => deliverNotification(message));

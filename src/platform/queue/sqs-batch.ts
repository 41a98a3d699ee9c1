import type { SQSBatchResponse, SQSEvent, SQSRecord } from 'aws-lambda';
import type * as z from 'zod';
import { logger } from '../logger.js';

/**
 * Processes each SQS record on its own and reports only the failed ones (ReportBatchItemFailures),
 * so one bad message is retried without redoing the rest. A body that fails validation can never
 * succeed: it is logged and dropped rather than retried into the DLQ.
 */
export async function processRecords<S extends z.ZodType>(
  event: SQSEvent,
  schema: S,
  handle: (message: z.infer<S>, record: SQSRecord) => Promise<unknown>,
): Promise<SQSBatchResponse> {
  const failures: SQSBatchResponse['batchItemFailures'] = [];
  for (const record of event.Records) {
    let message: z.infer<S>;
    try {
      message = schema.parse(JSON.parse(record.body));
    } catch (error) {
      logger.error('dropping malformed message', { message_id: record.messageId, error });
      continue;
    }
    try {
      await handle(message, record);
    } catch (error) {
      logger.error('message failed; SQS will retry it', { message_id: record.messageId, error });
      failures.push({ itemIdentifier: record.messageId });
    }
  }
  return { batchItemFailures: failures };
}

import { DeleteMessageCommand, ReceiveMessageCommand, type Message } from '@aws-sdk/client-sqs';
import type { SQSEvent } from 'aws-lambda';
import { handler as notifierHandler } from '../../functions/notifier/handler.js';
import { sqs } from '../../src/platform/aws.js';

type SqsHandler = (event: SQSEvent) => Promise<{ batchItemFailures: { itemIdentifier: string }[] }>;

/** SQS messages as Lambda's event source mapping hands them to a function. */
export const asSqsEvent = (messages: Message[]): SQSEvent => ({
  Records: messages.map((m) => ({
    messageId: m.MessageId ?? '',
    receiptHandle: m.ReceiptHandle ?? '',
    body: m.Body ?? '',
    attributes: {} as SQSEvent['Records'][number]['attributes'],
    messageAttributes: {},
    md5OfBody: '',
    eventSource: 'aws:sqs',
    eventSourceARN: 'arn:aws:sqs:us-east-1:000000000000:test',
    awsRegion: 'us-east-1',
  })),
});

/** What Lambda's event source mapping does: receive a batch, invoke, delete what succeeded. */
export async function deliverFromQueue(queueUrl: string, fn: SqsHandler): Promise<number> {
  const received = await sqs().send(new ReceiveMessageCommand({ QueueUrl: queueUrl, MaxNumberOfMessages: 10, WaitTimeSeconds: 1 }));
  const messages = received.Messages ?? [];
  if (messages.length === 0) return 0;
  const { batchItemFailures } = await fn(asSqsEvent(messages));
  const failed = new Set(batchItemFailures.map((f) => f.itemIdentifier));
  for (const m of messages) if (!failed.has(m.MessageId ?? '')) await sqs().send(new DeleteMessageCommand({ QueueUrl: queueUrl, ReceiptHandle: m.ReceiptHandle }));
  return messages.length;
}

/** One notifier invocation on what the notify queue holds. */
export const runNotifier = (queueUrl: string): Promise<number> => deliverFromQueue(queueUrl, notifierHandler);

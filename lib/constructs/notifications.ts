import { Arn, ArnFormat, Duration, Stack } from 'aws-cdk-lib';
import * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import type * as dynamodb from 'aws-cdk-lib/aws-dynamodb';
import * as events from 'aws-cdk-lib/aws-events';
import * as targets from 'aws-cdk-lib/aws-events-targets';
import * as iam from 'aws-cdk-lib/aws-iam';
import { SqsEventSource } from 'aws-cdk-lib/aws-lambda-event-sources';
import * as sqs from 'aws-cdk-lib/aws-sqs';
import { Construct } from 'constructs';
import { ENV, NOTIFIER_BATCH_SIZE, NOTIFIER_TIMEOUT_SECONDS, NOTIFY_QUEUE } from '../../src/platform/resources.js';
import { NightshiftFunction } from './nightshift-function.js';

export interface NotificationsProps {
  readonly table: dynamodb.ITable;
  /** Every function's shared environment (table name, queues, settings). */
  readonly environment: Record<string, string>;
  /** SES sender; without it no function may send e-mail. */
  readonly emailFrom?: string;
}

/**
 * Notifications: the delivery queue and its DLQ, the notifier that drains it (one attempt per
 * message, retries as delayed messages), the digest trigger on an every-minute rule (it selects
 * due users from the table's due index, no scan), and the alarm on the DLQ.
 */
export class Notifications extends Construct {
  readonly queue: sqs.Queue;
  readonly deadLetterQueue: sqs.Queue;
  readonly notifier: NightshiftFunction;
  readonly digestTrigger: NightshiftFunction;
  readonly deadLetterAlarm: cloudwatch.Alarm;
  private readonly emailFrom: string | undefined;

  constructor(scope: Construct, id: string, props: NotificationsProps) {
    super(scope, id);
    this.emailFrom = props.emailFrom;
    if (NOTIFY_QUEUE.maxReceiveCount === undefined) throw new Error('NOTIFY_QUEUE must define maxReceiveCount');
    this.deadLetterQueue = new sqs.Queue(this, `${NOTIFY_QUEUE.logicalName}DeadLetter`, {
      retentionPeriod: Duration.days(14),
      encryption: sqs.QueueEncryption.SQS_MANAGED,
      enforceSSL: true,
    });
    this.queue = new sqs.Queue(this, NOTIFY_QUEUE.logicalName, {
      visibilityTimeout: Duration.seconds(NOTIFY_QUEUE.visibilityTimeoutSeconds),
      receiveMessageWaitTime: Duration.seconds(NOTIFY_QUEUE.receiveWaitTimeSeconds),
      retentionPeriod: Duration.seconds(NOTIFY_QUEUE.messageRetentionSeconds),
      encryption: sqs.QueueEncryption.SQS_MANAGED,
      enforceSSL: true,
      deadLetterQueue: { queue: this.deadLetterQueue, maxReceiveCount: NOTIFY_QUEUE.maxReceiveCount },
    });

    const environment = {
      ...props.environment,
      [ENV.notifyQueueUrl]: this.queue.queueUrl,
      ...(props.emailFrom ? { [ENV.notificationsEmailFrom]: props.emailFrom } : {}),
      // Never loopback in AWS: webhooks go to public addresses only.
      NOTIFICATIONS_ALLOW_LOOPBACK: '0',
    };
    this.notifier = new NightshiftFunction(this, 'Notifier', {
      entry: 'functions/notifier/handler.ts',
      description: 'Delivers signed webhooks, Slack messages and e-mail, with retries',
      timeout: Duration.seconds(NOTIFIER_TIMEOUT_SECONDS),
      environment,
    });
    this.notifier.function.addEventSource(new SqsEventSource(this.queue, { batchSize: NOTIFIER_BATCH_SIZE, reportBatchItemFailures: true }));
    props.table.grantReadWriteData(this.notifier.function);
    this.queue.grantSendMessages(this.notifier.function); // the next attempt, with its backoff
    if (props.emailFrom) {
      const identity = Arn.format({ service: 'ses', resource: 'identity', resourceName: props.emailFrom.split('@')[1] ?? props.emailFrom, arnFormat: ArnFormat.SLASH_RESOURCE_NAME }, Stack.of(this));
      const address = Arn.format({ service: 'ses', resource: 'identity', resourceName: props.emailFrom, arnFormat: ArnFormat.SLASH_RESOURCE_NAME }, Stack.of(this));
      this.notifier.role.addToPolicy(
        new iam.PolicyStatement({
          actions: ['ses:SendEmail'],
          resources: [identity, address],
          conditions: { StringEquals: { 'ses:FromAddress': props.emailFrom } },
        }),
      );
    }

    this.digestTrigger = new NightshiftFunction(this, 'DigestTrigger', {
      entry: 'functions/digest-trigger/handler.ts',
      description: 'Sends the morning digests that are due (every minute)',
      timeout: Duration.seconds(60),
      environment,
      reservedConcurrentExecutions: 1,
    });
    props.table.grantReadWriteData(this.digestTrigger.function);
    this.queue.grantSendMessages(this.digestTrigger.function);
    new events.Rule(this, 'DigestSchedule', {
      description: 'Morning digests: each minute, the users whose digest time has come',
      schedule: events.Schedule.rate(Duration.minutes(1)),
      targets: [new targets.LambdaFunction(this.digestTrigger.function)],
    });

    this.deadLetterAlarm = new cloudwatch.Alarm(this, 'NotifyDeadLetterNotEmpty', {
      alarmDescription: 'Notification messages the notifier crashed on 5 times (not receivers that failed: those are retried for 24 h). Look at the notifier logs.',
      metric: this.deadLetterQueue.metricApproximateNumberOfMessagesVisible({ statistic: cloudwatch.Stats.MAXIMUM, period: Duration.minutes(1) }),
      threshold: 1,
      evaluationPeriods: 1,
      comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
      treatMissingData: cloudwatch.TreatMissingData.NOT_BREACHING,
    });
  }

  /** Functions whose code path ends tasks or charges credits emit events: they may only send to the queue. */
  connectEmitters(functions: readonly NightshiftFunction[]): void {
    for (const fn of functions) {
      fn.function.addEnvironment(ENV.notifyQueueUrl, this.queue.queueUrl);
      if (this.emailFrom) fn.function.addEnvironment(ENV.notificationsEmailFrom, this.emailFrom);
      this.queue.grantSendMessages(fn.function);
    }
  }
}

import { Duration, RemovalPolicy } from 'aws-cdk-lib';
import * as dynamodb from 'aws-cdk-lib/aws-dynamodb';
import * as s3 from 'aws-cdk-lib/aws-s3';
import * as sqs from 'aws-cdk-lib/aws-sqs';
import { NagSuppressions } from 'cdk-nag';
import { Construct } from 'constructs';
import type { QueueDefinition, TableDefinition } from '../../src/platform/resources.js';
import { MAIN_TABLE, spawnQueueDefinition, WAKE_QUEUE } from '../../src/platform/resources.js';
import type { SpawnTimings } from '../../src/scheduling/spawn-timings.js';

/** The spawn-dlq function's timeout; the DLQ's visibility is six times it, as AWS advises. */
export const SPAWN_DLQ_CONSUMER_TIMEOUT_SECONDS = 30;

export interface StorageProps {
  readonly tableDeletionProtection: boolean;
  /** Days an artifact (patch, agent log) is kept before S3 expires it. */
  readonly artifactRetentionDays: number;
  /** The spawn path's timings (visibility and receives of the spawn queue). */
  readonly spawnTimings: SpawnTimings;
}

const stringKey = (name: string): dynamodb.Attribute => ({ name, type: dynamodb.AttributeType.STRING });

const buildTable = (scope: Construct, definition: TableDefinition, deletionProtection: boolean): dynamodb.Table => {
  const table = new dynamodb.Table(scope, definition.logicalName, {
    partitionKey: stringKey(definition.partitionKey),
    sortKey: stringKey(definition.sortKey),
    billingMode: dynamodb.BillingMode.PAY_PER_REQUEST,
    encryption: dynamodb.TableEncryption.AWS_MANAGED,
    pointInTimeRecoverySpecification: { pointInTimeRecoveryEnabled: true },
    timeToLiveAttribute: definition.ttlAttribute,
    deletionProtection,
    removalPolicy: RemovalPolicy.RETAIN,
  });
  for (const index of definition.indexes) {
    table.addGlobalSecondaryIndex({
      indexName: index.name,
      partitionKey: stringKey(index.partitionKey),
      sortKey: stringKey(index.sortKey),
      ...(index.projection.type === 'INCLUDE'
        ? { projectionType: dynamodb.ProjectionType.INCLUDE, nonKeyAttributes: [...index.projection.attributes] }
        : { projectionType: dynamodb.ProjectionType.KEYS_ONLY }),
    });
  }
  return table;
};

const queueProps = (definition: QueueDefinition): sqs.QueueProps => ({
  visibilityTimeout: Duration.seconds(definition.visibilityTimeoutSeconds),
  receiveMessageWaitTime: Duration.seconds(definition.receiveWaitTimeSeconds),
  retentionPeriod: Duration.seconds(definition.messageRetentionSeconds),
  encryption: sqs.QueueEncryption.SQS_MANAGED,
  enforceSSL: true,
});

/** The table and the queues, built from src/platform/resources.ts and nothing else. */
export class Storage extends Construct {
  readonly table: dynamodb.Table;
  readonly spawnQueue: sqs.Queue;
  readonly spawnDeadLetterQueue: sqs.Queue;
  readonly wakeQueue: sqs.Queue;
  /** Patches and full agent logs: anything too large for a DynamoDB item. */
  readonly artifactsBucket: s3.Bucket;

  constructor(scope: Construct, id: string, props: StorageProps) {
    super(scope, id);

    this.table = buildTable(this, MAIN_TABLE, props.tableDeletionProtection);

    const spawnQueue = spawnQueueDefinition(props.spawnTimings);
    this.spawnDeadLetterQueue = new sqs.Queue(this, `${spawnQueue.logicalName}DeadLetter`, {
      retentionPeriod: Duration.days(14),
      visibilityTimeout: Duration.seconds(6 * SPAWN_DLQ_CONSUMER_TIMEOUT_SECONDS),
      encryption: sqs.QueueEncryption.SQS_MANAGED,
      enforceSSL: true,
    });
    if (spawnQueue.maxReceiveCount === undefined) {
      throw new Error('The spawn queue must define maxReceiveCount: a spawn that keeps failing has to end in the DLQ');
    }
    this.spawnQueue = new sqs.Queue(this, spawnQueue.logicalName, {
      ...queueProps(spawnQueue),
      deadLetterQueue: { queue: this.spawnDeadLetterQueue, maxReceiveCount: spawnQueue.maxReceiveCount },
    });

    this.artifactsBucket = new s3.Bucket(this, 'Artifacts', {
      encryption: s3.BucketEncryption.S3_MANAGED,
      enforceSSL: true,
      blockPublicAccess: s3.BlockPublicAccess.BLOCK_ALL,
      objectOwnership: s3.ObjectOwnership.BUCKET_OWNER_ENFORCED,
      removalPolicy: RemovalPolicy.RETAIN,
      lifecycleRules: [
        { id: 'expire-artifacts', expiration: Duration.days(props.artifactRetentionDays), abortIncompleteMultipartUploadAfter: Duration.days(1) },
      ],
    });
    NagSuppressions.addResourceSuppressions(this.artifactsBucket, [
      {
        id: 'AwsSolutions-S1',
        reason: 'Artifacts are written and read only by this stack\'s functions, whose calls CloudTrail records; a second bucket for access logs would hold little more.',
      },
    ]);

    this.wakeQueue = new sqs.Queue(this, WAKE_QUEUE.logicalName, queueProps(WAKE_QUEUE));
    NagSuppressions.addResourceSuppressions(this.wakeQueue, [
      {
        id: 'AwsSolutions-SQS3',
        reason:
          'Wake messages are idempotent nudges with no payload worth keeping; a lost one costs at most the one-minute schedule that re-runs the orchestrator anyway.',
      },
    ]);
  }
}

import { randomUUID } from 'node:crypto';
import { CreateTableCommand, DescribeTableCommand, DynamoDBClient, PutItemCommand, QueryCommand } from '@aws-sdk/client-dynamodb';
import { describe, expect, inject, it } from 'vitest';
import { ensureTable, LOCAL_REGION } from '../../scripts/local/emulators.js';
import { apiProjection, MAIN_TABLE } from '../../src/platform/resources.js';

const client = () => new DynamoDBClient({ endpoint: inject('dynamodbEndpoint'), region: LOCAL_REGION, credentials: { accessKeyId: 'S3RVER', secretAccessKey: 'S3RVER' } });

/** The table an older `npm start` left on a data dir: the same keys, every index projecting ALL. */
async function createOldTable(ddb: DynamoDBClient, tableName: string): Promise<void> {
  const attributes = [...new Set([MAIN_TABLE.partitionKey, MAIN_TABLE.sortKey, ...MAIN_TABLE.indexes.flatMap((index) => [index.partitionKey, index.sortKey])])];
  await ddb.send(
    new CreateTableCommand({
      TableName: tableName,
      BillingMode: 'PAY_PER_REQUEST',
      AttributeDefinitions: attributes.map((name) => ({ AttributeName: name, AttributeType: 'S' })),
      KeySchema: [
        { AttributeName: MAIN_TABLE.partitionKey, KeyType: 'HASH' },
        { AttributeName: MAIN_TABLE.sortKey, KeyType: 'RANGE' },
      ],
      GlobalSecondaryIndexes: MAIN_TABLE.indexes.map((index) => ({
        IndexName: index.name,
        KeySchema: [
          { AttributeName: index.partitionKey, KeyType: 'HASH' },
          { AttributeName: index.sortKey, KeyType: 'RANGE' },
        ],
        Projection: { ProjectionType: 'ALL' },
      })),
    }),
  );
}

describe('local table (DynamoDB Local data dirs persist between `npm start`s)', () => {
  it('migrates a table whose indexes projected ALL: the defined projections, every item kept and indexed', async () => {
    const ddb = client();
    const tableName = `old-${randomUUID().slice(0, 8)}`;
    await createOldTable(ddb, tableName);
    for (let i = 0; i < 30; i++) {
      await ddb.send(
        new PutItemCommand({
          TableName: tableName,
          Item: { pk: { S: `TASK#${i}` }, sk: { S: 'TASK' }, pendpk: { S: 'PENDING#u1' }, pendsk: { S: `5#${String(i).padStart(3, '0')}` }, title: { S: `task ${i}` } },
        }),
      );
    }

    expect(await ensureTable(inject('dynamodbEndpoint'), tableName)).toBe('migrated');

    const described = await ddb.send(new DescribeTableCommand({ TableName: tableName }));
    const projections = Object.fromEntries((described.Table?.GlobalSecondaryIndexes ?? []).map((index) => [index.IndexName, index.Projection]));
    for (const index of MAIN_TABLE.indexes) {
      expect(projections[index.name]?.ProjectionType).toBe(apiProjection(index).ProjectionType);
      expect([...(projections[index.name]?.NonKeyAttributes ?? [])].sort()).toEqual([...(apiProjection(index).NonKeyAttributes ?? [])].sort());
    }
    const pending = await ddb.send(new QueryCommand({ TableName: tableName, IndexName: 'pending', KeyConditionExpression: 'pendpk = :p', ExpressionAttributeValues: { ':p': { S: 'PENDING#u1' } } }));
    expect(pending.Items?.map((item) => item.pk?.S)).toEqual(Array.from({ length: 30 }, (_, i) => `TASK#${i}`));
    // Keys only now: the index entry no longer carries the title; the table item still does.
    expect(pending.Items?.[0]?.title).toBeUndefined();

    // A second start finds the table as defined and keeps it.
    expect(await ensureTable(inject('dynamodbEndpoint'), tableName)).toBe('kept');
    ddb.destroy();
  });
});

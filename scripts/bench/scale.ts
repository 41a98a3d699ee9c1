import type { LifecycleCost } from './lifecycle.js';

/*
 * What the bench's consumed-capacity metering says about AWS: where the hottest partition key
 * throttles, and what a task lifecycle costs at on-demand prices (docs/performance.md, "Capacity").
 */

/**
 * Indexes whose partition keys are shared by every user, and which shard count spreads them: READY
 * (SCHEDULER_SHARDS), and on `due` the task's sweep deadline SWEEP (SWEEP_SHARDS), which is all a
 * lifecycle writes there (DEFERRED is written only for users waiting for a time or an hours reset).
 */
const SHARED_KEYS: Record<string, { key: string; shards: 'scheduler' | 'sweep' }> = {
  ready: { key: 'READY#<n>', shards: 'scheduler' },
  due: { key: 'SWEEP#<n>', shards: 'sweep' },
};

export interface HotKey {
  key: string;
  /** WCU that one partition key takes per claim, all else spread over users and tasks. */
  wcu: number;
  breakdown: string;
}

/**
 * The partition key that takes the largest share of write capacity per claim. Keys of one user
 * or one task (the table's USER#/TASK# items, PENDING#<user>, USER#<user>[#STATUS#]) take a
 * share that shrinks with the number of users; the shared scheduler keys take 1/shards of their
 * index's writes each (ids hash uniformly). One lifecycle holds one claim.
 */
export function hotKeyPerClaim(cost: LifecycleCost, shardCounts: { scheduler: number; sweep: number }): HotKey | null {
  const byIndex = cost.total.writeUnitsByIndex;
  const indexes = Object.keys(byIndex).filter((name) => name !== 'table');
  if (indexes.length === 0) return null;
  let hottest: HotKey | null = null;
  for (const [index, { key, shards: kind }] of Object.entries(SHARED_KEYS)) {
    const shards = Math.max(1, shardCounts[kind]);
    const wcu = (byIndex[index] ?? 0) / shards;
    if (!hottest || wcu > hottest.wcu) hottest = { key: `${index} ${key} (${shards} shards)`, wcu, breakdown: '' };
  }
  if (!hottest) return null;
  hottest.breakdown = Object.entries(byIndex).map(([name, wcu]) => `${name} ${wcu.toFixed(1)}`).join(', ');
  return hottest;
}

/** us-east-1 on-demand prices (USD), as stated with their date in docs/performance.md. */
export const PRICES = {
  dynamoWriteRequestUnit: 0.625 / 1e6,
  dynamoReadRequestUnit: 0.125 / 1e6,
  lambdaRequest: 0.2 / 1e6,
  lambdaArmGbSecond: 0.0000133334,
  sqsRequest: 0.4 / 1e6,
  httpApiRequest: 1.0 / 1e6,
};

/**
 * One lifecycle's AWS requests besides DynamoDB (counted from the code path, not metered):
 * HTTP API create + complete; Lambda: api x2, authorizer x1 (create; the callback carries its
 * own token), orchestrator x1, spawner x1, each ~100 ms at 512 MB; SQS: wake send/receive/delete
 * at create and at slot freed, spawn send/receive/delete.
 */
export const LIFECYCLE_REQUESTS = { httpApi: 2, lambdaInvocations: 5, lambdaGbSeconds: 5 * 0.1 * 0.5, sqs: 9 };

export function lifecycleCostUsd(cost: LifecycleCost): { total: number; note: string } {
  const perMillion = 1e6;
  const dynamo = (cost.total.writeUnits * PRICES.dynamoWriteRequestUnit + cost.total.readUnits * PRICES.dynamoReadRequestUnit) * perMillion;
  const lambda = (LIFECYCLE_REQUESTS.lambdaInvocations * PRICES.lambdaRequest + LIFECYCLE_REQUESTS.lambdaGbSeconds * PRICES.lambdaArmGbSecond) * perMillion;
  const sqs = LIFECYCLE_REQUESTS.sqs * PRICES.sqsRequest * perMillion;
  const http = LIFECYCLE_REQUESTS.httpApi * PRICES.httpApiRequest * perMillion;
  return {
    total: dynamo + lambda + sqs + http,
    note: `DynamoDB ${dynamo.toFixed(1)} (${cost.total.writeUnits.toFixed(0)} WRU + ${cost.total.readUnits.toFixed(0)} RRU), Lambda ${lambda.toFixed(1)}, SQS ${sqs.toFixed(1)}, HTTP API ${http.toFixed(1)}`,
  };
}

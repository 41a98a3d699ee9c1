import { BatchWriteCommand } from '@aws-sdk/lib-dynamodb';
import { ddb } from '../../src/platform/aws.js';
import { getConfig } from '../../src/platform/config.js';
import { billingWindow } from '../../src/accounts/billing-window.js';
import { getUser, listDueDeferredUserIds, putUserItem } from '../../src/accounts/user-store.js';
import { promoteDueUsers } from '../../src/scheduling/claim.js';
import { useFreshTable, type EmulatorEndpoints } from './environment.js';
import { backlogAccount, benchUserId } from './seed.js';
import { mapLimit } from './stats.js';

export interface PromotionResult {
  users: number;
  /** Seconds from the reset until the last due user was re-filed as ready. */
  seconds: number;
  passes: number;
  /** Users still due after the passes (must be 0). */
  leftDue: number;
}

/**
 * Every user on the default billing day resets at 00:00 UTC on the 1st: `users` accounts whose
 * hours ran out last month are all due at once. Measures how long the promotion passes take to
 * re-file every one of them (the orchestrator's and the sweeper's passes each promote).
 */
export async function measurePromotion(endpoints: EmulatorEndpoints, users: number, log: (line: string) => void): Promise<PromotionResult> {
  await useFreshTable(endpoints);
  const reset = billingWindow(new Date(), 1).start;
  const lastMonth = new Date(reset.getTime() - 86_400_000);
  const items = Array.from({ length: users }, (_, i) => {
    const account = { ...backlogAccount(benchUserId('promote', i), { users, tasksPerUser: 1, plan: 'free' }, 1, lastMonth), hours_used_seconds: 10 * 3600 };
    const item = putUserItem(account, lastMonth).Put?.Item;
    if (!item) throw new Error('user store returned no Put item');
    return item;
  });
  const chunks: Record<string, unknown>[][] = [];
  for (let i = 0; i < items.length; i += 25) chunks.push(items.slice(i, i + 25));
  await mapLimit(chunks, 8, async (chunk) => {
    await ddb().send(new BatchWriteCommand({ RequestItems: { [getConfig().tableName]: chunk.map((Item) => ({ PutRequest: { Item } })) } }));
  });
  const now = new Date(reset.getTime() + 1_000);
  const due = (await listDueDeferredUserIds(now, users + 1)).length;
  log(`  ${due} of ${users} users due at the reset`);
  const started = performance.now();
  let passes = 0;
  while (passes < 10 && (await listDueDeferredUserIds(now, 1)).length > 0) {
    await promoteDueUsers(now);
    passes += 1;
  }
  const seconds = (performance.now() - started) / 1000;
  const leftDue = (await listDueDeferredUserIds(now, users + 1)).length;
  // Spot check: a promoted account is in the new window.
  const sample = await getUser(benchUserId('promote', users - 1), now);
  if (sample.hours_window !== billingWindow(now, 1).key) throw new Error('promotion did not roll the hours window');
  return { users, seconds, passes, leftDue };
}

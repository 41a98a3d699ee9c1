import { ddb } from '../../src/platform/aws.js';
import { claimNextTasks } from '../../src/scheduling/claim.js';
import { DynamoDbMeter, subtractReadings } from './ddb-meter.js';
import { useFreshTable, useTable, type EmulatorEndpoints, type FreshTable } from './environment.js';
import { seedBacklog } from './seed.js';
import { median } from './stats.js';

export interface BacklogCost {
  backlog: number;
  users: number;
  claims: number;
  requestsPerClaim: number;
  readUnitsPerClaim: number;
  /** Median over rounds of the milliseconds one claim took. */
  msPerClaim: number;
}

export interface BacklogConfig {
  sizes: [number, number];
  tasksPerUser: number;
  /** Claims measured per backlog, in rounds that alternate between the backlogs. */
  claims: number;
  round: number;
}

/**
 * The cost of one claim (DynamoDB requests, capacity, time) with a small and a large backlog of
 * pending tasks, both in the same DynamoDB Local. Rounds alternate between the two tables so a
 * noisy machine slows both alike; the ratio large/small is what the design promises stays ~1.
 */
export async function measureBacklogCost(endpoints: EmulatorEndpoints, config: BacklogConfig, log: (line: string) => void): Promise<BacklogCost[]> {
  const now = new Date();
  const tables: FreshTable[] = [];
  for (const size of config.sizes) {
    const users = Math.ceil(size / config.tasksPerUser);
    const table = await useFreshTable(endpoints);
    const started = performance.now();
    await seedBacklog(`backlog${size}`, { users, tasksPerUser: config.tasksPerUser, plan: 'enterprise' }, now);
    log(`  seeded ${size} pending tasks (${users} users) in ${Math.round(performance.now() - started)} ms`);
    tables.push(table);
  }
  const meter = new DynamoDbMeter();
  meter.install(ddb());
  const results = config.sizes.map((size) => ({ size, claims: 0, requests: 0, readUnits: 0, roundMs: [] as number[] }));
  while (results.some((r) => r.claims < config.claims)) {
    for (const [index, result] of results.entries()) {
      if (result.claims >= config.claims) continue;
      useTable(tables[index] as FreshTable);
      const before = meter.snapshot();
      const started = performance.now();
      const pass = await claimNextTasks({ maxClaims: Math.min(config.round, config.claims - result.claims) });
      const elapsed = performance.now() - started;
      if (pass.claimed.length === 0) throw new Error(`no claims with a backlog of ${result.size}`);
      const reading = subtractReadings(meter.snapshot(), before);
      result.claims += pass.claimed.length;
      result.requests += reading.requests;
      result.readUnits += reading.readUnits;
      result.roundMs.push(elapsed / pass.claimed.length);
    }
  }
  return results.map((r) => ({
    backlog: r.size,
    users: Math.ceil(r.size / config.tasksPerUser),
    claims: r.claims,
    requestsPerClaim: r.requests / r.claims,
    readUnitsPerClaim: r.readUnits / r.claims,
    msPerClaim: median(r.roundMs),
  }));
}

/*
 * CPU (this process + DynamoDB Local) per claim when one TransactWriteItems carries 1, 2, 4 or 8
 * claim-shaped writes (each claim: the task Put conditioned on status and attempts, the account
 * Put conditioned on version), 4 streams at once: what group commit saves (group-commit.ts).
 *   npx tsx scripts/bench/group-costs.ts [--rounds N]
 */
import { startEmulators, useFreshTable, useTable } from './environment.js';
import { seedBacklog } from './seed.js';
import { cpuMeter } from './cpu.js';
import { putUserItem } from '../../src/accounts/user-store.js';
import { putTaskItem } from '../../src/tasks/task-store.js';
import { transact, type TransactItem } from '../../src/platform/dynamodb/transact.js';
import { accountForTransition, rollHoursWindow } from '../../src/accounts/account.js';
import type { Task } from '../../src/tasks/task.js';

const rounds = Number(process.argv[process.argv.indexOf('--rounds') + 1] ?? 2) || 2;
const USERS = 200;
const CLAIMS = 400;
const emulators = await startEmulators();
try {
  useTable(await useFreshTable(emulators));
  const backlog = await seedBacklog('gc', { users: USERS, tasksPerUser: 50, plan: 'enterprise' }, new Date());
  const users = backlog.users.map((entry) => ({ account: entry.account, tasks: [...entry.tasks] }));
  let next = 0;
  const claimItems = (): TransactItem[] => {
    const entry = users[next++ % USERS] as (typeof users)[number];
    const task = entry.tasks.shift() as Task;
    const now = new Date();
    const claimed: Task = { ...task, status: 'claimed', claimed_at: now.toISOString(), attempts: task.attempts + 1 };
    entry.account = accountForTransition(rollHoursWindow(entry.account, now), task, claimed, now);
    return [putTaskItem(claimed, { status: 'pending', attempts: task.attempts }), putUserItem(entry.account, now)];
  };
  for (let round = 0; round < rounds; round++) {
    for (const group of [1, 2, 4, 8]) {
      let left = CLAIMS / group;
      const cpu = cpuMeter(emulators.dynamodbPid);
      const started = performance.now();
      await Promise.all(
        Array.from({ length: 4 }, async () => {
          while (left-- > 0) await transact(Array.from({ length: group }, claimItems).flat());
        }),
      );
      const used = cpu.read();
      const per = (ms: number | null) => (ms === null ? 'n/a' : (ms / CLAIMS).toFixed(2));
      console.log(JSON.stringify({ round, claimsPerTransaction: group, cpuMsPerClaim: { node: per(used.node), dynamodb: per(used.dynamodb) }, wallMsPerClaim: ((performance.now() - started) / CLAIMS).toFixed(2) }));
    }
  }
} finally {
  await emulators.stop();
}

/* Throughput of claims beside raw transactions only (issue 13's claim rows), quick or full sizes. */
import { startEmulators } from './environment.js';
import { measureThroughput } from './throughput.js';

const full = process.argv.includes('--full');
const runs = Number(process.argv[process.argv.indexOf('--runs') + 1] ?? 1) || 1;
const config = full
  ? { shape: { users: 200, tasksPerUser: 50, plan: 'enterprise' as const }, operations: 600 }
  : { shape: { users: 40, tasksPerUser: 10, plan: 'enterprise' as const }, operations: 100 };
const emulators = await startEmulators();
try {
  for (let run = 0; run < runs; run++) {
    const r = await measureThroughput(emulators, config, () => undefined);
    console.log(JSON.stringify({
      o1: +(r.claimsPerSecond.o1 / r.rawPerSecond.c1).toFixed(3),
      o4: +(r.claimsPerSecond.o4 / r.rawPerSecond.c4).toFixed(3),
      reqPerClaim: { o1: +r.perClaimRequests.o1.toFixed(2), o4: +r.perClaimRequests.o4.toFixed(2) },
      byCommand: Object.fromEntries(Object.entries(r.perClaimByCommand).map(([lane, split]) => [lane, Object.fromEntries(Object.entries(split).map(([command, n]) => [command, +n.toFixed(2)]))])),
      lost: r.conflicts,
      claims: r.claims,
      queueHeads: r.queueHeads,
      cpuMs: Object.fromEntries(Object.entries(r.cpuMsPerOperation).map(([lane, cpu]) => [lane, { node: +cpu.node.toFixed(2), dynamodb: cpu.dynamodb === null ? null : +cpu.dynamodb.toFixed(2) }])),
      perSecond: { c1: Math.round(r.rawPerSecond.c1), c4: Math.round(r.rawPerSecond.c4), o1: Math.round(r.claimsPerSecond.o1), o4: Math.round(r.claimsPerSecond.o4) },
    }));
  }
} finally {
  await emulators.stop();
}

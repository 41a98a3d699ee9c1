/* The latency rows alone (issue 13's created and slot rows), full sizes, `--runs N` times on one pair of emulators; each run warms its stack first as the bench does, unless `--cold`. */
import { startEmulators } from './environment.js';
import { measureHttpLatency } from './latency.js';

process.env.POWERTOOLS_LOG_LEVEL ??= 'SILENT';
const runs = Number(process.argv[process.argv.indexOf('--runs') + 1] ?? 1) || 1;
const emulators = await startEmulators();
try {
  for (let run = 0; run < runs; run++) {
    const r = await measureHttpLatency(emulators, { creations: 100, slotUsers: 10, tasksPerUser: 6, warmupCreations: process.argv.includes('--cold') ? 0 : 20, timeoutMs: 240_000 }, () => undefined);
    const ms = (value: number) => Math.round(value);
    console.log(JSON.stringify({
      created: { p50: ms(r.createdToClaimed.p50), p99: ms(r.createdToClaimed.p99) },
      slot: { p50: ms(r.slotFreedToClaimed.p50), p95: ms(r.slotFreedToClaimed.p95), p99: ms(r.slotFreedToClaimed.p99) },
    }));
  }
} finally {
  await emulators.stop();
}

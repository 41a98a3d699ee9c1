import { inject, describe, expect, it } from 'vitest';
import { lambdaEntries } from '../../scripts/bench/bundles.js';
import { runBench } from '../../scripts/bench/run.js';

/*
 * `npm run bench` in its smallest mode, in-process on the suite's emulators: every section runs
 * and yields its rows. No timing thresholds here: figures are read from the full bench.
 */
describe('bench (smoke mode)', () => {
  it('measures every row of the table in one run', async () => {
    const report = await runBench({ mode: 'smoke', endpoints: { dynamodb: inject('dynamodbEndpoint'), sqs: inject('sqsEndpoint') } });

    const expected = [
      'throughput.raw.c1',
      'throughput.raw.c4',
      'throughput.claims.o1',
      'throughput.claims.o4',
      'throughput.ratio.o1',
      'throughput.ratio.o4',
      'throughput.claim_split',
      ...['c1', 'c4', 'o1', 'o4'].map((lane) => `throughput.cpu_ms.${lane}`),
      ...['created', 'slot'].flatMap((kind) => ['p50', 'p95', 'p99'].map((p) => `latency.${kind}.${p}`)),
      ...['create', 'claim', 'running', 'complete'].map((phase) => `lifecycle.${phase}.requests`),
      'lifecycle.requests',
      'lifecycle.writes',
      'lifecycle.rcu',
      'lifecycle.wcu',
      'backlog.100.requests',
      'backlog.100.ms',
      'backlog.300.requests',
      'backlog.300.ms',
      'backlog.ratio.requests',
      'backlog.ratio.ms',
      ...['create', 'list', 'estimate'].flatMap((name) => [`handler.${name}.p50`, `handler.${name}.p99`]),
      ...lambdaEntries().flatMap(({ name }) => [`bundle.${name}.kb`, `bundle.${name}.init`]),
      'scale.hot_key_wcu_per_claim',
      'scale.aws_claims_ceiling',
      'cost.usd_per_million_tasks',
      'promotion.due_at_once.seconds',
      'promotion.due_at_once.left',
    ];
    const ids = report.rows.map((row) => row.id);
    expect(ids).toEqual(expect.arrayContaining(expected));
    for (const row of report.rows) {
      // Only a route that does not exist yet may be n/a.
      if (row.value === null) expect(row.note, row.id).toContain('route not in');
      else expect(Number.isFinite(row.value), `${row.id} = ${row.value}`).toBe(true);
    }
    // A lifecycle writes something in each phase, and the claims were real.
    expect(report.details.lifecycle.total.writes).toBeGreaterThanOrEqual(4);
    expect(report.details.throughput.claims.o4).toBeGreaterThan(0);
  }, 300_000);
});

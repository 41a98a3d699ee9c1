/**
 * `npm run chaos -- --seed N [--users U] [--tasks T] [--steps S] [--faults all|none|lag|throttle]
 * [--trace] [--json]`: a seeded chaos run on this process's own in-memory DynamoDB Local and SQS
 * server, then the invariant checker. The DynamoDB faults (lagged index reads, throttling) are on
 * unless `--faults` says otherwise. Exit code 0 only if every violation count is 0.
 */
import { parseArgs } from 'node:util';

process.env.POWERTOOLS_LOG_LEVEL ??= 'SILENT';
process.env.POWERTOOLS_METRICS_DISABLED ??= 'true';

const { values } = parseArgs({
  options: {
    seed: { type: 'string', default: '1' },
    users: { type: 'string' },
    tasks: { type: 'string' },
    steps: { type: 'string' },
    faults: { type: 'string', default: 'all' },
    trace: { type: 'boolean', default: false },
    json: { type: 'boolean', default: false },
  },
});

function positiveInteger(name: string, value: string | undefined, fallback: number): number {
  if (value === undefined) return fallback;
  const parsed = Number(value);
  if (!Number.isInteger(parsed) || parsed < 0) throw new Error(`--${name} must be a whole number (got "${value}")`);
  return parsed;
}

const FAULT_CHOICES = {
  all: { laggedIndexes: true, throttling: true },
  none: { laggedIndexes: false, throttling: false },
  lag: { laggedIndexes: true, throttling: false },
  throttle: { laggedIndexes: false, throttling: true },
} as const;

function faultChoice(value: string | undefined) {
  const choice = FAULT_CHOICES[(value ?? 'all') as keyof typeof FAULT_CHOICES];
  if (!choice) throw new Error(`--faults must be one of ${Object.keys(FAULT_CHOICES).join(', ')} (got "${value}")`);
  return choice;
}

async function main(): Promise<number> {
  const { DEFAULT_CHAOS, runChaos } = await import('./chaos/harness.js');
  const { formatChaosReport } = await import('./chaos/format.js');
  const options = {
    seed: positiveInteger('seed', values.seed, 1),
    users: positiveInteger('users', values.users, DEFAULT_CHAOS.users),
    tasks: positiveInteger('tasks', values.tasks, DEFAULT_CHAOS.tasks),
    steps: positiveInteger('steps', values.steps, DEFAULT_CHAOS.steps),
    faults: faultChoice(values.faults),
  };
  const started = Date.now();
  const report = await runChaos({
    ...options,
    trace: values.trace ? (line) => console.error(line) : undefined,
    log: (line) => console.error(line),
  });
  if (values.json) console.log(JSON.stringify(report, null, 2));
  else console.log(formatChaosReport(report, Date.now() - started));
  return report.violations === 0 ? 0 : 1;
}

main().then(
  (code) => process.exit(code),
  (error: unknown) => {
    console.error(error);
    process.exit(2);
  },
);

import { spawn } from 'node:child_process';
import { mkdtempSync, readdirSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { build } from 'esbuild';
import { LAMBDA_BUNDLE } from '../../lib/constructs/bundling.js';
import { median } from './stats.js';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '../..');

export interface BundleFigures {
  name: string;
  bytes: number;
  /** Median over fresh `node` processes of the time `import()` of the bundle took. */
  initMs: number;
}

/** Every Lambda entry: functions/<name>/handler.ts. */
export function lambdaEntries(): { name: string; entry: string }[] {
  const dir = join(root, 'functions');
  return readdirSync(dir)
    .filter((name) => statSync(join(dir, name, 'handler.ts'), { throwIfNoEntry: false })?.isFile())
    .sort()
    .map((name) => ({ name, entry: join(dir, name, 'handler.ts') }));
}

const IMPORT_TIMER = [
  'const started = performance.now();',
  'await import(process.argv[1]);',
  'process.stdout.write(String(performance.now() - started));',
].join(' ');

/** What the stack gives every function at cold start (values are placeholders: nothing is called at init). */
const LAMBDA_ENVIRONMENT = {
  AWS_REGION: 'us-east-1',
  POWERTOOLS_SERVICE_NAME: 'nightshift',
  POWERTOOLS_METRICS_NAMESPACE: 'Nightshift',
  TABLE_NAME: 'nightshift-main',
  SPAWN_QUEUE_URL: 'https://sqs.us-east-1.amazonaws.com/000000000000/spawn',
  SPAWN_DLQ_URL: 'https://sqs.us-east-1.amazonaws.com/000000000000/spawn-dlq',
  WAKE_QUEUE_URL: 'https://sqs.us-east-1.amazonaws.com/000000000000/wake',
  JWKS_URL: 'https://auth.example.com/.well-known/jwks.json',
  JWT_ISSUER: 'https://auth.example.com/',
  JWT_AUDIENCE: 'nightshift',
};

/** Imports the bundle in a fresh Node process (as a Lambda cold start does) and returns the milliseconds. */
function timeImport(file: string): Promise<number> {
  return new Promise((resolveTime, reject) => {
    // --enable-source-maps: the stack sets it in NODE_OPTIONS, and it makes Node read the map at load.
    const child = spawn(process.execPath, ['--enable-source-maps', '--input-type=module', '-e', IMPORT_TIMER, pathToFileURL(file).href], {
      env: { PATH: process.env.PATH ?? '', ...LAMBDA_ENVIRONMENT },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let out = '';
    let err = '';
    const timer = setTimeout(() => child.kill('SIGKILL'), 30_000);
    child.stdout.on('data', (chunk: Buffer) => (out += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => (err += chunk.toString()));
    child.on('error', reject);
    child.on('close', (code) => {
      clearTimeout(timer);
      const ms = Number(out);
      if (code !== 0 || !Number.isFinite(ms)) reject(new Error(`importing ${file} failed (exit ${code}): ${err.slice(0, 500)}`));
      else resolveTime(ms);
    });
  });
}

/** Bundles each Lambda like the CDK stack does, then times its module initialisation `runs` times. */
export async function measureBundles(runs: number): Promise<BundleFigures[]> {
  const outdir = mkdtempSync(join(tmpdir(), 'nightshift-bundles-'));
  try {
    const figures: BundleFigures[] = [];
    for (const { name, entry } of lambdaEntries()) {
      const outfile = join(outdir, name, 'index.mjs');
      await build({
        entryPoints: [entry],
        outfile,
        bundle: true,
        // The same options as lib/constructs/nightshift-function.ts (NodejsFunction) bundles with.
        ...LAMBDA_BUNDLE,
        mainFields: [...LAMBDA_BUNDLE.mainFields],
        alias: { ...LAMBDA_BUNDLE.alias },
        banner: { js: LAMBDA_BUNDLE.banner },
        logLevel: 'silent',
      });
      const samples: number[] = [];
      for (let i = 0; i < runs; i++) samples.push(await timeImport(outfile));
      figures.push({ name, bytes: statSync(outfile).size, initMs: median(samples) });
    }
    return figures;
  } finally {
    rmSync(outdir, { recursive: true, force: true });
  }
}

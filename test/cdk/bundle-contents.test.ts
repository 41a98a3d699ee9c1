import { build } from 'esbuild';
import { beforeAll, describe, expect, it } from 'vitest';
import { LAMBDA_BUNDLE } from '../../lib/constructs/bundling.js';
import { lambdaEntries } from '../../scripts/bench/bundles.js';

/*
 * Each Lambda bundles only what it uses (docs/performance.md, "Bundles"): the bundle inputs are
 * read from esbuild's metafile, with the same options the stack bundles with.
 */
const inputs = new Map<string, string[]>();

beforeAll(async () => {
  for (const { name, entry } of lambdaEntries()) {
    const result = await build({
      entryPoints: [entry],
      bundle: true,
      write: false,
      outfile: `/nonexistent/${name}/index.mjs`,
      metafile: true,
      ...LAMBDA_BUNDLE,
      mainFields: [...LAMBDA_BUNDLE.mainFields],
      alias: { ...LAMBDA_BUNDLE.alias },
      banner: { js: LAMBDA_BUNDLE.banner },
      logLevel: 'silent',
    });
    inputs.set(name, Object.keys(result.metafile.inputs));
  }
}, 120_000);

const functionsWith = (pattern: RegExp): string[] => [...inputs].filter(([, files]) => files.some((file) => pattern.test(file))).map(([name]) => name).sort();

describe('Lambda bundle contents', () => {
  it('no function carries the SDK credential chain (SSO, INI, STS): Lambda gives credentials in the environment', () => {
    expect(functionsWith(/credential-provider-(node|ini|sso)|client-sso|nested-clients/)).toEqual([]);
  });

  it('no function carries the process sandbox provider, which runs only on one machine', () => {
    expect(functionsWith(/src\/sandbox\/(process-provider|git-workspace|from-environment)\.ts$/)).toEqual([]);
  });

  it('only functions that start, stop or read sandboxes carry the cloud providers', () => {
    expect(functionsWith(/@aws-sdk\/client-ecs\//)).toEqual(['api', 'spawn-dlq', 'spawner', 'sweeper']);
  });

  it('only the API, which reads patches and logs, carries the S3 client', () => {
    expect(functionsWith(/@aws-sdk\/client-s3\//)).toEqual(['api']);
  });

  it('the cron library only where batches are created or triggered, and where digests are timed in users\' zones', () => {
    expect(functionsWith(/node_modules\/croner\//)).toEqual(['api', 'batch-trigger', 'digest-trigger']);
  });

  it('no function carries luxon or cron-parser: croner reads time zones through Intl', () => {
    expect(functionsWith(/node_modules\/(luxon|cron-parser)\//)).toEqual([]);
  });
});

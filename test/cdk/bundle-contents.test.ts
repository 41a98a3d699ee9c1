import { build } from 'esbuild';
import { beforeAll, describe, expect, it } from 'vitest';
import { LAMBDA_BUNDLE } from '../../lib/constructs/bundling.js';
import { lambdaEntries } from '../../scripts/bench/bundles.js';

/*
 * Each Lambda bundles only what it uses (docs/performance.md, "Bundles"): the bundle inputs are
 * read from esbuild's metafile, with the same options the stack bundles with. A file counts when
 * at least MIN_BYTES of it reach the output: esbuild lists tree-shaken files with 0 bytes, and
 * keeps a stray constant of a module imported for nothing it uses (15 bytes of croner in the core
 * API, from src/batches/eta.ts), which is not the library.
 */
const MIN_BYTES = 256;
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
    const output = Object.values(result.metafile.outputs).find((candidate) => candidate.entryPoint !== undefined);
    inputs.set(name, Object.entries(output?.inputs ?? {}).filter(([, input]) => input.bytesInOutput >= MIN_BYTES).map(([file]) => file));
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

  it('only functions that start, stop or read sandboxes carry the cloud providers (of the API: cancel, callback, logs; a batch cancel hands its stops to the spawner)', () => {
    expect(functionsWith(/@aws-sdk\/client-ecs\//)).toEqual(['api-sandbox', 'spawn-dlq', 'spawner', 'sweeper']);
    expect(functionsWith(/src\/sandbox\/(ecs|daytona)-provider\.ts$/)).toEqual(['api-sandbox', 'spawn-dlq', 'spawner', 'sweeper']);
  });

  it("only the API's sandbox group, which reads patches and logs, carries an S3 client: Lambda's own (lambda-s3.ts), not the SDK's", () => {
    expect(functionsWith(/@aws-sdk\/client-s3\/|fast-xml-parser/)).toEqual([]);
    expect(functionsWith(/src\/platform\/lambda-s3\.ts$/)).toEqual(['api-sandbox']);
  });

  it('the cron library only where batches are created or triggered, and where digests are timed in users\' zones', () => {
    expect(functionsWith(/node_modules\/croner\//)).toEqual(['api-schedules', 'batch-trigger', 'digest-trigger']);
  });

  it("EventBridge Scheduler only in the API's schedules group, through the small Lambda client instead of the SDK's", () => {
    expect(functionsWith(/src\/platform\/lambda-scheduler\.ts$/)).toEqual(['api-schedules']);
    expect(functionsWith(/@aws-sdk\/client-scheduler\//)).toEqual([]);
  });

  it('the OpenAPI document (and its JSON Schema generation) only in its own function, which carries no S3, ECS, SQS, Scheduler or Secrets Manager client', () => {
    expect(functionsWith(/src\/contract\/openapi\.ts$/)).toEqual(['api-openapi']);
    expect(functionsWith(/@aws-sdk\/client-(s3|ecs|sqs|scheduler|secrets-manager)\//)).not.toContain('api-openapi');
  });

  it('no function carries luxon or cron-parser: croner reads time zones through Intl', () => {
    expect(functionsWith(/node_modules\/(luxon|cron-parser)\//)).toEqual([]);
  });
});

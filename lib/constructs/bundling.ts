import path from 'node:path';
import { fileURLToPath } from 'node:url';

/** Repository root: entries, package-lock.json and tsconfig.json are resolved from here. */
export const PROJECT_ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');

// ESM bundles have no `require`; some CommonJS dependencies (and the SDK's) still call it.
export const ESM_REQUIRE_BANNER =
  "import { createRequire as __nightshiftCreateRequire } from 'node:module'; const require = __nightshiftCreateRequire(import.meta.url);";

/**
 * Lambda hands every function its credentials in the environment: the SDK's default provider
 * chain (SSO, INI files, STS web identity, instance metadata) is swapped for the environment
 * alone, which takes about 90 KB out of every bundle. The artifact store's S3 calls (GetObject,
 * PutObject) go through src/platform/lambda-s3.ts instead of the SDK's S3 client, its XML
 * protocol and parser: about 190 KB of the API's sandbox function; EventBridge Scheduler's two
 * calls (CreateSchedule, DeleteSchedule) go through src/platform/lambda-scheduler.ts. Absolute paths: esbuild
 * resolves alias targets from its working directory, and the stack bundles locally (esbuild is a
 * dev dependency).
 */
export const BUNDLE_ALIASES: Record<string, string> = {
  '@aws-sdk/credential-provider-node': path.join(PROJECT_ROOT, 'src/platform/lambda-credentials.ts'),
  '@aws-sdk/client-s3': path.join(PROJECT_ROOT, 'src/platform/lambda-s3.ts'),
  '@aws-sdk/client-scheduler': path.join(PROJECT_ROOT, 'src/platform/lambda-scheduler.ts'),
};

/**
 * The esbuild options every Lambda is bundled with (NodejsFunction and the bench use the same):
 * ESM for Node 22, minified, the AWS SDK bundled, source maps without embedded sources (a
 * smaller map is faster to read at cold start under --enable-source-maps; the stack traces
 * still name file and line).
 */
export const LAMBDA_BUNDLE = {
  format: 'esm',
  platform: 'node',
  target: 'node22',
  mainFields: ['module', 'main'],
  minify: true,
  sourcemap: true,
  sourcesContent: false,
  banner: ESM_REQUIRE_BANNER,
  alias: BUNDLE_ALIASES,
} as const;

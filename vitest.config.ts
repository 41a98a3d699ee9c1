import { defineConfig } from 'vitest/config';

/*
 * Five projects: `unit` is pure (no network, no Java, no SQS server) and runs in seconds;
 * `integration` and `e2e` each start one DynamoDB Local and one SQS server (global-setup.ts);
 * `cdk` synthesizes the stack; `browser` drives the dashboard in headless Chromium (playwright-core, Debian's chromium) on one local stack. Every e2e answer is checked against docs/openapi.json (contract-fetch.ts). `npm test` runs all five.
 */
const shared = {
  testTimeout: 30_000,
  hookTimeout: 60_000,
  pool: 'forks' as const,
  env: { POWERTOOLS_LOG_LEVEL: 'SILENT', POWERTOOLS_METRICS_DISABLED: 'true' },
};

export default defineConfig({
  test: {
    projects: [
      { test: { ...shared, name: 'unit', include: ['test/unit/**/*.test.ts'] } },
      { test: { ...shared, name: 'integration', include: ['test/integration/**/*.test.ts'], globalSetup: ['test/support/global-setup.ts'] } },
      { test: { ...shared, name: 'e2e', include: ['test/e2e/**/*.test.ts'], globalSetup: ['test/support/global-setup.ts'], setupFiles: ['test/support/contract-fetch.ts'] } },
      { test: { ...shared, name: 'cdk', include: ['test/cdk/**/*.test.ts'] } },
      {
        test: {
          ...shared,
          name: 'browser',
          include: ['test/browser/**/*.test.ts'],
          globalSetup: ['test/support/global-setup.ts', 'test/browser/web-build-setup.ts'],
          testTimeout: 90_000,
          hookTimeout: 120_000,
        },
      },
    ],
  },
});

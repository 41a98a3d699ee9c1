/**
 * `npm start`: the whole of Nightshift on this machine, with no AWS account and no Docker.
 * Ctrl-C (or SIGTERM, or SIGHUP when its terminal closes) stops everything it started: sandboxes, the API, DynamoDB Local, the SQS server.
 * If it dies without stopping them (SIGKILL, a crash), its watchdog does; a DynamoDB Local still left on the data dir is stopped at the next start.
 */
import './local/start-defaults.js';
import { parseConfig } from '../src/platform/config.js';
import { installPrettyLogs } from './local/pretty-logs.js';
import { startLocalStack } from './local/stack.js';
import { keepServingWhenOutputCloses } from './local/closed-output.js';
import { startOrphanWatchdog } from './local/watchdog.js';
import { mkdirSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { ensureWebBuild } from './local/web-app.js';

keepServingWhenOutputCloses();
if (process.env.LOG_FORMAT !== 'json') installPrettyLogs();

async function main(): Promise<void> {
  parseConfig(process.env); // fail fast, naming the bad variable
  const port = Number(process.env.PORT ?? 3000);
  if (!Number.isInteger(port) || port < 1 || port > 65535) throw new Error(`PORT must be an integer from 1 to 65535 (got "${process.env.PORT}")`);
  const dataDir = process.env.NIGHTSHIFT_DATA_DIR ?? '.nightshift';
  await ensureWebBuild((line) => console.log(`nightshift: ${line}`));
  console.log(`nightshift: starting DynamoDB Local and the SQS server (data in ${dataDir}) ...`);
  mkdirSync(resolve(dataDir), { recursive: true });
  startOrphanWatchdog(join(resolve(dataDir), 'watchdog.log'), join(resolve(dataDir), 'sandboxes'));
  const stack = await startLocalStack({ port, dataDir, persist: true, log: (line) => console.error(`nightshift: ${line}`) });
  console.log(`nightshift: dashboard at ${stack.url}/ (sign in with a user id on this machine)`);
  console.log(`nightshift: API listening on ${stack.url}`);
  console.log(`nightshift: try  curl ${stack.url}/api/v1/health`);
  console.log(`nightshift: token  npm run --silent token -- alice`);
  let stopping = false;
  const stop = (signal: string) => {
    if (stopping) return;
    stopping = true;
    console.log(`nightshift: ${signal} received, stopping ...`);
    stack
      .stop()
      .then(() => process.exit(0))
      .catch((error: unknown) => {
        console.error(error);
        process.exit(1);
      });
  };
  process.on('SIGINT', () => stop('SIGINT'));
  process.on('SIGTERM', () => stop('SIGTERM'));
  // The terminal closed: stop like Ctrl-C rather than leave DynamoDB Local and sandboxes behind.
  process.on('SIGHUP', () => stop('SIGHUP'));
}

main().catch((error: unknown) => {
  console.error(`nightshift: ${error instanceof Error ? error.message : String(error)}`);
  process.exit(1);
});

import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { dynamoDbPidFile, freePort, startDynamoDbLocal } from '../../scripts/local/emulators.js';
import { localSecret, signLocalToken } from '../../scripts/local/local-auth.js';

/*
 * `npm start` killed with SIGKILL (no handler runs) must not leave DynamoDB Local or a sandbox
 * behind, and a DynamoDB Local that an earlier run did leave on the data dir is stopped at the
 * next start.
 */

const cleanups: (() => void)[] = [];
afterEach(() => {
  for (const cleanup of cleanups.splice(0)) cleanup();
});

const alive = (pid: number): boolean => {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
};

function descendantsOf(root: number): { pid: number; command: string }[] {
  const rows = spawnSync('ps', ['-A', '-o', 'pid=,ppid=,command='], { encoding: 'utf8' }).stdout.trim().split('\n');
  const parsed = rows.map((row) => {
    const [pid, ppid, ...command] = row.trim().split(/\s+/);
    return { pid: Number(pid), ppid: Number(ppid), command: command.join(' ') };
  });
  const found: { pid: number; command: string }[] = [];
  const queue = [root];
  while (queue.length > 0) {
    const parent = queue.shift();
    for (const row of parsed.filter((candidate) => candidate.ppid === parent)) {
      found.push({ pid: row.pid, command: row.command });
      queue.push(row.pid);
    }
  }
  return found;
}

async function until<T>(probe: () => T | undefined | false, what: string, timeoutMs: number): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = probe();
    if (value) return value;
    if (Date.now() > deadline) throw new Error(`${what} did not happen within ${timeoutMs} ms`);
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
}

describe('npm start killed with SIGKILL', () => {
  it('leaves neither DynamoDB Local nor a running sandbox behind', async () => {
    // Prepare: npm start's main process on a fresh data dir, running one task's sandbox.
    const dataDir = mkdtempSync(join(tmpdir(), 'nightshift-orphans-'));
    const port = await freePort();
    const main = spawn(process.execPath, ['--import', 'tsx', 'scripts/start.ts'], {
      cwd: process.cwd(),
      env: { ...process.env, PORT: String(port), NIGHTSHIFT_DATA_DIR: dataDir, SANDBOX_COMMAND: 'sleep 600', LOG_FORMAT: 'json', POLL_INTERVAL: '1' },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let output = '';
    main.stdout.on('data', (chunk: Buffer) => (output += chunk.toString()));
    main.stderr.on('data', (chunk: Buffer) => (output += chunk.toString()));
    const started: number[] = [];
    cleanups.push(() => {
      for (const pid of started) if (alive(pid)) process.kill(pid, 'SIGKILL');
      if (main.exitCode === null) main.kill('SIGKILL');
      rmSync(dataDir, { recursive: true, force: true });
    });
    await until(() => output.includes('API listening on'), `npm start (${output})`, 180_000);
    const token = await signLocalToken(localSecret(dataDir), 'orphan-owner');
    const created = await fetch(`http://127.0.0.1:${port}/api/v1/tasks`, {
      method: 'POST',
      headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
      body: JSON.stringify({ title: 'sleeps through the crash' }),
    });
    expect(created.status).toBe(201);
    const sandbox = await until(() => descendantsOf(main.pid!).find((p) => p.command.startsWith('sleep 600')), 'the sandbox start', 120_000);
    const dynamodbPid = Number(readFileSync(dynamoDbPidFile(join(dataDir, 'dynamodb')), 'utf8'));
    started.push(sandbox.pid, dynamodbPid);
    expect(alive(dynamodbPid)).toBe(true);

    // Act: no handler runs on SIGKILL.
    main.kill('SIGKILL');

    // Assess: the watchdog stopped both, and says so in its log.
    await until(() => !alive(dynamodbPid) && !alive(sandbox.pid), 'DynamoDB Local and the sandbox to stop', 30_000);
    expect(readFileSync(join(dataDir, 'watchdog.log'), 'utf8')).toContain('is gone');
  }, 300_000);
});

describe('a DynamoDB Local left running on the data dir by an earlier start', () => {
  it('is stopped at the next start, with a line saying so, and the new one serves', async () => {
    const dataDir = mkdtempSync(join(tmpdir(), 'nightshift-leftover-'));
    cleanups.push(() => rmSync(dataDir, { recursive: true, force: true }));
    // An earlier start whose process died before stopping its DynamoDB Local.
    await startDynamoDbLocal({ dataDir });
    const leftover = Number(readFileSync(dynamoDbPidFile(dataDir), 'utf8'));
    cleanups.unshift(() => alive(leftover) && process.kill(leftover, 'SIGKILL'));
    expect(alive(leftover)).toBe(true);

    const lines: string[] = [];
    const next = await startDynamoDbLocal({ dataDir, log: (line) => lines.push(line) });
    cleanups.unshift(() => void next.stop());

    expect(alive(leftover)).toBe(false);
    expect(lines.join('\n')).toContain(`stopping DynamoDB Local (pid ${leftover}) left running on`);
    const health = await fetch(next.endpoint, { method: 'POST', headers: { 'x-amz-target': 'DynamoDB_20120810.ListTables', 'content-type': 'application/x-amz-json-1.0', authorization: 'AWS4-HMAC-SHA256 Credential=S3RVER/20260101/us-east-1/dynamodb/aws4_request, SignedHeaders=host, Signature=0' }, body: '{}' });
    expect(health.status).toBeLessThan(500);
    await next.stop();
    expect(existsSync(dynamoDbPidFile(dataDir))).toBe(false);
  }, 300_000);
});

import { spawn } from 'node:child_process';
import { describe, expect, it } from 'vitest';

/**
 * A process that, like `npm start`, keeps logging, while the reader of its stdout goes away
 * after the first line (as `npm start | head -1` does).
 */
const CHILD = `
import { keepServingWhenOutputCloses } from './scripts/local/closed-output.ts';
import { writeFileSync } from 'node:fs';
if (process.env.PROTECT === '1') keepServingWhenOutputCloses();
let n = 0;
const timer = setInterval(() => {
  n += 1;
  console.log('log line ' + n);
  if (n === 40) { writeFileSync(process.env.DONE_FILE, 'still serving'); clearInterval(timer); }
}, 10);
`;

async function runWithClosedPipe(protect: boolean): Promise<{ code: number | null; stderr: string }> {
  const child = spawn(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', CHILD], {
    cwd: process.cwd(),
    env: { ...process.env, PROTECT: protect ? '1' : '0', DONE_FILE: `/tmp/closed-output-${process.pid}-${protect}` },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stderr = '';
  child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  // The reader goes away after the first line.
  child.stdout.once('data', () => child.stdout.destroy());
  const code = await new Promise<number | null>((resolve) => child.on('exit', (exitCode) => resolve(exitCode)));
  return { code, stderr };
}

describe('the local runtime when the pipe reading its output closes', () => {
  it('keeps running and exits normally instead of dying on EPIPE', async () => {
    const { readFileSync, rmSync } = await import('node:fs');
    const done = `/tmp/closed-output-${process.pid}-true`;
    rmSync(done, { force: true });

    const { code, stderr } = await runWithClosedPipe(true);

    expect(stderr).not.toContain('EPIPE');
    expect(code).toBe(0);
    expect(readFileSync(done, 'utf8')).toBe('still serving');
  });
});

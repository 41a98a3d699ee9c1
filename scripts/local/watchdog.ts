import { spawn } from 'node:child_process';
import type { Socket } from 'node:net';

/*
 * The watchdog is a tiny separate Node process (plain JavaScript, so it starts in milliseconds
 * without tsx). It notes, every second, which processes descend from `npm start`, and when
 * `npm start` is gone (its stdin pipe closes, or the parent pid stops answering) without having
 * stopped them, as after a SIGKILL or a crash, it stops them: sandbox process groups whole,
 * other children (DynamoDB Local) by pid. It runs in its own session, so Ctrl-C or a closing
 * terminal do not reach it before it has done its job.
 */
const WATCHDOG_SOURCE = String.raw`
const { execFileSync } = require('node:child_process');
const { appendFileSync, readdirSync, readFileSync, statSync } = require('node:fs');
const { join } = require('node:path');
const parent = Number(process.argv[1]);
const logFile = process.argv[2];
const sandboxesDir = process.argv[3];
const startedAt = Date.now();
const log = (line) => { try { appendFileSync(logFile, new Date().toISOString() + ' ' + line + '\n'); } catch {} };
const rows = () => execFileSync('ps', ['-A', '-o', 'pid=,ppid=,pgid='], { encoding: 'utf8' })
  .trim().split('\n').map((line) => line.trim().split(/\s+/).map(Number));
let parentGroup = -1;
const known = new Map();
function look() {
  try {
    const children = new Map();
    for (const [pid, ppid, pgid] of rows()) {
      if (pid === parent) parentGroup = pgid;
      if (!children.has(ppid)) children.set(ppid, []);
      children.get(ppid).push([pid, pgid]);
    }
    const seen = new Map();
    const queue = [parent];
    while (queue.length > 0) {
      for (const [pid, pgid] of children.get(queue.shift()) || []) {
        if (pid === process.pid || seen.has(pid)) continue;
        seen.set(pid, pgid);
        queue.push(pid);
      }
    }
    known.clear();
    for (const [pid, pgid] of seen) known.set(pid, pgid);
  } catch {}
}
const alive = (pid) => { try { process.kill(pid, 0); return true; } catch (error) { return error.code === 'EPERM'; } };
const signal = (name) => {
  for (const [pid, pgid] of known) {
    // A group the parent started for a sandbox goes whole; anything in the parent's own group goes alone.
    try { if (pgid === pid && pgid !== parentGroup) process.kill(-pgid, name); else process.kill(pid, name); } catch {}
  }
};
// Each sandbox the process provider starts writes its group id to sandboxes/<id>/pid: a group
// started since this watchdog began, and too recent for the last look, is found there.
function recordedSandboxGroups() {
  const groups = [];
  try {
    for (const name of readdirSync(sandboxesDir)) {
      try {
        const file = join(sandboxesDir, name, 'pid');
        if (statSync(file).mtimeMs < startedAt - 1000) continue;
        const pgid = Number(readFileSync(file, 'utf8'));
        if (Number.isInteger(pgid) && pgid > 1) groups.push(pgid);
      } catch {}
    }
  } catch {}
  return groups;
}
let reaping = false;
function reap(why) {
  if (reaping) return;
  reaping = true;
  clearInterval(timer);
  for (const pgid of recordedSandboxGroups()) if (!known.has(pgid)) known.set(pgid, pgid);
  const left = [...known.keys()].filter(alive);
  if (left.length > 0) log('npm start (pid ' + parent + ') is gone (' + why + '); stopping what it left running: pids ' + left.join(' '));
  signal('SIGTERM');
  const deadline = Date.now() + 3000;
  const check = setInterval(() => {
    if ([...known.keys()].some(alive) && Date.now() < deadline) return;
    signal('SIGKILL');
    clearInterval(check);
    process.exit(0);
  }, 100);
}
const timer = setInterval(() => { if (!alive(parent) || process.ppid !== parent) reap('parent exited'); else look(); }, 1000);
look();
process.stdin.on('end', () => reap('pipe closed'));
process.stdin.on('close', () => reap('pipe closed'));
process.stdin.on('error', () => reap('pipe closed'));
process.stdin.resume();
`;

/**
 * Starts the watchdog for this process (`npm start`): if this process ends without stopping
 * what it started, even by SIGKILL, DynamoDB Local and the sandboxes are stopped within about a
 * second. What it did goes to `logFile`.
 */
export function startOrphanWatchdog(logFile: string, sandboxesDir: string): { pid: number | undefined } {
  const child = spawn(process.execPath, ['-e', WATCHDOG_SOURCE, String(process.pid), logFile, sandboxesDir], {
    detached: true,
    stdio: ['pipe', 'ignore', 'ignore'],
  });
  // Neither the watchdog nor its pipe keeps this process alive; the pipe closes when it exits.
  child.unref();
  (child.stdin as unknown as Socket | null)?.unref();
  child.on('error', () => undefined);
  return { pid: child.pid };
}

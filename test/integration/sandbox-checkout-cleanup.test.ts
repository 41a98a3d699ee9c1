import { execFileSync, spawn } from 'node:child_process';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, realpathSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { ProcessSandboxProvider } from '../../src/sandbox/process-provider.js';
import { GitWorkspaces } from '../../src/sandbox/git-workspace.js';
import type { ArtifactStore } from '../../src/platform/artifact-store.js';
import type { SpawnRequest } from '../../src/sandbox/provider.js';

/**
 * Checkouts of repository tasks whose Nightshift died before it collected them: a real
 * `npm start` stand-in (a child process hosting the provider) is killed with SIGKILL while the
 * agent works, and the next incarnation must keep the patch and remove the worktree.
 */

const git = (cwd: string, ...args: string[]) => execFileSync('git', args, { cwd, encoding: 'utf8' });
/** tsx's loader in this very process (the `tsx` CLI would put a second process between us and the host). */
const tsxLoader = pathToFileURL(resolve('node_modules/tsx/dist/loader.mjs')).href;
const providerModule = resolve('src/sandbox/process-provider.ts');

let root: string;
let dataDir: string;
let origin: string;
let server: Server;
let callbackUrl: string;
const reports: Array<{ url: string; authorization: string | undefined; body: unknown }> = [];
const artifacts = new Map<string, string>();
const store: ArtifactStore = {
  put: async (key, body) => void artifacts.set(key, typeof body === 'string' ? body : Buffer.from(body).toString('utf8')),
  getText: async (key) => artifacts.get(key) ?? null,
};
const providers: ProcessSandboxProvider[] = [];
let counter = 0;

beforeAll(async () => {
  server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => {
      reports.push({ url: req.url ?? '', authorization: req.headers.authorization, body: JSON.parse(Buffer.concat(chunks).toString('utf8')) });
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end('{"ok":true}');
    });
  });
  await new Promise<void>((done) => server.listen(0, '127.0.0.1', done));
  callbackUrl = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});

afterAll(async () => {
  server.closeAllConnections();
  await new Promise<void>((done) => server.close(() => done()));
});

beforeEach(() => {
  root = realpathSync(mkdtempSync(join(tmpdir(), 'nightshift-crash-')));
  dataDir = join(root, 'data');
  origin = join(root, 'origin');
  mkdirSync(origin);
  git(origin, 'init', '--quiet', '-b', 'main');
  writeFileSync(join(origin, 'README.md'), 'hello\n');
  git(origin, 'add', '.');
  git(origin, '-c', 'user.name=Ann', '-c', 'user.email=ann@example.com', 'commit', '--quiet', '-m', 'first');
  artifacts.clear();
});

afterEach(async () => {
  await Promise.all(providers.map((provider) => provider.terminateAll()));
  providers.length = 0;
  rmSync(root, { recursive: true, force: true });
});

function spawnRequest(command: 'repo' | 'plain' = 'repo'): SpawnRequest {
  const id = `crash-${process.pid}-${++counter}`;
  return {
    task: {
      id,
      attempt: 1,
      title: 'Half-done work',
      description: '',
      user_id: 'u1',
      repository: command === 'repo' ? { url: origin, baseRef: 'main', branch: `nightshift/${id}`, push: true } : null,
    },
    timeoutSeconds: 120,
    callbackUrl: `${callbackUrl}/api/v1/tasks/${id}/complete`,
    callbackToken: `agent-token-${id}`,
    sandboxToken: `sandbox-token-${id}`,
  };
}

/** Starts the task in a child process standing for `npm start`, waits until the agent wrote its file, then kills that process. */
async function startAndCrash(request: SpawnRequest): Promise<{ pgid: number }> {
  const script = join(root, 'host.mts');
  writeFileSync(
    script,
    [
      `import { ProcessSandboxProvider } from ${JSON.stringify(providerModule)};`,
      `const provider = new ProcessSandboxProvider({ command: 'echo half > NOTES.md; sleep 120', dataDir: ${JSON.stringify(dataDir)} });`,
      `await provider.spawn(${JSON.stringify(request)});`,
      `console.log('spawned');`,
      `setInterval(() => {}, 1000);`,
    ].join('\n'),
  );
  const host = spawn(process.execPath, ['--import', tsxLoader, script], { stdio: ['ignore', 'pipe', 'inherit'] });
  await new Promise<void>((done, fail) => {
    host.stdout.on('data', (chunk: Buffer) => chunk.toString().includes('spawned') && done());
    host.on('exit', (code) => fail(new Error(`host exited with ${code}`)));
  });
  const dir = join(dataDir, 'sandboxes', `${request.task.id}-1`);
  const deadline = Date.now() + 10_000;
  while (!existsSync(join(dir, 'work', 'NOTES.md'))) {
    if (Date.now() > deadline) throw new Error('the agent never wrote its file');
    await new Promise((done) => setTimeout(done, 25));
  }
  const exited = new Promise((done) => host.on('exit', done));
  host.kill('SIGKILL');
  await exited;
  return { pgid: Number(readFileSync(join(dir, 'pid'), 'utf8')) };
}

function provider(): ProcessSandboxProvider {
  const created = new ProcessSandboxProvider({ command: 'true', dataDir, callbackBackoffMs: 10, artifacts: () => store });
  providers.push(created);
  return created;
}

function worktrees(): string[] {
  const cache = new GitWorkspaces({ dataDir }).cachePath(origin);
  return git(root, '-C', cache, 'worktree', 'list', '--porcelain').split('\n').filter((line) => line.startsWith('worktree '));
}

function groupAlive(pgid: number): boolean {
  try {
    process.kill(-pgid, 0);
    return true;
  } catch {
    return false;
  }
}

describe('checkouts left by a crashed Nightshift', () => {
  it('a task that ends after the crash (lost, failed, cancelled) has its agent stopped, its patch kept and its worktree removed', async () => {
    // Prepare: Nightshift dies while the agent works; the agent (its own process group) lives on.
    const request = spawnRequest();
    const { pgid } = await startAndCrash(request);
    const workDir = join(dataDir, 'sandboxes', `${request.task.id}-1`, 'work');
    expect(worktrees()).toHaveLength(2);

    // Act: the next incarnation ends the task (what the sweeper or a cancel does).
    await provider().terminate(`proc-${request.task.id}-1`);

    // Assess
    expect(existsSync(workDir)).toBe(false);
    expect(worktrees()).toHaveLength(1); // only the cached clone itself
    expect(artifacts.get(`tasks/${request.task.id}/patch.diff`), readFileSync(join(workDir, '..', 'output.log'), 'utf8')).toContain('+half');
    // The work stays on the branch in the cached clone; nothing was pushed for a task that did not finish.
    expect(git(root, '-C', new GitWorkspaces({ dataDir }).cachePath(origin), 'log', '-1', '--format=%an|%s', `nightshift/${request.task.id}`).trim()).toBe('Nightshift agent|Half-done work');
    expect(() => git(origin, 'rev-parse', '--verify', '--quiet', `nightshift/${request.task.id}`)).toThrow();
    const deadline = Date.now() + 4000;
    while (groupAlive(pgid) && Date.now() < deadline) await new Promise((done) => setTimeout(done, 50));
    expect(groupAlive(pgid)).toBe(false);
    expect(reports.filter((report) => report.url.includes(request.task.id))).toEqual([]);
  });

  it('cleans the stale worktree of a task whose agent died with Nightshift at the next start, and leaves a live one alone', async () => {
    // Prepare: one sandbox whose agent died with the crash, one whose agent still runs.
    const dead = spawnRequest();
    const { pgid } = await startAndCrash(dead);
    process.kill(-pgid, 'SIGKILL');
    const live = spawnRequest();
    const liveProvider = new ProcessSandboxProvider({ command: 'sleep 60', dataDir, artifacts: () => store });
    providers.push(liveProvider);
    await liveProvider.spawn(live);

    // Act: the next start of any task in a new incarnation.
    await provider().spawn(spawnRequest('plain'));

    // Assess
    expect(existsSync(join(dataDir, 'sandboxes', `${dead.task.id}-1`, 'work'))).toBe(false);
    expect(artifacts.get(`tasks/${dead.task.id}/patch.diff`)).toContain('NOTES.md');
    expect(existsSync(join(dataDir, 'sandboxes', `${live.task.id}-1`, 'work'))).toBe(true);
    expect(readFileSync(join(dataDir, 'sandboxes', `${dead.task.id}-1`, 'output.log'), 'utf8')).toContain('removed the checkout');
  });

  it('a cancelled task keeps the patch of what its agent had done, and its worktree goes', async () => {
    const request = spawnRequest();
    const sandboxes = new ProcessSandboxProvider({ command: 'echo started > NOTES.md; sleep 60', dataDir, artifacts: () => store });
    providers.push(sandboxes);
    const { id } = await sandboxes.spawn(request);
    const workDir = join(dataDir, 'sandboxes', `${request.task.id}-1`, 'work');
    const deadline = Date.now() + 10_000;
    while (!existsSync(join(workDir, 'NOTES.md')) && Date.now() < deadline) await new Promise((done) => setTimeout(done, 25));

    await sandboxes.terminate(id);

    expect(existsSync(workDir)).toBe(false);
    expect(worktrees()).toHaveLength(1);
    expect(artifacts.get(`tasks/${request.task.id}/patch.diff`)).toContain('+started');
    expect(reports.filter((report) => report.url.includes(request.task.id))).toEqual([]);
  });
});

import { execFileSync, spawn } from 'node:child_process';
import { chmodSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { taskResultSchema } from '../../src/tasks/schemas.js';

/**
 * The ECS container's entry script, run as the task definition runs it (node, real git) against
 * a bare repository on this machine, a callback server on 127.0.0.1 and a stand-in for the AWS
 * CLI that keeps what it is asked to upload.
 */

const ENTRY = resolve('sandbox/ecs-entry.mjs');
const git = (cwd: string, ...args: string[]) => execFileSync('git', args, { cwd, encoding: 'utf8' });

interface Report {
  url: string;
  authorization: string | undefined;
  body: ReturnType<typeof taskResultSchema.parse>;
}

let server: Server;
let callbackUrl: string;
const reports: Report[] = [];
let root: string;
let origin: string;
let bin: string;
let uploads: string;
/** Where the agent writes what it saw (the agent runs as another user, so only here). */
let out: string;
// The unprivileged user the agent runs as (the entry script runs as root here, as in the task definition).
const AGENT_UID = 20000 + Math.floor(Math.random() * 20000);
const runsAsRoot = process.getuid?.() === 0;

beforeAll(async () => {
  server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => {
      // The API's own schema: what the script sends must be a valid TaskResult.
      reports.push({ url: req.url ?? '', authorization: req.headers.authorization, body: taskResultSchema.parse(JSON.parse(Buffer.concat(chunks).toString('utf8'))) });
      res.writeHead(200, { 'content-type': 'application/json' }).end('{"ok":true}');
    });
  });
  await new Promise<void>((done) => server.listen(0, '127.0.0.1', done));
  callbackUrl = `http://127.0.0.1:${(server.address() as AddressInfo).port}/api/v1/tasks/t1/complete`;
});

afterAll(async () => {
  server.closeAllConnections();
  await new Promise<void>((done) => server.close(() => done()));
});

beforeEach(() => {
  reports.length = 0;
  root = mkdtempSync(join(tmpdir(), 'nightshift-ecs-entry-'));
  chmodSync(root, 0o755);
  out = join(root, 'out');
  mkdirSync(out);
  chmodSync(out, 0o777);
  const upstream = join(root, 'upstream');
  mkdirSync(upstream);
  git(upstream, 'init', '--quiet', '-b', 'main');
  writeFileSync(join(upstream, 'README.md'), 'hello\n');
  git(upstream, 'add', '.');
  git(upstream, '-c', 'user.name=Ann', '-c', 'user.email=ann@example.com', 'commit', '--quiet', '-m', 'first');
  origin = join(root, 'origin.git');
  git(root, 'clone', '--quiet', '--bare', upstream, origin);
  // `aws s3 cp ... <file> s3://<bucket>/<key>`: keeps the file under uploads/<bucket>/<key>.
  bin = join(root, 'bin');
  uploads = join(root, 'uploads');
  mkdirSync(bin);
  writeFileSync(
    join(bin, 'aws'),
    `#!/bin/sh\nfor last; do :; done\nfile=""; for a; do [ "$a" = "$last" ] && break; file="$a"; done\nkey="${uploads}/\${last#s3://}"\nmkdir -p "$(dirname "$key")" && cp "$file" "$key"\n`,
  );
  chmodSync(join(bin, 'aws'), 0o755);
});

afterEach(() => rmSync(root, { recursive: true, force: true }));

function runEntry(env: Record<string, string>): Promise<number> {
  return new Promise((done) => {
    const child = spawn(process.execPath, [ENTRY], {
      env: {
        PATH: `${bin}:${process.env.PATH ?? ''}`,
        HOME: root,
        NIGHTSHIFT_TASK_ID: 't1',
        NIGHTSHIFT_TASK_TITLE: 'Add a note',
        NIGHTSHIFT_CALLBACK_URL: callbackUrl,
        NIGHTSHIFT_CALLBACK_TOKEN: 'agent-token',
        NIGHTSHIFT_SANDBOX_TOKEN: 'sandbox-token',
        NIGHTSHIFT_GIT_TOKEN: 'git-token-from-secrets-manager',
        NIGHTSHIFT_WORKDIR: join(root, 'work'),
        NIGHTSHIFT_ARTIFACTS_BUCKET: 'artifacts',
        NIGHTSHIFT_REPO_URL: `file://${origin}`,
        NIGHTSHIFT_BASE_REF: 'main',
        NIGHTSHIFT_BRANCH: 'nightshift/t1',
        NIGHTSHIFT_PUSH: '1',
        NIGHTSHIFT_AGENT_UID: String(AGENT_UID),
        ...env,
      },
      stdio: ['ignore', 'ignore', 'pipe'],
    });
    child.stderr.resume();
    child.on('exit', (code) => done(code ?? -1));
  });
}

describe('the ECS entry script', () => {
  it('checks the project out on a new branch, runs the agent there, then commits, pushes, uploads the patch and reports git\'s result with the sandbox token', async () => {
    const agentEnv = join(out, 'agent-env.txt');

    const exit = await runEntry({ NIGHTSHIFT_AGENT_COMMAND: `echo "a note" >> NOTES.md && git rev-parse --abbrev-ref HEAD > ${out}/agent-branch.txt && env > ${agentEnv}` });

    expect(exit).toBe(0);
    const base = git(origin, 'rev-parse', 'main').trim();
    const head = git(origin, 'rev-parse', 'nightshift/t1').trim();
    expect(readFileSync(join(out, 'agent-branch.txt'), 'utf8').trim()).toBe('nightshift/t1');
    expect(git(origin, 'log', '--format=%an|%s', 'main..nightshift/t1').trim()).toBe('Nightshift agent|Add a note');
    expect(reports).toHaveLength(1);
    expect(reports[0]?.authorization).toBe('Bearer sandbox-token');
    expect(reports[0]?.body).toEqual({
      status: 'completed',
      summary: 'Exited with code 0',
      repository: { branch: 'nightshift/t1', base_commit: base, head_commit: head, diff_stat: { files: 1, insertions: 1, deletions: 0 }, files_changed: ['NOTES.md'], push_error: null },
    });
    expect(readFileSync(join(uploads, 'artifacts/tasks/t1/patch.diff'), 'utf8')).toContain('+a note');
    expect(readFileSync(join(uploads, 'artifacts/tasks/t1/diff-stat.txt'), 'utf8')).toContain('NOTES.md');
    // The agent never sees the wrapper's credentials.
    const seen = readFileSync(agentEnv, 'utf8');
    expect(seen).toContain('NIGHTSHIFT_CALLBACK_TOKEN=agent-token');
    expect(seen).toContain(`NIGHTSHIFT_WORKDIR=${join(root, 'work')}`);
    expect(seen).not.toContain('sandbox-token');
    expect(seen).not.toContain('git-token-from-secrets-manager');
  });

  it('records a rejected push and still reports the result; a failing agent fails the task', async () => {
    writeFileSync(join(origin, 'hooks', 'pre-receive'), '#!/bin/sh\necho "branch protected" >&2\nexit 1\n');
    chmodSync(join(origin, 'hooks', 'pre-receive'), 0o755);

    const exit = await runEntry({ NIGHTSHIFT_AGENT_COMMAND: 'echo half > NOTES.md; exit 3' });

    expect(exit).toBe(3);
    expect(reports[0]?.body).toMatchObject({ status: 'failed', error: 'Exited with code 3', repository: { files_changed: ['NOTES.md'], push_error: expect.stringContaining('branch protected') } });
  });

  it('fails at start with git\'s words when the repository cannot be cloned, without running the agent', async () => {
    const ran = join(out, 'agent-ran');

    const exit = await runEntry({ NIGHTSHIFT_REPO_URL: `file://${root}/missing.git`, NIGHTSHIFT_AGENT_COMMAND: `touch ${ran}` });

    expect(exit).toBe(1);
    expect(existsSync(ran)).toBe(false);
    expect(reports).toHaveLength(1);
    expect(reports[0]?.body.status).toBe('failed');
    expect(reports[0]?.body.error).toMatch(/^Could not check out file:\/\/.*missing\.git at main: .*(does not exist|not appear to be a git repository)/s);
  });

  it('runs the agent in an empty work dir when the task has no repository, leaving the report to the agent', async () => {
    const exit = await runEntry({ NIGHTSHIFT_REPO_URL: '', NIGHTSHIFT_AGENT_COMMAND: 'pwd > ../out/plain-pwd.txt && touch made-here' });

    expect(exit).toBe(0);
    expect(readFileSync(join(out, 'plain-pwd.txt'), 'utf8').trim()).toBe(join(root, 'work'));
    expect(existsSync(join(root, 'work', 'made-here'))).toBe(true);
    expect(reports).toEqual([]);
  });

  it.runIf(runsAsRoot)('runs the agent as an unprivileged user that cannot read the tokens from the entry script\'s process, and still commits and pushes its work', async () => {
    const command = [
      'id -u > ../out/uid.txt',
      'env > ../out/agent-env.txt',
      'cat /proc/$PPID/cmdline | tr "\\0" " " > ../out/parent-cmdline.txt',
      'cat /proc/$PPID/environ > ../out/parent-environ.txt 2> ../out/parent-environ.err',
      'cat /proc/1/environ > ../out/init-environ.txt 2>/dev/null',
      'ls /tmp/nightshift-origin-* > ../out/private-clone.txt 2>&1',
      'echo "isolated" > NOTES.md',
    ].join('; ');

    const exit = await runEntry({ NIGHTSHIFT_AGENT_COMMAND: command });

    expect(exit).toBe(0);
    const seen = (name: string) => readFileSync(join(out, name), 'utf8');
    expect(seen('uid.txt').trim()).toBe(String(AGENT_UID));
    // The process it tried is the entry script, and its environment (where ECS puts the secrets) is closed to the agent.
    expect(seen('parent-cmdline.txt')).toContain('ecs-entry.mjs');
    expect(seen('parent-environ.err')).toMatch(/Permission denied/);
    for (const file of ['agent-env.txt', 'parent-environ.txt', 'init-environ.txt', 'private-clone.txt']) {
      expect(seen(file)).not.toContain('sandbox-token');
      expect(seen(file)).not.toContain('git-token-from-secrets-manager');
    }
    expect(seen('agent-env.txt')).not.toMatch(/AWS_CONTAINER_CREDENTIALS/);
    expect(seen('private-clone.txt')).toMatch(/Permission denied|No such file/);
    // Nightshift still commits the agent's work and pushes it from its own clone.
    expect(git(origin, 'show', 'nightshift/t1:NOTES.md')).toBe('isolated\n');
    expect(reports[0]).toMatchObject({ authorization: 'Bearer sandbox-token', body: { status: 'completed', repository: { files_changed: ['NOTES.md'], push_error: null } } });
  });
});

import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative, resolve } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { contractChecker } from '../support/contract.js';
import { startTestStack } from '../support/local-env.js';

const run = promisify(execFile);
const agent = resolve('scripts/demo-agent.mjs');
let stack: Awaited<ReturnType<typeof startTestStack>>;
let configHome: string;

beforeAll(async () => {
  stack = await startTestStack({ SANDBOX_COMMAND: `DEMO_AGENT_SECONDS=1 node ${agent}`, POLL_INTERVAL: '1' });
  configHome = mkdtempSync(join(tmpdir(), 'nightshift-cli-'));
});
afterAll(async () => stack?.stop());

/** Runs `nightshift <args>` as a user would, in a child process; never throws on a non-zero exit. */
async function nightshift(args: string[], env: Record<string, string> = {}): Promise<{ code: number; stdout: string; stderr: string }> {
  try {
    const { stdout, stderr } = await run(process.execPath, [resolve('cli/nightshift.mjs'), ...args], {
      env: { PATH: process.env.PATH, HOME: configHome, XDG_CONFIG_HOME: configHome, NO_COLOR: '1', NIGHTSHIFT_POLL_MS: '300', ...env },
      timeout: 60_000,
    });
    return { code: 0, stdout, stderr };
  } catch (error) {
    const failed = error as { code?: number; stdout?: string; stderr?: string };
    return { code: typeof failed.code === 'number' ? failed.code : -1, stdout: failed.stdout ?? '', stderr: failed.stderr ?? '' };
  }
}

/** Validates `--json` output against a schema of docs/openapi.json, as if the API had answered it. */
const checker = contractChecker();
const asAnswer = (path: string, body: string, method = 'GET', status = 200) =>
  checker.check({ method, url: `http://127.0.0.1:1${path}`, status, headers: new Headers({ 'content-type': 'application/json' }), body });

describe('the nightshift CLI against the local stack', () => {
  it('--help lists the commands with examples; wrong usage exits 2', async () => {
    const help = await nightshift(['--help']);
    expect(help.code).toBe(0);
    expect(help.stdout).toContain('Examples:');
    for (const command of ['login', 'submit', 'batch', 'ls', 'show', 'cancel', 'logs', 'watch', 'report', 'quota', 'limits', 'keys', 'estimate']) expect(help.stdout).toContain(command);
    expect((await nightshift(['submit', '--help'])).stdout).toContain('nightshift submit "Refactor');
    const bad = await nightshift(['ls', '--status', 'sleeping']);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toContain('Allowed choices');
  });

  it('login --local without --url logs in at NIGHTSHIFT_API_URL (npm start on another PORT)', async () => {
    const login = await nightshift(['login', '--local', 'cli-port'], { NIGHTSHIFT_DATA_DIR: stack.dataDir, NIGHTSHIFT_API_URL: stack.url });
    expect(login.stderr).toBe('');
    expect(login.stdout).toContain(`Logged in as cli-port at ${stack.url}`);
    expect(JSON.parse(readFileSync(join(configHome, 'nightshift', 'config.json'), 'utf8'))).toMatchObject({ api_url: stack.url });
  });

  it('login --local stores the URL and a token in a 0600 config file; the environment takes precedence', async () => {
    const login = await nightshift(['login', '--local', 'cli-alice', '--url', stack.url], { NIGHTSHIFT_DATA_DIR: stack.dataDir });
    expect(login.stderr).toBe('');
    expect(login.code).toBe(0);
    expect(login.stdout).toContain('Logged in as cli-alice');
    const file = join(configHome, 'nightshift', 'config.json');
    expect(statSync(file).mode & 0o777).toBe(0o600);
    expect(JSON.parse(readFileSync(file, 'utf8'))).toMatchObject({ api_url: stack.url, token: expect.any(String) });

    expect((await nightshift(['limits'])).stdout).toContain('cli-alice');
    const asBob = await nightshift(['limits', '--json'], { NIGHTSHIFT_TOKEN: await stack.token('cli-bob') });
    expect(JSON.parse(asBob.stdout).user_id).toBe('cli-bob');
    const nowhere = await nightshift(['limits'], { NIGHTSHIFT_API_URL: 'http://127.0.0.1:9' });
    expect(nowhere.code).toBe(1);
    expect(nowhere.stderr).toContain('http://127.0.0.1:9');
  });

  it('submit, ls, show and cancel; --json prints the API shape; an unknown task exits 1 with its code', async () => {
    const env = { NIGHTSHIFT_API_URL: stack.url, NIGHTSHIFT_TOKEN: await stack.token('cli-carol') };
    const later = new Date(Date.now() + 6 * 3600_000).toISOString();
    const submitted = await nightshift(['submit', 'Tidy the changelog', '-p', '2', '--not-before', later], env);
    expect(submitted.code).toBe(0);
    const id = /Queued (\S+) \(position 1\)/.exec(submitted.stdout)?.[1];
    expect(id).toBeDefined();

    const listed = await nightshift(['ls', '--json'], env);
    expect(asAnswer('/api/v1/tasks', listed.stdout)).toEqual([]);
    expect(JSON.parse(listed.stdout).map((t: { id: string }) => t.id)).toContain(id);
    const table = await nightshift(['ls'], env);
    expect(table.stdout).toMatch(/TITLE\s+STATUS\s+POS/);
    expect(table.stdout).toMatch(/Tidy the changelog\s+pending \[remote\]\s+#1/);

    const shown = await nightshift(['show', id!, '--json'], env);
    expect(asAnswer(`/api/v1/tasks/${id}`, shown.stdout)).toEqual([]);
    expect((await nightshift(['cancel', id!], env)).stdout).toContain(`Cancelled ${id}`);
    const watched = await nightshift(['watch', id!], env);
    expect(watched.code).toBe(1);
    expect(watched.stdout).toContain('cancelled');

    const missing = await nightshift(['show', 'no-such-task'], env);
    expect(missing.code).toBe(1);
    expect(missing.stderr).toContain('TASK_NOT_FOUND');
    const usage = await nightshift(['submit', '--priority', 'soon', 'x'], env);
    expect(usage.code).toBe(2);
  });

  it('batch from the example file, watch until it ends (exit 0), then the morning report', async () => {
    const env = { NIGHTSHIFT_API_URL: stack.url, NIGHTSHIFT_TOKEN: await stack.token('cli-dora') };
    const created = await nightshift(['batch', 'examples/tonight.yaml'], env);
    expect(created.stderr).toBe('');
    expect(created.stdout).toMatch(/Batch (\S+) "tonight": 3 tasks queued/);
    expect(created.stdout).toMatch(/expected \d\d:\d\d/);
    const batchId = /Batch (\S+)/.exec(created.stdout)![1]!;

    const watched = await nightshift(['watch', '--batch', batchId], env);
    expect(watched.code).toBe(0);
    expect(watched.stdout.trim().split('\n').at(-1)).toMatch(/tonight: 3 done \/ 0 running \/ 0 queued \/ 0 failed of 3/);

    const report = await nightshift(['report', batchId], env);
    expect(report.code).toBe(0);
    expect(report.stdout).toContain('✓ completed');
    expect(report.stdout).toContain('Fix the flaky login test');
    expect(report.stdout).toMatch(/Totals: 3\/3 completed, 0 failed/);
    const json = await nightshift(['report', batchId, '--json'], env);
    expect(asAnswer(`/api/v1/batches/${batchId}/report`, json.stdout)).toEqual([]);

    const missingFile = await nightshift(['batch', 'examples/nope.yaml'], env);
    expect(missingFile.code).toBe(2);
  }, 90_000);

  it('keys create, ls and revoke; the new key works as NIGHTSHIFT_API_KEY', async () => {
    const env = { NIGHTSHIFT_API_URL: stack.url, NIGHTSHIFT_TOKEN: await stack.token('cli-erin') };
    const created = JSON.parse((await nightshift(['keys', 'create', 'laptop', '--json'], env)).stdout);
    expect(created).toMatchObject({ name: 'laptop', key: expect.any(String) });
    const byKey = await nightshift(['limits', '--json'], { NIGHTSHIFT_API_URL: stack.url, NIGHTSHIFT_API_KEY: created.key });
    expect(JSON.parse(byKey.stdout).user_id).toBe('cli-erin');
    expect((await nightshift(['keys', 'ls'], env)).stdout).toMatch(/laptop\s+\S+\s+active/);
    expect((await nightshift(['keys', 'revoke', created.id], env)).code).toBe(0);
    const revoked = await nightshift(['limits'], { NIGHTSHIFT_API_URL: stack.url, NIGHTSHIFT_API_KEY: created.key });
    expect(revoked.code).toBe(1);
    expect(revoked.stderr).toContain('UNAUTHORIZED');
  });

  it('project set (a relative path), submit on it, show the branch, diff the patch, project ls and rm', { timeout: 90_000 }, async () => {
    const env = { NIGHTSHIFT_API_URL: stack.url, NIGHTSHIFT_TOKEN: await stack.token('cli-dana') };
    const repo = mkdtempSync(join(tmpdir(), 'nightshift-cli-repo-'));
    const git = (...args: string[]) => run('git', ['-C', repo, '-c', 'user.name=Dana', '-c', 'user.email=dana@example.com', ...args]);
    await git('init', '-q', '-b', 'main');
    writeFileSync(join(repo, 'README.md'), '# demo\n');
    await git('add', '-A');
    await git('commit', '-qm', 'init');

    const set = await nightshift(['project', 'set', 'cli-demo', '--repo', relative(process.cwd(), repo)], env);
    expect(set.stderr).toBe('');
    expect(set.stdout).toBe(`Project cli-demo: ${repo} (main)\n`);
    const submitted = await nightshift(['submit', 'Write the notes', '-d', 'edit README.md', '--project', 'cli-demo'], env);
    const id = /Queued (\S+)/.exec(submitted.stdout)?.[1] as string;
    let shown = '';
    for (let i = 0; i < 120 && !/completed/.test(shown); i++) {
      shown = (await nightshift(['show', id], env)).stdout;
      await new Promise((done) => setTimeout(done, 500));
    }
    expect(shown).toMatch(new RegExp(`repository branch nightshift/${id} \\(\\d+ files?, \\+\\d+ -\\d+\\)`));
    expect(shown).toContain(`patch: nightshift diff ${id}`);

    const stat = await nightshift(['diff', id, '--stat'], env);
    expect(stat.code).toBe(0);
    expect(stat.stdout).toMatch(/README\.md \| \d+ \+/);
    const patch = await nightshift(['diff', id], env);
    expect(patch.stdout).toMatch(/^diff --git a\/\S+ b\/\S+/);
    const { stdout: log } = await run('git', ['-C', repo, 'log', '--format=%an %s', `nightshift/${id}`, '-1']);
    expect(log.trim()).toBe('Nightshift agent Write the notes');

    expect((await nightshift(['project', 'ls'], env)).stdout).toMatch(/cli-demo\s+cli-demo\s+\S+\s+main\s+no\s+no/);
    expect(JSON.parse((await nightshift(['project', 'ls', '--json'], env)).stdout)).toEqual([expect.objectContaining({ id: 'cli-demo', repo_url: repo })]);
    expect((await nightshift(['project', 'rm', 'cli-demo'], env)).stdout).toBe('Deleted project cli-demo\n');
    expect((await nightshift(['project', 'ls'], env)).stdout).toBe('No projects.\n');
    const missing = await nightshift(['diff', 'no-such-task'], env);
    expect(missing.code).toBe(1);
    expect(missing.stderr).toContain('TASK_NOT_FOUND');
  });
});

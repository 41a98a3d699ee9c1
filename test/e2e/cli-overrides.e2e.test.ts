import { execFile } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestStack } from '../support/local-env.js';

const run = promisify(execFile);
let stack: Awaited<ReturnType<typeof startTestStack>>;
let configHome: string;

beforeAll(async () => {
  stack = await startTestStack({ SANDBOX_COMMAND: 'echo done' });
  configHome = mkdtempSync(join(tmpdir(), 'nightshift-cli-overrides-'));
  const owner = await stack.token('cli-owner');
  const response = await fetch(`${stack.url}/api/v1/spaces/cli-research`, {
    method: 'PUT',
    headers: { authorization: `Bearer ${owner}`, 'content-type': 'application/json' },
    body: JSON.stringify({ name: 'Research', quota: { monthly_limit: 5 } }),
  });
  expect(response.status).toBe(201);
}, 60_000);
afterAll(async () => stack?.stop());

/** `nightshift <args>` as `user` (a bearer token in the environment); never throws on a non-zero exit. */
async function nightshift(user: string, args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  const token = await stack.token(user, user.startsWith('cli-admin'));
  try {
    const { stdout, stderr } = await run(process.execPath, [resolve('cli/nightshift.mjs'), ...args], {
      env: { PATH: process.env.PATH, HOME: configHome, XDG_CONFIG_HOME: configHome, NO_COLOR: '1', NIGHTSHIFT_API_URL: stack.url, NIGHTSHIFT_TOKEN: token },
      timeout: 60_000,
    });
    return { code: 0, stdout, stderr };
  } catch (error) {
    const failed = error as { code?: number; stdout?: string; stderr?: string };
    return { code: typeof failed.code === 'number' ? failed.code : -1, stdout: failed.stdout ?? '', stderr: failed.stderr ?? '' };
  }
}

describe('nightshift override', () => {
  // Each run starts a Node process that compiles the CLI: a few seconds apiece on a busy machine.
  it('lets a member ask and an admin list, grant and decline', { timeout: 240_000 }, async () => {
    // Act: the owner asks twice
    const asked = await nightshift('cli-owner', ['override', 'request', 'cli-research', '--credits', '20', '--reason', 'launch week', '--json']);
    const second = await nightshift('cli-owner', ['override', 'request', 'cli-research', '--credits', '3', '--reason', 'one more']);

    // Assess
    expect(asked.code).toBe(0);
    const request = JSON.parse(asked.stdout);
    expect(request).toMatchObject({ space_id: 'cli-research', credits: 20, status: 'pending' });
    expect(second.stdout).toMatch(/Asked for 3 credits in cli-research: request \S+ is pending/);
    const pending = await nightshift('cli-admin', ['override', 'list', '--status', 'pending']);
    expect(pending.stdout).toContain(request.request_id);
    expect(pending.stdout).toMatch(/CREDITS\s+STATUS/);

    // Act: grant the first with what was asked, decline the second
    const granted = await nightshift('cli-admin', ['override', 'grant', request.request_id, '--space', 'cli-research', '--expires-at', new Date(Date.now() + 86_400_000).toISOString()]);
    const secondId = (await nightshift('cli-owner', ['override', 'list', 'cli-research', '--json'])).stdout;
    const other = JSON.parse(secondId).override_requests.find((r: { credits: number }) => r.credits === 3).request_id as string;
    const declined = await nightshift('cli-admin', ['override', 'decline', other, '--reason', 'not now']);

    // Assess
    expect(granted).toMatchObject({ code: 0, stderr: '' });
    expect(granted.stdout).toContain(`Granted 20 credits on cli-research`);
    expect(declined.stdout).toContain(`Declined request ${other} of cli-owner in cli-research`);
    const mine = await nightshift('cli-owner', ['override', 'list', 'cli-research']);
    expect(mine.stdout).toMatch(/granted by cli-admin/);
    expect(mine.stdout).toMatch(/declined by cli-admin/);
    const quota = await nightshift('cli-owner', ['quota', 'cli-research', '--json']);
    expect(JSON.parse(quota.stdout).monthly.override_credits).toBe(20);
  });

  it('lists the spaces a user owns with `nightshift spaces`, and none of them to another user', { timeout: 120_000 }, async () => {
    const mine = await nightshift('cli-owner', ['spaces']);
    const json = await nightshift('cli-owner', ['spaces', '--json']);
    const other = await nightshift('cli-stranger', ['spaces']);

    expect(mine.code).toBe(0);
    expect(mine.stdout).toMatch(/ID\s+NAME\s+OWNER/);
    expect(mine.stdout).toMatch(/cli-research\s+Research\s+cli-owner\s+0\s+5\s+no limit/);
    expect(JSON.parse(json.stdout)).toEqual([expect.objectContaining({ id: 'cli-research', owner_id: 'cli-owner' })]);
    expect(other.stdout).toContain('No spaces besides your personal one');
  });

  it.each([
    [['override', 'request', 'cli-research', '--credits', '0', '--reason', 'x'], 2, /--credits must be a number above 0/],
    [['override', 'request', 'cli-research', '--credits', '5'], 2, /--reason/],
    [['override', 'list', 'cli-research', '--status', 'pending'], 2, /--status filters the admin list/],
    [['override', 'list', '--status', 'open'], 2, /Allowed choices/],
  ])('nightshift %j is wrong usage (exit %i)', { timeout: 60_000 }, async (args, code, message) => {
    const answer = await nightshift('cli-owner', args);
    expect(answer.code).toBe(code);
    expect(answer.stderr).toMatch(message);
  });

  it('says what the API refused: not a member, not an admin, already decided', { timeout: 180_000 }, async () => {
    const outsider = await nightshift('cli-mallory', ['override', 'request', 'cli-research', '--credits', '1', '--reason', 'me too']);
    expect(outsider).toMatchObject({ code: 1 });
    expect(outsider.stderr).toMatch(/SPACE_NOT_FOUND/);
    const notAdmin = await nightshift('cli-owner', ['override', 'list']);
    expect(notAdmin.code).toBe(1);
    expect(notAdmin.stderr).toMatch(/FORBIDDEN/);
    const request = JSON.parse((await nightshift('cli-owner', ['override', 'request', 'cli-research', '--credits', '1', '--reason', 'again', '--json'])).stdout);
    await nightshift('cli-admin', ['override', 'decline', request.request_id]);
    const twice = await nightshift('cli-admin', ['override', 'decline', request.request_id]);
    expect(twice.code).toBe(1);
    expect(twice.stderr).toMatch(/already declined \(OVERRIDE_REQUEST_DECIDED\)/);
  });
});

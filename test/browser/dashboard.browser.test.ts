import { mkdirSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join, resolve } from 'node:path';
import { gzipSync } from 'node:zlib';
import { chromium, type Browser, type Locator, type Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createNightshiftClient, type NightshiftClient } from '../../src/client/client.js';
import { API_ROUTES } from '../../src/platform/http/route-table.js';
import { WEB_DIST } from '../../scripts/local/web-app.js';
import { eventually, startTestStack } from '../support/local-env.js';

/*
 * The dashboard in a real browser (Debian's chromium driven by playwright-core) against one local
 * stack: elements are found by role, label and text, as a person finds them, and every page is
 * checked with axe-core and left as a screenshot under test-results/browser/.
 */

type Stack = Awaited<ReturnType<typeof startTestStack>>;
let stack: Stack;
let browser: Browser;

const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
const SHOTS = resolve('test-results/browser');
const AXE = readFileSync(createRequire(import.meta.url).resolve('axe-core/axe.min.js'), 'utf8');
const agent = resolve('scripts/demo-agent.mjs');
// "overnight" tasks run long enough to be cancelled while running; the rest take 3 s.
const SANDBOX = `case "$NIGHTSHIFT_TASK_TITLE" in *overnight*) DEMO_AGENT_SECONDS=120 node ${agent};; *) DEMO_AGENT_SECONDS=3 node ${agent};; esac`;
const gmailSend = { title: 'Send the weekly update', type: 'action' as const, integration: 'gmail', action: 'send' };
const overrideRequestsExist = API_ROUTES.some((route) => route.path === '/api/v1/spaces/{id}/override-requests');

const api = async (user: string, admin = false): Promise<NightshiftClient> => createNightshiftClient({ baseUrl: stack.url, token: await stack.token(user, admin) });

async function signIn(user: string, options: { admin?: boolean; width?: number } = {}): Promise<Page> {
  const context = await browser.newContext({ viewport: { width: options.width ?? 1200, height: 900 } });
  const page = await context.newPage();
  await page.goto(`${stack.url}/`);
  await page.getByLabel('User id').fill(user);
  if (options.admin) await page.getByLabel('Administrator').check();
  await page.getByRole('button', { name: 'Sign in locally' }).click();
  await page.getByRole('heading', { name: 'Tonight' }).waitFor();
  return page;
}

/** axe-core on the page as it is now (no serious or critical violation), and a screenshot of it. */
async function checkPage(page: Page, name: string): Promise<void> {
  await page.screenshot({ path: join(SHOTS, `${name}.png`), fullPage: true });
  await page.evaluate(AXE);
  const violations = (await page.evaluate(
    `axe.run(document, { resultTypes: ['violations'] }).then((r) => r.violations.map((v) => ({ id: v.id, impact: v.impact, help: v.help, nodes: v.nodes.slice(0, 3).map((n) => n.target.join(' ')) })))`,
  )) as Array<{ id: string; impact: string }>;
  expect(violations.filter((v) => v.impact === 'serious' || v.impact === 'critical'), `axe on ${name}`).toEqual([]);
}

const card = (page: Page, title: string): Locator => page.getByRole('listitem', { name: title, exact: true });
const nav = (page: Page, name: string) => page.getByRole('navigation', { name: 'Main' }).getByRole('link', { name, exact: true }).click();

/** Fills the new-task form, waits for its estimate, and queues only on confirm. */
async function queueThroughForm(page: Page, title: string, check?: () => Promise<void>): Promise<void> {
  await nav(page, 'New task');
  await page.getByLabel('Title').fill(title);
  await page.getByText(/^This will cost .+ and run in the cloud$/).waitFor();
  await page.getByText(/^Estimated time: /).waitFor();
  await check?.();
  await page.getByRole('button', { name: 'Review and queue' }).click();
  await page.getByRole('button', { name: 'Confirm and queue' }).click();
  await page.getByRole('heading', { name: 'Tonight' }).waitFor();
}

beforeAll(async () => {
  mkdirSync(SHOTS, { recursive: true });
  [stack, browser] = await Promise.all([
    startTestStack({ SANDBOX_COMMAND: SANDBOX, POLL_INTERVAL: '2' }),
    chromium.launch({ executablePath: CHROMIUM, args: ['--no-sandbox'] }),
  ]);
  const admin = await api('ops-admin', true);
  for (const user of ['budgeter', 'carol']) await admin.api.PUT('/api/v1/admin/users/{id}/plan', { params: { path: { id: user } }, body: { plan: 'team' } });
}, 120_000);

afterAll(async () => {
  await browser?.close();
  await stack?.stop();
});

describe('the dashboard in a browser', () => {
  it('alice queues tasks through the form after seeing the estimate, cancels a running one, and watches the next go Queued -> Running in cloud -> Completed without a reload', async () => {
    const page = await signIn('alice');
    await checkPage(page, 'tonight-empty');
    await page.evaluate('window.sameDocument = true');
    const alice = await api('alice');

    await queueThroughForm(page, 'overnight refactor', async () => {
      // The estimate is shown and nothing is queued before the user confirms.
      expect((await alice.listTasks()).items).toEqual([]);
      await page.getByRole('radio', { name: /Remote/ }).check();
      await page.getByText(/^This will cost .+ and run in the cloud$/).waitFor();
      await checkPage(page, 'new-task-estimate');
    });
    const long = card(page, 'overnight refactor');
    await long.getByText('Running in cloud').waitFor({ timeout: 30_000 });

    await queueThroughForm(page, 'Write the release notes');
    const notes = card(page, 'Write the release notes');
    await notes.getByText('Queued').waitFor();
    await notes.getByText('waiting for a free slot: 1 of 1 running').waitFor();
    await notes.getByText('#1', { exact: true }).waitFor();
    await checkPage(page, 'tonight-running-and-queued');

    // Cancel the running task, with a confirmation.
    await long.getByRole('button', { name: 'Cancel task overnight refactor' }).click();
    await long.getByRole('alertdialog').getByRole('button', { name: 'Yes, cancel it' }).click();
    await long.getByText('Cancelled').waitFor({ timeout: 15_000 });
    expect((await alice.getTask((await alice.listTasks()).items.find((t) => t.title === 'overnight refactor')!.id)).status).toBe('cancelled');

    await notes.getByText('Running in cloud').waitFor({ timeout: 30_000 });
    await notes.getByText('Completed').waitFor({ timeout: 30_000 });
    expect(await page.evaluate('window.sameDocument')).toBe(true);
    await checkPage(page, 'tonight-finished');

    // The task page: timeline, result, files changed, log.
    await notes.getByRole('link', { name: 'Write the release notes' }).click();
    await page.getByRole('heading', { name: 'Write the release notes', level: 1 }).waitFor();
    await page.getByText(/Handled|Demo agent/).first().waitFor();
    await page.getByRole('listitem').filter({ hasText: /^Finished: / }).waitFor();
    await page.getByText('NOTES.md').first().waitFor();
    await page.getByLabel('Sandbox log tail').getByText(/demo-agent: \[4\/4\] Checking the result/).waitFor({ timeout: 15_000 });
    await checkPage(page, 'task-page');
    await page.context().close();
  });

  it('a space at 80 % of its weekly soft limit shows the warning banner, and one at its hard limit shows the blocked badge', async () => {
    const budgeter = await api('budgeter');
    await budgeter.api.PUT('/api/v1/spaces/{id}', { params: { path: { id: 'marketing' } }, body: { name: 'Marketing', quota: { weekly_limit: 1.25, monthly_limit: 100 } } });
    await budgeter.createTask({ ...gmailSend, space_id: 'marketing' });
    await budgeter.api.PUT('/api/v1/spaces/{id}', { params: { path: { id: 'sales' } }, body: { name: 'Sales', quota: { monthly_limit: 1 } } });
    await budgeter.createTask({ ...gmailSend, title: 'Mail the first lead', space_id: 'sales', execution_preference: 'remote' });
    await eventually(async () => (await budgeter.spaceQuota('sales')).status === 'BLOCKED', 30_000, 'the sales limit to be reached');
    await eventually(async () => (await budgeter.spaceQuota('marketing')).weekly.used === 1, 30_000, 'the marketing charge');
    await budgeter.createTask({ ...gmailSend, title: 'Mail the second lead', space_id: 'sales', execution_preference: 'remote' });

    const page = await signIn('budgeter');
    const blocked = card(page, 'Mail the second lead');
    await blocked.getByText('Blocked (over quota)').first().waitFor();
    await blocked.getByRole('link', { name: 'Request an override for sales' }).waitFor();
    await page.getByText(/Space sales reached its monthly hard limit/).waitFor();
    await checkPage(page, 'tonight-blocked');

    await nav(page, 'Quotas');
    await page.getByText(/Space marketing used 80 % of its weekly soft limit\. Tasks still run\./).waitFor();
    await page.getByText(/Weekly credits 0\.25\/1\.25 remaining/).waitFor();
    await page.getByText(/Monthly credits 0\/1 remaining/).waitFor();
    await checkPage(page, 'quotas');
    await page.context().close();
  });

  it('the quotas page shows every space the user owns or is a member of, with its bars, even with no task in it', async () => {
    const owner = await api('erin');
    await owner.api.PUT('/api/v1/spaces/{id}', { params: { path: { id: 'design' } }, body: { name: 'Design', members: ['dora'], quota: { weekly_limit: 10, monthly_limit: 50 } } });
    await owner.api.PUT('/api/v1/spaces/{id}', { params: { path: { id: 'erins-own' } }, body: { name: 'Erin only' } });

    const page = await signIn('dora');
    await nav(page, 'Quotas');
    const design = page.getByRole('listitem', { name: 'Space design' });
    await design.getByRole('heading', { name: 'Design (design)' }).waitFor();
    await design.getByText(/Weekly credits 10\/10 remaining/).waitFor();
    await design.getByText(/Monthly credits 50\/50 remaining/).waitFor();
    await page.getByRole('listitem', { name: 'Space personal:dora' }).waitFor();
    expect(await page.getByRole('listitem', { name: 'Space erins-own' }).count()).toBe(0);
    await checkPage(page, 'quotas-member');
    await page.context().close();
  });

  // needs override-request endpoints (issue-15a): runs once the routes are in the route table.
  it.skipIf(!overrideRequestsExist)('an override request from the blocked card, granted by an admin, lets the task run; a declined one says so', async () => {
    const requester = await api('budgeter');
    await requester.api.PUT('/api/v1/spaces/{id}', { params: { path: { id: 'support' } }, body: { name: 'Support', quota: { monthly_limit: 1 } } });
    await requester.createTask({ ...gmailSend, title: 'Answer the first ticket', space_id: 'support', execution_preference: 'remote' });
    await eventually(async () => (await requester.spaceQuota('support')).status === 'BLOCKED', 30_000, 'the support limit to be reached');
    await requester.createTask({ ...gmailSend, title: 'Answer the second ticket', space_id: 'support', execution_preference: 'remote' });

    const page = await signIn('budgeter');
    await card(page, 'Answer the second ticket').getByRole('link', { name: 'Request an override for support' }).click();
    const form = page.getByRole('form', { name: 'Request an override for support' });
    await form.getByLabel('Extra credits').fill('1');
    await form.getByLabel('Reason').fill('Quarter-end push');
    await form.getByRole('button', { name: 'Request an override' }).click();
    await page.getByText(/Override request sent: 1 credit for support/).waitFor();
    await page.getByText(/1 credit — Quarter-end push — pending/).waitFor();

    const admin = await signIn('ops-admin', { admin: true });
    await nav(admin, 'Admin');
    const request = admin.getByRole('listitem', { name: 'Request from budgeter for support' });
    await request.getByText('Quarter-end push', { exact: false }).waitFor();
    await checkPage(admin, 'admin-override-requests');
    await request.getByRole('button', { name: 'Grant' }).click();
    await admin.getByText('Granted 1 credit to support for budgeter.').waitFor();
    await admin.getByText('No pending requests.').waitFor();

    await nav(page, 'Tonight');
    await card(page, 'Answer the second ticket').getByText('Completed').waitFor({ timeout: 30_000 });

    // A second request, declined: the requester sees the answer.
    await page.goto(`${stack.url}/quotas?space=support`);
    const again = page.getByRole('form', { name: 'Request an override for support' });
    await again.getByLabel('Reason').fill('One more run');
    await again.getByRole('button', { name: 'Request an override' }).click();
    await page.getByText(/Override request sent/).waitFor();
    await admin.getByRole('listitem', { name: 'Request from budgeter for support' }).getByRole('button', { name: 'Decline' }).click();
    await admin.getByText('Declined the request of budgeter for support.').waitFor();
    await page.getByText(/One more run — declined/).waitFor({ timeout: 15_000 });
    await page.context().close();
    await admin.context().close();
  });

  it('a device-routed task shows Running locally, and settings list the device and API keys (shown once, revocable)', async () => {
    const carol = await api('carol');
    await carol.api.POST('/api/v1/executors', { body: { executor_id: 'tauri:carol-laptop', capabilities: ['gmail.send'], models: [], max_concurrent: 1 } });
    const task = await carol.createTask({ ...gmailSend, title: 'Send from the laptop', execution_preference: 'local' });
    const lease = await carol.api.POST('/api/v1/executors/{id}/lease', { params: { path: { id: 'tauri:carol-laptop' }, query: { wait_seconds: 5 } } });
    expect(lease.data).toMatchObject({ id: task.id, status: 'running' });

    const page = await signIn('carol');
    await card(page, 'Send from the laptop').getByText('Running locally').waitFor();
    await checkPage(page, 'tonight-running-locally');

    await nav(page, 'Settings');
    await page.getByText('tauri:carol-laptop').waitFor();
    await page.getByText('Online').waitFor();
    await page.getByText(/Plan: team/).waitFor();
    await page.getByRole('progressbar', { name: 'Monthly agent hours' }).waitFor();
    await page.getByLabel('Key name').fill('laptop CLI');
    await page.getByRole('button', { name: 'Create API key' }).click();
    const shown = await page.locator('code.secret').textContent();
    expect(shown).toMatch(/^ns_/);
    await page.getByText('it is shown only once').waitFor();
    await checkPage(page, 'settings');
    await page.getByRole('button', { name: 'Revoke laptop CLI' }).click();
    await page.getByRole('button', { name: 'Yes, revoke it' }).click();
    await page.getByText(/laptop CLI.*revoked/).waitFor();
    expect((await carol.listApiKeys())[0]).toMatchObject({ name: 'laptop CLI', status: 'revoked' });
    await page.context().close();
  });

  it('the morning report of a batch lists every task with totals, on a phone and in print', async () => {
    const dora = await api('dora');
    const titles = ['Triage the inbox', 'Summarise the PRs', 'Draft the standup'];
    const batch = await dora.createBatch({ name: 'Tuesday night', tasks: titles.map((title) => ({ title })), deadline: new Date(Date.now() + 6 * 3_600_000).toISOString() });
    await eventually(async () => (await dora.getBatch(batch.id)).progress.finished, 60_000, 'the batch to finish');

    const page = await signIn('dora');
    await nav(page, 'Batches');
    await page.getByRole('link', { name: 'Tuesday night' }).waitFor();
    await checkPage(page, 'batches');
    await page.getByRole('link', { name: 'Tuesday night' }).click();
    await page.getByText('3 of 3 finished — done').waitFor();
    await page.getByText(/deadline \d\d:\d\d/).waitFor();
    await checkPage(page, 'batch');
    await page.getByRole('link', { name: 'Morning report' }).click();
    await page.getByRole('heading', { name: 'Morning report: Tuesday night' }).waitFor();
    for (const title of titles) await page.getByRole('link', { name: title }).waitFor();
    await page.getByText(/3 tasks: 3 completed/).waitFor();
    await checkPage(page, 'morning-report');
    await page.setViewportSize({ width: 375, height: 800 });
    await page.screenshot({ path: join(SHOTS, 'morning-report-phone.png'), fullPage: true });
    expect(await page.evaluate('document.documentElement.scrollWidth <= window.innerWidth + 1')).toBe(true);
    await page.emulateMedia({ media: 'print' });
    await page.screenshot({ path: join(SHOTS, 'morning-report-print.png'), fullPage: true });
    expect(await page.getByRole('navigation', { name: 'Main' }).isVisible()).toBe(false);
    await page.context().close();
  });

  it('shows admin pages only to admins, and sign-out forgets the credential', async () => {
    const page = await signIn('alice');
    expect(await page.getByRole('navigation', { name: 'Main' }).getByRole('link', { name: 'Admin' }).count()).toBe(0);
    await page.goto(`${stack.url}/admin`);
    await page.getByRole('heading', { name: 'Administrators only' }).waitFor();
    await page.getByRole('button', { name: 'Sign out' }).click();
    await page.getByRole('heading', { name: /Sign in to Nightshift/ }).waitFor();
    expect(await page.evaluate("localStorage.getItem('nightshift.credential')")).toBeNull();
    await page.reload();
    await page.getByRole('button', { name: 'Sign in locally' }).waitFor();
    await checkPage(page, 'sign-in');
    await page.context().close();

    await (await api('ops-admin', true)).api.PUT('/api/v1/spaces/{id}', { params: { path: { id: 'ops' } }, body: { name: 'Ops', quota: { monthly_limit: 5 } } });
    const admin = await signIn('ops-admin', { admin: true });
    await nav(admin, 'Admin');
    await admin.getByLabel('Space id', { exact: true }).first().waitFor();
    await admin.getByRole('form', { name: "Change a user's plan" }).getByLabel('User id').fill('dora');
    await admin.getByLabel('Plan', { exact: true }).selectOption('pro');
    await admin.getByRole('button', { name: 'Change plan' }).click();
    await admin.getByText('dora is now on pro.').waitFor();
    const limits = admin.getByRole('form', { name: 'Per-user limits' });
    await limits.getByLabel('User id').fill('dora');
    await limits.getByRole('button', { name: 'Save limits' }).click();
    await limits.getByText('Fill in at least one limit.').waitFor();
    await limits.getByLabel('Agents at once').fill('2');
    await limits.getByRole('button', { name: 'Save limits' }).click();
    await limits.getByText(/dora: 2 at once/).waitFor();
    expect((await (await api('dora')).myLimits()).max_concurrent_agents).toBe(2);
    const grant = admin.getByRole('form', { name: 'Grant an override' });
    await grant.getByLabel('Space id').fill('ops');
    await grant.getByLabel('Reason').fill('Launch week');
    await grant.getByRole('button', { name: 'Grant override' }).click();
    await grant.getByText(/Granted 10 credits to ops until/).waitFor();
    await admin.getByLabel('Space id').last().fill('ops');
    await admin.getByRole('button', { name: 'Show ledger' }).click();
    const row = admin.getByRole('table').getByRole('row').filter({ hasText: 'Launch week' });
    await row.getByText('override', { exact: true }).waitFor();
    await row.getByText('ops-admin', { exact: true }).waitFor();
    await checkPage(admin, 'admin');
    await admin.context().close();
  });

  it('signs in with a pasted API key, and says why when the key is wrong', async () => {
    const erin = await api('erin');
    const key = await erin.createApiKey({ name: 'browser' });
    const context = await browser.newContext();
    const page = await context.newPage();
    const opened = performance.now();
    await page.goto(`${stack.url}/`);
    await page.getByRole('button', { name: 'Sign in with key' }).waitFor();
    // Reported, not asserted (speed belongs in the bench): a cold first page on the local stack.
    console.log(`dashboard first page interactive after ${Math.round(performance.now() - opened)} ms (cold context, local stack)`);
    await page.getByLabel('API key or token', { exact: true }).fill('ns_not-a-real-key');
    await page.getByRole('button', { name: 'Sign in with key' }).click();
    await page.getByRole('alert').first().waitFor();
    await page.getByRole('button', { name: 'Sign out' }).click();
    await page.getByLabel('API key or token', { exact: true }).fill(key.key);
    await page.getByRole('button', { name: 'Sign in with key' }).click();
    await page.getByText('Signed in with an API key').waitFor();
    await page.getByText(/Nothing queued/).waitFor();
    await context.close();
  });

  it('works from the keyboard alone, with a visible focus ring', async () => {
    const context = await browser.newContext();
    const page = await context.newPage();
    await page.goto(`${stack.url}/`);
    await page.getByRole('button', { name: 'Sign in locally' }).waitFor();
    await page.keyboard.press('Tab');
    expect(await page.evaluate('document.activeElement.id')).toBe('local-user');
    await page.keyboard.type('kim');
    await page.keyboard.press('Enter');
    await page.getByRole('heading', { name: 'Tonight' }).waitFor();
    // Skip link, then the main navigation: Tonight, New task.
    for (let i = 0; i < 3; i++) await page.keyboard.press('Tab');
    expect(await page.evaluate('document.activeElement.textContent')).toBe('New task');
    expect(await page.evaluate('getComputedStyle(document.activeElement).outlineStyle')).toBe('solid');
    await page.keyboard.press('Enter');
    await page.getByRole('heading', { name: 'New task' }).waitFor();
    await page.getByLabel('Title').focus();
    await page.keyboard.type('Keyboard task');
    await page.getByText(/^This will cost /).waitFor();
    await page.keyboard.press('Enter');
    await page.getByRole('button', { name: 'Confirm and queue' }).focus();
    await page.keyboard.press('Enter');
    await card(page, 'Keyboard task').waitFor();
    await context.close();
  });

  it('offers single sign-on when config.json names an issuer, and leaves for it with an authorization code request and PKCE', async () => {
    const issuer = 'https://issuer.example.test';
    const context = await browser.newContext();
    // A stand-in for the identity provider (a third party): discovery, and the authorize page.
    await context.route(`${stack.url}/config.json`, (route) =>
      route.fulfill({ json: { api_url: '', oidc: { issuer, client_id: 'dashboard', audience: 'nightshift-api' }, local_sign_in: false } }),
    );
    await context.route(`${issuer}/.well-known/openid-configuration`, (route) =>
      route.fulfill({
        json: { issuer, authorization_endpoint: `${issuer}/authorize`, token_endpoint: `${issuer}/token`, jwks_uri: `${issuer}/jwks`, response_types_supported: ['code'] },
        headers: { 'access-control-allow-origin': '*' },
      }),
    );
    let authorize: URL | undefined;
    await context.route(`${issuer}/authorize**`, (route) => {
      authorize = new URL(route.request().url());
      return route.fulfill({ contentType: 'text/html', body: '<!doctype html><title>Issuer</title><h1>Issuer sign-in</h1>' });
    });
    const page = await context.newPage();
    await page.goto(`${stack.url}/`);
    await page.getByRole('button', { name: 'Sign in with single sign-on' }).click();
    await page.getByRole('heading', { name: 'Issuer sign-in' }).waitFor();
    expect(await page.getByRole('button', { name: 'Sign in locally' }).count()).toBe(0);
    expect(Object.fromEntries(authorize!.searchParams)).toMatchObject({
      response_type: 'code',
      client_id: 'dashboard',
      audience: 'nightshift-api',
      redirect_uri: `${stack.url}/sign-in/callback`,
      code_challenge_method: 'S256',
      code_challenge: expect.stringMatching(/^[A-Za-z0-9_-]{43}$/),
    });
    await context.close();
  });

  it('refuses a local sign-in with a bad user id, changing nothing', async () => {
    const response = await fetch(`${stack.url}/local/sign-in`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ user_id: 'not ok!' }) });
    expect(response.status).toBe(400);
    expect(await response.json()).toMatchObject({ error: { code: 'VALIDATION_ERROR' } });
    const form = await fetch(`${stack.url}/local/sign-in`, { method: 'POST', body: 'user_id=alice' });
    expect(form.status).toBe(415);
  });

  it('ships at most 150 KB of gzipped JavaScript for the first page', async () => {
    const html = readFileSync(join(WEB_DIST, 'index.html'), 'utf8');
    const files = [...html.matchAll(/(?:src|href)="\/(assets\/[^"]+\.js)"/g)].map((m) => m[1] as string);
    const gzipped = files.reduce((sum, file) => sum + gzipSync(readFileSync(join(WEB_DIST, file))).length, 0);
    console.log(`dashboard first page: ${files.length} script file(s), ${(gzipped / 1024).toFixed(1)} KB of JavaScript gzipped`);
    expect(files.length).toBeGreaterThan(0);
    expect(gzipped).toBeLessThanOrEqual(150 * 1024);
  });
});

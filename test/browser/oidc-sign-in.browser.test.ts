import { mkdirSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { chromium, type Browser } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createNightshiftClient } from '../../src/client/client.js';
import { startTestStack } from '../support/local-env.js';
import { startFakeOidc } from '../support/fake-oidc.js';

/*
 * Single sign-on end to end: the dashboard leaves for an OpenID Connect provider on 127.0.0.1
 * (fake: the identity provider is a third party), comes back to /sign-in/callback with `code`
 * and `state`, trades the code (PKCE) for tokens, and the local stack, told to trust that issuer
 * as the stack in AWS is, accepts the access token through the authorizer's own decision.
 */
const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
const SHOTS = resolve('test-results/browser');
const AUDIENCE = 'nightshift-api';
const USER = 'oidc-olivia';

let stack: Awaited<ReturnType<typeof startTestStack>>;
let issuer: Awaited<ReturnType<typeof startFakeOidc>>;
let browser: Browser;

beforeAll(async () => {
  mkdirSync(SHOTS, { recursive: true });
  issuer = await startFakeOidc({ subject: USER, audience: AUDIENCE });
  [stack, browser] = await Promise.all([
    startTestStack({ SANDBOX_COMMAND: 'sleep 600' }, { oidc: { issuer: issuer.issuer, client_id: 'dashboard', audience: AUDIENCE, jwks_url: issuer.jwksUrl } }),
    chromium.launch({ executablePath: CHROMIUM, args: ['--no-sandbox'] }),
  ]);
}, 120_000);

afterAll(async () => {
  await browser?.close();
  await stack?.stop();
  await issuer?.stop();
});

describe('signing in to the dashboard with OpenID Connect', () => {
  it('comes back with code and state, exchanges the code with PKCE, and the API accepts the access token', async () => {
    // Prepare: olivia already has a task, queued with a local token for the same user id.
    const local = createNightshiftClient({ baseUrl: stack.url, token: await stack.token(USER) });
    await local.createTask({ title: 'Olivia overnight refactor', not_before: '2099-01-01T00:00:00Z' });
    const context = await browser.newContext();
    const page = await context.newPage();
    const apiBearers: string[] = [];
    page.on('request', (request) => {
      if (new URL(request.url()).pathname.startsWith('/api/v1/')) apiBearers.push(request.headers().authorization ?? '');
    });

    // Act
    await page.goto(`${stack.url}/`);
    await page.getByRole('button', { name: 'Sign in with single sign-on' }).click();
    await page.getByRole('heading', { name: 'Tonight' }).waitFor();
    await page.getByRole('listitem', { name: 'Olivia overnight refactor', exact: true }).waitFor();
    await page.screenshot({ path: join(SHOTS, 'oidc-signed-in.png'), fullPage: true });

    // Assess: one authorization code request with PKCE, one exchange whose verifier matched it.
    expect(issuer.authorizeRequests).toHaveLength(1);
    expect(Object.fromEntries(issuer.authorizeRequests[0] ?? [])).toMatchObject({
      response_type: 'code',
      client_id: 'dashboard',
      audience: AUDIENCE,
      redirect_uri: `${stack.url}/sign-in/callback`,
      code_challenge_method: 'S256',
      state: expect.stringMatching(/.+/),
    });
    expect(issuer.exchanges).toEqual([expect.objectContaining({ client_id: 'dashboard', redirect_uri: `${stack.url}/sign-in/callback`, pkce_ok: true })]);
    const accessToken = issuer.exchanges[0]?.access_token ?? '';
    expect(accessToken).not.toBe('');
    // The dashboard keeps the access token and sends it to the API, which answered with olivia's tasks.
    expect(JSON.parse((await page.evaluate("localStorage.getItem('nightshift.credential')") as string | null) ?? '{}')).toEqual({ kind: 'token', value: accessToken, via: 'oidc' });
    expect(apiBearers.length).toBeGreaterThan(0);
    expect(new Set(apiBearers)).toEqual(new Set([`Bearer ${accessToken}`]));
    expect(page.url()).toBe(`${stack.url}/`);
    await context.close();
  });

  it('the API refuses a token of the same issuer made for another audience', async () => {
    const response = await fetch(`${stack.url}/api/v1/tasks`, { headers: { authorization: `Bearer ${await issuer.tokenFor('someone-else')}` } });
    expect(response.status).toBe(401);
    expect(await response.json()).toMatchObject({ error: { code: 'UNAUTHORIZED' } });
  });
});

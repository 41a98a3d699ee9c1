import { createNightshiftClient, NightshiftApiError, type NightshiftClient } from '../../src/client/client.js';

/** What /config.json at the site root says: written by `npm start` locally and by the CDK stack in AWS. */
export interface RuntimeConfig {
  /** Base URL of the API; '' means the same origin as the app. */
  api_url: string;
  oidc: { issuer: string; client_id: string; audience: string } | null;
  local_sign_in: boolean;
}

/** How the user proved who they are: a bearer JWT (pasted, local or OIDC) or an API key. */
export interface Credential {
  kind: 'token' | 'api_key';
  value: string;
  via: 'pasted' | 'local' | 'oidc';
}

const STORAGE_KEY = 'nightshift.credential';

export async function loadConfig(): Promise<RuntimeConfig> {
  try {
    const response = await fetch('/config.json', { cache: 'no-store' });
    if (response.ok) {
      const body = (await response.json()) as Partial<RuntimeConfig>;
      return { api_url: body.api_url ?? '', oidc: body.oidc ?? null, local_sign_in: body.local_sign_in === true };
    }
  } catch {
    // No config.json: same-origin API, paste-a-key sign-in only.
  }
  return { api_url: '', oidc: null, local_sign_in: false };
}

export function storedCredential(): Credential | null {
  try {
    const raw = localStorage.getItem(STORAGE_KEY);
    if (!raw) return null;
    const parsed = JSON.parse(raw) as Partial<Credential>;
    if ((parsed.kind === 'token' || parsed.kind === 'api_key') && typeof parsed.value === 'string' && parsed.value) {
      return { kind: parsed.kind, value: parsed.value, via: parsed.via ?? 'pasted' };
    }
  } catch {
    // A damaged entry is as good as none.
  }
  return null;
}

export function storeCredential(credential: Credential | null): void {
  if (credential) localStorage.setItem(STORAGE_KEY, JSON.stringify(credential));
  else localStorage.removeItem(STORAGE_KEY);
}

/** API keys start with ns_; anything else pasted is taken as a bearer token. */
export const credentialFromPaste = (text: string): Credential => {
  const value = text.trim();
  return { kind: value.startsWith('ns_') ? 'api_key' : 'token', value, via: 'pasted' };
};

/** The user id and admin flag a JWT claims (unverified: the API checks; this only shapes the UI). */
export function identityOf(credential: Credential): { userId: string | null; isAdmin: boolean } {
  if (credential.kind !== 'token') return { userId: null, isAdmin: false };
  try {
    const payload = credential.value.split('.')[1] ?? '';
    const json = JSON.parse(atob(payload.replace(/-/g, '+').replace(/_/g, '/'))) as Record<string, unknown>;
    const groups = [json.groups, json['cognito:groups']].flatMap((g) => (Array.isArray(g) ? g : typeof g === 'string' ? g.split(/[\s,]+/) : []));
    return { userId: typeof json.sub === 'string' ? json.sub : null, isAdmin: groups.includes('admin') };
  } catch {
    return { userId: null, isAdmin: false };
  }
}

export const apiBase = (config: RuntimeConfig): string => config.api_url || window.location.origin;

export function clientFor(config: RuntimeConfig, credential: Credential): NightshiftClient {
  return createNightshiftClient({
    baseUrl: apiBase(config),
    ...(credential.kind === 'token' ? { token: credential.value } : { apiKey: credential.value }),
    retries: 1,
  });
}

/** For routes the typed client has no helper for yet: same credentials, same error type. */
export async function callApi<T>(config: RuntimeConfig, credential: Credential, method: string, path: string, body?: unknown): Promise<T> {
  const headers: Record<string, string> = { 'content-type': 'application/json' };
  if (credential.kind === 'token') headers.authorization = `Bearer ${credential.value}`;
  else headers['x-api-key'] = credential.value;
  let response: Response;
  try {
    response = await fetch(`${apiBase(config)}${path}`, { method, headers, body: body === undefined ? undefined : JSON.stringify(body) });
  } catch (error) {
    throw new NightshiftApiError(0, 'NETWORK_ERROR', `Cannot reach the Nightshift API: ${error instanceof Error ? error.message : String(error)}`);
  }
  const text = await response.text();
  const parsed = text ? (JSON.parse(text) as unknown) : null;
  if (!response.ok) {
    const error = (parsed as { error?: { code?: string; message?: string } } | null)?.error;
    throw new NightshiftApiError(response.status, (error?.code ?? 'INTERNAL_ERROR') as NightshiftApiError['code'], error?.message ?? `The API answered ${response.status}`);
  }
  return parsed as T;
}

/** The local runtime's sign-in: it mints a token with the local signer (never in AWS). */
export async function localSignIn(userId: string, admin: boolean): Promise<Credential> {
  const response = await fetch('/local/sign-in', { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ user_id: userId, admin }) });
  const body = (await response.json().catch(() => ({}))) as { token?: string; error?: { message?: string } };
  if (!response.ok || !body.token) throw new Error(body.error?.message ?? `Local sign-in failed (${response.status})`);
  return { kind: 'token', value: body.token, via: 'local' };
}

async function oidcManager(config: RuntimeConfig) {
  const oidc = config.oidc;
  if (!oidc) throw new Error('OpenID Connect is not configured');
  // Loaded only when used, so the first page does not carry it.
  const { UserManager, WebStorageStateStore } = await import('oidc-client-ts');
  return new UserManager({
    authority: oidc.issuer,
    client_id: oidc.client_id,
    redirect_uri: `${window.location.origin}/sign-in/callback`,
    post_logout_redirect_uri: `${window.location.origin}/sign-in`,
    response_type: 'code',
    scope: 'openid profile email',
    extraQueryParams: { audience: oidc.audience },
    userStore: new WebStorageStateStore({ store: window.sessionStorage }),
  });
}

/** Authorization code with PKCE: leaves for the issuer's sign-in page. */
export async function startOidcSignIn(config: RuntimeConfig): Promise<void> {
  await (await oidcManager(config)).signinRedirect();
}

/** Back from the issuer: trades the code for tokens and keeps the access token. */
export async function finishOidcSignIn(config: RuntimeConfig): Promise<Credential> {
  const user = await (await oidcManager(config)).signinRedirectCallback();
  return { kind: 'token', value: user.access_token, via: 'oidc' };
}

export const errorText = (error: unknown): string => (error instanceof Error ? error.message : String(error));

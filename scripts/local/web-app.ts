import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { extname, join, normalize, resolve, sep } from 'node:path';
import { fileURLToPath } from 'node:url';
import { signLocalToken } from './local-auth.js';

/*
 * The dashboard on one machine: the built app (web/dist) next to the API on the same port, its
 * runtime /config.json, and a local-only sign-in that mints a token with the local signer (as
 * `npm run token` does). In AWS the app is on CloudFront and none of this exists.
 */

export const REPO_ROOT = resolve(fileURLToPath(new URL('../..', import.meta.url)));
export const WEB_ROOT = join(REPO_ROOT, 'web');
export const WEB_DIST = join(WEB_ROOT, 'dist');

const CONTENT_TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.json': 'application/json',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
  '.ico': 'image/x-icon',
  '.txt': 'text/plain; charset=utf-8',
};

const USER_ID = /^[A-Za-z0-9:_\-.]{1,128}$/;

export interface LocalWebApp {
  /** True for requests the web app answers: everything but /api/. */
  handles(req: IncomingMessage): boolean;
  serve(req: IncomingMessage, res: ServerResponse): Promise<void>;
}

const json = (res: ServerResponse, status: number, body: unknown) => {
  res.writeHead(status, { 'content-type': 'application/json', 'cache-control': 'no-store' });
  res.end(JSON.stringify(body));
};
const failure = (res: ServerResponse, status: number, code: string, message: string) => json(res, status, { error: { code, message } });

async function readJson(req: IncomingMessage, limit = 4096): Promise<unknown> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req as AsyncIterable<Buffer>) {
    size += chunk.length;
    if (size > limit) throw new Error('too large');
    chunks.push(chunk);
  }
  return JSON.parse(Buffer.concat(chunks).toString('utf8') || 'null') as unknown;
}

async function localSignIn(req: IncomingMessage, res: ServerResponse, secret: Uint8Array): Promise<void> {
  // JSON only: a cross-site form cannot send it without a CORS preflight, which this never allows.
  if (!/^application\/json\b/i.test(req.headers['content-type'] ?? '')) return failure(res, 415, 'UNSUPPORTED_MEDIA_TYPE', 'Send the sign-in as application/json');
  let body: unknown;
  try {
    body = await readJson(req);
  } catch {
    return failure(res, 400, 'VALIDATION_ERROR', 'The body must be JSON: {"user_id": "alice", "admin": false}');
  }
  const fields = (typeof body === 'object' && body !== null ? body : {}) as { user_id?: unknown; admin?: unknown };
  if (typeof fields.user_id !== 'string' || !USER_ID.test(fields.user_id)) {
    return failure(res, 400, 'VALIDATION_ERROR', 'user_id must be 1-128 letters, digits or : _ - .');
  }
  if (fields.admin !== undefined && typeof fields.admin !== 'boolean') return failure(res, 400, 'VALIDATION_ERROR', 'admin must be true or false');
  const token = await signLocalToken(secret, fields.user_id, { admin: fields.admin === true, expiresIn: '7d' });
  json(res, 200, { token, user_id: fields.user_id, admin: fields.admin === true });
}

/** A file of the build for this URL path, or null (then the SPA's index.html answers). */
function fileFor(distDir: string, pathname: string): string | null {
  let decoded: string;
  try {
    decoded = decodeURIComponent(pathname);
  } catch {
    return null;
  }
  const candidate = normalize(join(distDir, decoded));
  if (!candidate.startsWith(distDir + sep)) return null;
  return existsSync(candidate) && statSync(candidate).isFile() ? candidate : null;
}

/** An OpenID Connect issuer the dashboard offers single sign-on with, as config.json names it. */
export interface LocalOidc {
  issuer: string;
  client_id: string;
  audience: string;
}

export function createLocalWebApp(options: { secret: Uint8Array; distDir?: string; oidc?: LocalOidc }): LocalWebApp {
  const distDir = resolve(options.distDir ?? WEB_DIST);
  // The dashboard talks to the issuer itself (discovery, token): an http:// issuer on this machine needs naming.
  const issuerOrigin = options.oidc ? ` ${new URL(options.oidc.issuer).origin}` : '';
  return {
    handles: (req) => !new URL(req.url ?? '/', 'http://127.0.0.1').pathname.startsWith('/api/'),
    async serve(req, res) {
      const { pathname } = new URL(req.url ?? '/', 'http://127.0.0.1');
      const method = (req.method ?? 'GET').toUpperCase();
      if (pathname === '/local/sign-in') {
        if (method !== 'POST') return failure(res, 405, 'METHOD_NOT_ALLOWED', 'POST a user_id to sign in locally');
        return localSignIn(req, res, options.secret);
      }
      if (method !== 'GET' && method !== 'HEAD') return failure(res, 405, 'METHOD_NOT_ALLOWED', `${method} is not allowed on ${pathname.slice(0, 200)}`);
      if (pathname === '/config.json') return json(res, 200, { api_url: '', oidc: options.oidc ?? null, local_sign_in: true });
      const file = fileFor(distDir, pathname);
      const index = join(distDir, 'index.html');
      if (!file && extname(pathname) && pathname !== '/') return failure(res, 404, 'NOT_FOUND', `No file ${pathname.slice(0, 200)}`);
      const target = file ?? index;
      if (!existsSync(target)) {
        res.writeHead(503, { 'content-type': 'text/plain; charset=utf-8' });
        return void res.end('The dashboard is not built yet: run `npm run build:web` (npm start builds it on first start).\n');
      }
      const hashed = target.includes(`${sep}assets${sep}`);
      res.writeHead(200, {
        'content-type': CONTENT_TYPES[extname(target)] ?? 'application/octet-stream',
        'cache-control': hashed ? 'public, max-age=31536000, immutable' : 'no-cache',
        'x-content-type-options': 'nosniff',
        ...(target === index ? { 'content-security-policy': `default-src 'self'; img-src 'self' data:; style-src 'self' 'unsafe-inline'; connect-src 'self' https:${issuerOrigin}; frame-ancestors 'none'` } : {}),
      });
      res.end(method === 'HEAD' ? undefined : readFileSync(target));
    },
  };
}

/** Newest modification time under `dir` (skipping dist/ and node_modules/), in ms. */
function newestMtime(dir: string): number {
  let newest = 0;
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    if (entry.name === 'dist' || entry.name === 'node_modules') continue;
    const path = join(dir, entry.name);
    newest = Math.max(newest, entry.isDirectory() ? newestMtime(path) : statSync(path).mtimeMs);
  }
  return newest;
}

/** True when web/dist is missing or older than the app's sources (or the typed client it uses). */
export function webBuildIsStale(webRoot = WEB_ROOT, distDir = join(webRoot, 'dist')): boolean {
  const index = join(distDir, 'index.html');
  if (!existsSync(index)) return true;
  const sources = Math.max(newestMtime(webRoot), newestMtime(join(REPO_ROOT, 'src', 'client')));
  return statSync(index).mtimeMs < sources;
}

/** Builds the dashboard with Vite (what `npm run build:web` does). */
export async function buildWebApp(): Promise<void> {
  const { build } = await import('vite');
  await build({ configFile: join(WEB_ROOT, 'vite.config.ts'), logLevel: 'warn' });
}

/** Builds the dashboard when its build is missing or stale; returns whether it built. */
export async function ensureWebBuild(log?: (line: string) => void): Promise<boolean> {
  if (!webBuildIsStale()) return false;
  log?.('building the dashboard (web/dist is missing or older than web/) ...');
  await buildWebApp();
  return true;
}

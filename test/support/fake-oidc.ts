import { createHash, randomBytes } from 'node:crypto';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import { exportJWK, generateKeyPair, SignJWT } from 'jose';

/** One authorization code the fake issued, and what was asked with it. */
interface Grant {
  client_id: string;
  redirect_uri: string;
  code_challenge: string;
  subject: string;
}

/** A code exchange at the token endpoint, as the fake saw it. */
export interface Exchange {
  client_id: string | null;
  redirect_uri: string | null;
  code_verifier: string | null;
  /** Whether the verifier hashes to the code's challenge (S256). */
  pkce_ok: boolean;
  access_token: string | null;
}

/**
 * A small OpenID Connect provider on 127.0.0.1 (a third party: the one thing faked): discovery,
 * an authorize endpoint that signs in `subject` at once and redirects back with `code` and
 * `state`, a token endpoint that checks PKCE (S256) and issues RS256 JWTs signed with `jose`,
 * and the JWKS to verify them.
 */
export async function startFakeOidc(options: { subject: string; audience: string; groups?: string[] }) {
  const { publicKey, privateKey } = await generateKeyPair('RS256');
  const jwk = { ...(await exportJWK(publicKey)), kid: 'fake-1', alg: 'RS256', use: 'sig' };
  const grants = new Map<string, Grant>();
  const authorizeRequests: URLSearchParams[] = [];
  const exchanges: Exchange[] = [];
  let issuer = '';

  const sign = (claims: Record<string, unknown>, audience: string, subject: string) =>
    new SignJWT(claims).setProtectedHeader({ alg: 'RS256', kid: 'fake-1' }).setIssuer(issuer).setAudience(audience).setSubject(subject).setIssuedAt().setExpirationTime('10m').sign(privateKey);

  const cors = { 'access-control-allow-origin': '*', 'access-control-allow-headers': 'content-type, authorization', 'access-control-allow-methods': 'GET, POST, OPTIONS' };
  const json = (res: ServerResponse, status: number, body: unknown) => {
    res.writeHead(status, { 'content-type': 'application/json', 'cache-control': 'no-store', ...cors });
    res.end(JSON.stringify(body));
  };
  const readBody = (req: IncomingMessage) =>
    new Promise<string>((resolve) => {
      const chunks: Buffer[] = [];
      req.on('data', (chunk: Buffer) => chunks.push(chunk));
      req.on('end', () => resolve(Buffer.concat(chunks).toString('utf8')));
    });

  const server = createServer((req, res) => {
    void (async () => {
      const url = new URL(req.url ?? '/', issuer);
      if (req.method === 'OPTIONS') {
        res.writeHead(204, cors);
        return res.end();
      }
      if (url.pathname === '/.well-known/openid-configuration') {
        return json(res, 200, {
          issuer,
          authorization_endpoint: `${issuer}/authorize`,
          token_endpoint: `${issuer}/token`,
          jwks_uri: `${issuer}/jwks`,
          response_types_supported: ['code'],
          code_challenge_methods_supported: ['S256'],
          subject_types_supported: ['public'],
          id_token_signing_alg_values_supported: ['RS256'],
        });
      }
      if (url.pathname === '/jwks') return json(res, 200, { keys: [jwk] });
      if (url.pathname === '/authorize') {
        const query = url.searchParams;
        authorizeRequests.push(query);
        const redirect = query.get('redirect_uri');
        if (!redirect || query.get('response_type') !== 'code' || query.get('code_challenge_method') !== 'S256' || !query.get('code_challenge')) {
          return json(res, 400, { error: 'invalid_request' });
        }
        const code = randomBytes(16).toString('hex');
        grants.set(code, { client_id: query.get('client_id') ?? '', redirect_uri: redirect, code_challenge: query.get('code_challenge') ?? '', subject: options.subject });
        const back = new URL(redirect);
        back.searchParams.set('code', code);
        back.searchParams.set('state', query.get('state') ?? '');
        res.writeHead(302, { location: back.toString() });
        return res.end();
      }
      if (url.pathname === '/token' && req.method === 'POST') {
        const form = new URLSearchParams(await readBody(req));
        const grant = grants.get(form.get('code') ?? '');
        grants.delete(form.get('code') ?? '');
        const verifier = form.get('code_verifier');
        const pkceOk = !!grant && !!verifier && createHash('sha256').update(verifier).digest('base64url') === grant.code_challenge;
        const exchange: Exchange = { client_id: form.get('client_id'), redirect_uri: form.get('redirect_uri'), code_verifier: verifier, pkce_ok: pkceOk, access_token: null };
        exchanges.push(exchange);
        if (!grant || form.get('grant_type') !== 'authorization_code' || !pkceOk || form.get('redirect_uri') !== grant.redirect_uri || form.get('client_id') !== grant.client_id) {
          return json(res, 400, { error: 'invalid_grant' });
        }
        exchange.access_token = await sign({ groups: options.groups ?? [] }, options.audience, grant.subject);
        const idToken = await sign({}, grant.client_id, grant.subject);
        return json(res, 200, { access_token: exchange.access_token, id_token: idToken, token_type: 'Bearer', expires_in: 600, scope: 'openid profile email' });
      }
      json(res, 404, { error: 'not_found' });
    })();
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address();
  issuer = `http://127.0.0.1:${typeof address === 'object' && address ? address.port : 0}`;
  return {
    issuer,
    jwksUrl: `${issuer}/jwks`,
    authorizeRequests,
    exchanges,
    /** A token of this issuer for another audience: the API must refuse it. */
    tokenFor: (audience: string) => sign({}, audience, options.subject),
    stop: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

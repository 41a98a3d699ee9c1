import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { DynamoDBDocumentClient, GetCommand } from '@aws-sdk/lib-dynamodb';
import type { APIGatewayRequestAuthorizerEventV2 } from 'aws-lambda';
import { mockClient } from 'aws-sdk-client-mock';
import { exportJWK, generateKeyPair, SignJWT, type JWK, type JWTPayload } from 'jose';
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import { hashApiKey } from '../../../src/api-keys/api-keys.js';

/*
 * The real module (module-scope config and remote JWKS) against a JWKS served from 127.0.0.1,
 * with keys generated here; the API-key lookup goes to a mocked DynamoDB client.
 */
const ISSUER = 'https://issuer.test/';
const AUDIENCE = 'nightshift';
const ddb = mockClient(DynamoDBDocumentClient);

let server: Server;
let handler: (event: APIGatewayRequestAuthorizerEventV2) => Promise<{ isAuthorized: boolean; context: Record<string, string> }>;
type PrivateKey = Awaited<ReturnType<typeof generateKeyPair>>['privateKey'];
let signingKey: PrivateKey;
let otherKey: PrivateKey;

const event = (headers: Record<string, string>): APIGatewayRequestAuthorizerEventV2 =>
  ({ version: '2.0', type: 'REQUEST', routeKey: 'GET /api/v1/tasks', rawPath: '/api/v1/tasks', headers, identitySource: [] }) as unknown as APIGatewayRequestAuthorizerEventV2;

const sign = (claims: JWTPayload, options: { key?: PrivateKey; kid?: string; issuer?: string; audience?: string; expiresIn?: string; subject?: string | null } = {}) => {
  let jwt = new SignJWT(claims)
    .setProtectedHeader({ alg: 'RS256', kid: options.kid ?? 'k1' })
    .setIssuer(options.issuer ?? ISSUER)
    .setAudience(options.audience ?? AUDIENCE)
    .setIssuedAt()
    .setExpirationTime(options.expiresIn ?? '10m');
  if (options.subject !== null) jwt = jwt.setSubject(options.subject ?? 'alice');
  return jwt.sign(options.key ?? signingKey);
};

beforeAll(async () => {
  const pair = await generateKeyPair('RS256', { extractable: true });
  signingKey = pair.privateKey;
  otherKey = (await generateKeyPair('RS256')).privateKey;
  const jwk: JWK = { ...(await exportJWK(pair.publicKey)), kid: 'k1', alg: 'RS256', use: 'sig' };
  server = createServer((_req, res) => {
    res.writeHead(200, { 'content-type': 'application/json' });
    res.end(JSON.stringify({ keys: [jwk] }));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  vi.stubEnv('JWKS_URL', `http://127.0.0.1:${port}/.well-known/jwks.json`);
  vi.stubEnv('JWT_ISSUER', ISSUER);
  vi.stubEnv('JWT_AUDIENCE', AUDIENCE);
  ({ handler } = await import('../../../functions/authorizer/handler.js'));
});

afterEach(() => ddb.reset());
afterAll(async () => {
  vi.unstubAllEnvs();
  await new Promise<void>((resolve) => server.close(() => resolve()));
});

describe('authorizer: bearer JWT', () => {
  it('allows a valid token and passes the user id and comma-joined groups that identityOf reads', async () => {
    const result = await handler(event({ authorization: `Bearer ${await sign({ groups: ['admin', 'ops'] })}` }));
    expect(result).toEqual({ isAuthorized: true, context: { user_id: 'alice', groups: 'admin,ops', auth: 'jwt' } });
  });

  it('reads Cognito groups too', async () => {
    const result = await handler(event({ authorization: `Bearer ${await sign({ 'cognito:groups': ['admin'] })}` }));
    expect(result.context).toMatchObject({ user_id: 'alice', groups: 'admin' });
  });

  it.each([
    ['expired', () => sign({}, { expiresIn: '-1m' })],
    ['another issuer', () => sign({}, { issuer: 'https://evil.test/' })],
    ['another audience', () => sign({}, { audience: 'someone-else' })],
    ['signed with a key not in the JWKS', () => sign({}, { key: otherKey })],
    ['an unknown kid', () => sign({}, { kid: 'nope' })],
    ['no subject', () => sign({}, { subject: null })],
    ['an empty subject', () => sign({}, { subject: '' })],
    ['a subject longer than 256 characters', () => sign({}, { subject: 'x'.repeat(257) })],
    ['alg none', async () => `${Buffer.from('{"alg":"none"}').toString('base64url')}.${Buffer.from(JSON.stringify({ sub: 'alice', iss: ISSUER, aud: AUDIENCE, exp: 9_999_999_999 })).toString('base64url')}.`],
    ['HS256 signed with a guessable secret', () => new SignJWT({}).setProtectedHeader({ alg: 'HS256', kid: 'k1' }).setSubject('alice').setIssuer(ISSUER).setAudience(AUDIENCE).setExpirationTime('10m').sign(new TextEncoder().encode('secret'))],
    ['not a JWT', async () => 'not-a-jwt'],
  ])('denies a token with %s', async (_name, token) => {
    const result = await handler(event({ authorization: `Bearer ${await token()}` }));
    expect(result.isAuthorized).toBe(false);
    expect(result.context).toEqual({});
  });

  it('does not fall back to an API key when the bearer token is bad', async () => {
    const key = `ns_${'a'.repeat(43)}`;
    ddb.on(GetCommand).resolves({ Item: { key_id: 'k', user_id: 'bob', expires_at_iso: null } });
    const result = await handler(event({ authorization: 'Bearer not-a-jwt', 'x-api-key': key }));
    expect(result.isAuthorized).toBe(false);
  });

  it('refuses a token of another issuer without fetching keys', async () => {
    const { createAuthorizer } = await import('../../../functions/authorizer/handler.js');
    const keys = vi.fn();
    const authorize = createAuthorizer({ keys, issuer: ISSUER, audience: AUDIENCE, authenticateApiKey: async () => null });
    const result = await authorize(event({ authorization: `Bearer ${await sign({}, { issuer: 'https://evil.test/' })}` }));
    expect(result.isAuthorized).toBe(false);
    expect(keys).not.toHaveBeenCalled();
  });

  it('drops group names that could smuggle separators into the joined list', async () => {
    const result = await handler(event({ authorization: `Bearer ${await sign({ groups: ['ops', 'x,admin', 'y admin'] })}` }));
    expect(result.context.groups).toBe('ops');
  });
});

describe('authorizer: x-api-key', () => {
  const key = `ns_${'A1b2'.repeat(10)}xyz`;

  it('allows an active key, looked up by the hash of the key, without the admin group', async () => {
    ddb.on(GetCommand).resolves({ Item: { key_id: 'key-1', user_id: 'bob', expires_at_iso: null } });
    const result = await handler(event({ 'x-api-key': key }));
    expect(result).toEqual({ isAuthorized: true, context: { user_id: 'bob', groups: '', api_key_id: 'key-1' } });
    const lookups = ddb.commandCalls(GetCommand);
    expect(lookups).toHaveLength(1);
    expect(lookups[0]!.args[0].input.Key).toEqual({ pk: `APIKEY#${hashApiKey(key)}`, sk: 'APIKEY' });
  });

  it('denies an unknown (or revoked, whose lookup item is deleted) key', async () => {
    ddb.on(GetCommand).resolves({});
    expect((await handler(event({ 'x-api-key': key }))).isAuthorized).toBe(false);
  });

  it('denies an expired key even before DynamoDB TTL removed it', async () => {
    ddb.on(GetCommand).resolves({ Item: { key_id: 'key-1', user_id: 'bob', expires_at_iso: new Date(Date.now() - 1000).toISOString() } });
    expect((await handler(event({ 'x-api-key': key }))).isAuthorized).toBe(false);
  });

  it.each(['', 'ns_short', `xx_${'a'.repeat(43)}`, `ns_${'a'.repeat(42)}!`, `ns_${'a'.repeat(10_000)}`])('denies a malformed key %# without touching the table', async (bad) => {
    const result = await handler(event(bad === '' ? {} : { 'x-api-key': bad }));
    expect(result.isAuthorized).toBe(false);
    expect(ddb.commandCalls(GetCommand)).toHaveLength(0);
  });
});

describe('authorizer configuration', () => {
  it('names the missing variables', async () => {
    const { authorizerConfig } = await import('../../../functions/authorizer/handler.js');
    expect(() => authorizerConfig({ JWT_ISSUER: ISSUER })).toThrow(/JWKS_URL.*JWT_AUDIENCE|JWT_AUDIENCE.*JWKS_URL/s);
  });
});

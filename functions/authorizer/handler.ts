import { createRemoteJWKSet } from 'jose';
import { apiKeyAuthorizerContext } from '../../src/api-keys/api-keys.js';
import { authorizerConfig, createAuthorizer } from './authorize.js';

/*
 * HTTP API Lambda REQUEST authorizer (simple responses); the decision is in ./authorize.ts.
 */
export { authorizerConfig, createAuthorizer, jwtContext, type AuthorizerContext, type AuthorizerDependencies, type AuthorizerResult } from './authorize.js';

const config = authorizerConfig(process.env);
// Module scope: a warm authorizer reuses the fetched keys (jose refetches on an unknown `kid`).
const keys = createRemoteJWKSet(config.jwksUrl, { timeoutDuration: 3000 });

export const handler = createAuthorizer({
  keys,
  issuer: config.issuer,
  audience: config.audience,
  authenticateApiKey: (key) => apiKeyAuthorizerContext(key),
});

import type { APIGatewayRequestAuthorizerEventV2, APIGatewaySimpleAuthorizerWithContextResult } from 'aws-lambda';
import { decodeJwt, errors, jwtVerify, type JWTPayload, type JWTVerifyGetKey } from 'jose';
import * as z from 'zod';
import { ConfigurationError } from '../../src/platform/errors.js';
import { logger } from '../../src/platform/logger.js';

/*
 * The authorizer's decision (handler.ts is its Lambda entry point): `Authorization: Bearer <JWT>`
 * verified against the issuer's JWKS, or `x-api-key` looked up by its hash. The context is what
 * identityOf (src/platform/http/api-handler.ts) reads: `user_id` and comma-joined `groups`. The
 * local runtime uses the same decision when it is told to trust an issuer (scripts/local/stack.ts).
 */
export type AuthorizerContext = Record<string, string>;
export type AuthorizerResult = APIGatewaySimpleAuthorizerWithContextResult<AuthorizerContext>;

const ALGORITHMS = ['RS256', 'RS384', 'RS512', 'PS256', 'PS384', 'PS512', 'ES256', 'ES384', 'ES512', 'EdDSA'];
const MAX_USER_ID_LENGTH = 256;
/** What a bad token throws; anything else (JWKS unreachable, timeouts) is ours and is thrown on. */
const CREDENTIAL_ERRORS = [
  errors.JWTExpired,
  errors.JWTClaimValidationFailed,
  errors.JWTInvalid,
  errors.JWSInvalid,
  errors.JWSSignatureVerificationFailed,
  errors.JOSEAlgNotAllowed,
  errors.JOSENotSupported,
  errors.JWKSNoMatchingKey,
  errors.JWKSMultipleMatchingKeys,
];
const isCredentialError = (error: unknown): error is errors.JOSEError => CREDENTIAL_ERRORS.some((type) => error instanceof type);

const envSchema = z.object({
  JWKS_URL: z.url(),
  JWT_ISSUER: z.string().min(1),
  JWT_AUDIENCE: z.string().min(1),
});

/** Read once at cold start; a missing or malformed variable is named in the error. */
export function authorizerConfig(env: NodeJS.ProcessEnv): { jwksUrl: URL; issuer: string; audience: string } {
  const parsed = envSchema.safeParse(env);
  if (!parsed.success) {
    throw new ConfigurationError(`Invalid authorizer configuration: ${parsed.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; ')}`);
  }
  return { jwksUrl: new URL(parsed.data.JWKS_URL), issuer: parsed.data.JWT_ISSUER, audience: parsed.data.JWT_AUDIENCE };
}

const groupList = (value: unknown): string[] =>
  (Array.isArray(value) ? value : typeof value === 'string' ? value.split(/[\s,]+/) : []).filter(
    (group): group is string => typeof group === 'string' && /^[\w:.@-]{1,128}$/.test(group),
  );

/** The context for a verified JWT, or null when it names no usable user. */
export function jwtContext(payload: JWTPayload): AuthorizerContext | null {
  const userId = payload.sub;
  if (!userId || userId.length > MAX_USER_ID_LENGTH) return null;
  const groups = [...new Set([...groupList(payload['cognito:groups']), ...groupList(payload.groups)])];
  return { user_id: userId, groups: groups.join(','), auth: 'jwt' };
}

export interface AuthorizerDependencies {
  keys: JWTVerifyGetKey;
  issuer: string;
  audience: string;
  authenticateApiKey: (key: string) => Promise<AuthorizerContext | null>;
}

const DENY: AuthorizerResult = { isAuthorized: false, context: {} };

/** Builds the authorizer; credential problems deny, infrastructure failures throw (fail closed). */
export function createAuthorizer(deps: AuthorizerDependencies) {
  return async (event: APIGatewayRequestAuthorizerEventV2): Promise<AuthorizerResult> => {
    const headers = event.headers ?? {};
    const bearer = /^Bearer\s+(\S+)$/i.exec(headers.authorization ?? '')?.[1];
    const apiKey = headers['x-api-key'];
    let context: AuthorizerContext | null = null;
    if (bearer) {
      try {
        // Tokens of another issuer are refused without fetching keys (also with the placeholder issuer).
        if (decodeJwt(bearer).iss !== deps.issuer) throw new errors.JWTClaimValidationFailed('unexpected "iss" claim value', {}, 'iss', 'check_failed');
        const { payload } = await jwtVerify(bearer, deps.keys, { issuer: deps.issuer, audience: deps.audience, algorithms: ALGORITHMS, requiredClaims: ['sub', 'exp'], clockTolerance: 5 });
        context = jwtContext(payload);
      } catch (error) {
        if (!isCredentialError(error)) throw error;
        logger.info('bearer token rejected', { reason: error.code, route: event.routeKey });
      }
    } else if (apiKey) {
      context = await deps.authenticateApiKey(apiKey);
      if (!context) logger.info('api key rejected', { route: event.routeKey });
    }
    return context ? { isAuthorized: true, context } : DENY;
  };
}

import { identityOf, parseBody, parseWith, reply, type ApiEvent, type ApiResult } from '../../../src/platform/http/api-handler.js';
import { apiKeyCreateSchema } from '../../../src/api-keys/schemas.js';
import { idParamSchema } from '../../../src/tasks/schemas.js';
import { apiKeyCreatedResponseSchema, apiKeyListResponseSchema, apiKeyRevokedResponseSchema } from '../../../src/api-keys/responses.js';
import { createApiKey, listApiKeys, revokeApiKey } from '../../../src/api-keys/api-keys.js';

/** POST /api/v1/users/me/api-keys: the answer carries the key, shown this once only. */
export async function create(event: ApiEvent): Promise<ApiResult> {
  const { userId } = identityOf(event);
  return reply(201, apiKeyCreatedResponseSchema, await createApiKey(userId, parseBody(event, apiKeyCreateSchema)), { 'cache-control': 'no-store' });
}

export async function list(event: ApiEvent): Promise<ApiResult> {
  return reply(200, apiKeyListResponseSchema, await listApiKeys(identityOf(event).userId));
}

export async function revoke(event: ApiEvent): Promise<ApiResult> {
  const { userId } = identityOf(event);
  const { id } = parseWith(event.pathParameters, idParamSchema);
  await revokeApiKey(userId, id);
  return reply(200, apiKeyRevokedResponseSchema, { revoked: true });
}

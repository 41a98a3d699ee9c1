import { identityOf, parseBody, parseWith, reply, requireAdmin, type ApiEvent, type ApiResult } from '../../../src/platform/http/api-handler.js';
import { ledgerQuerySchema, overrideCreateSchema, spaceListQuerySchema, spacePutSchema } from '../../../src/spaces/schemas.js';
import { idParamSchema } from '../../../src/tasks/schemas.js';
import { ledgerResponseSchema, overrideResponseSchema, spaceListResponseSchema, spaceQuotaResponseSchema, spaceResponseSchema } from '../../../src/spaces/responses.js';
import { getSpaceLedger, getSpaceQuota, grantOverride, listMySpaces, putSpace } from '../../../src/spaces/spaces.js';

/** GET /spaces: the caller's spaces (owned or a member of); the next page's cursor in x-next-cursor. */
export async function list(event: ApiEvent): Promise<ApiResult> {
  const query = parseWith(event.queryStringParameters, spaceListQuerySchema);
  const { spaces, nextCursor } = await listMySpaces(identityOf(event), query);
  return reply(200, spaceListResponseSchema, spaces, nextCursor ? { 'x-next-cursor': nextCursor } : {});
}

/** PUT /spaces/{id}: 201 when created (the caller owns it), 200 when updated. */
export async function put(event: ApiEvent): Promise<ApiResult> {
  const identity = identityOf(event);
  const { id } = parseWith(event.pathParameters, idParamSchema);
  const { space, created } = await putSpace(identity, id, parseBody(event, spacePutSchema));
  return reply(created ? 201 : 200, spaceResponseSchema, space);
}

export async function quota(event: ApiEvent): Promise<ApiResult> {
  const { id } = parseWith(event.pathParameters, idParamSchema);
  return reply(200, spaceQuotaResponseSchema, await getSpaceQuota(identityOf(event), id));
}

export async function ledger(event: ApiEvent): Promise<ApiResult> {
  const { id } = parseWith(event.pathParameters, idParamSchema);
  const query = parseWith(event.queryStringParameters, ledgerQuerySchema);
  return reply(200, ledgerResponseSchema, await getSpaceLedger(identityOf(event), id, query));
}

export async function override(event: ApiEvent): Promise<ApiResult> {
  const identity = identityOf(event);
  requireAdmin(identity);
  const { id } = parseWith(event.pathParameters, idParamSchema);
  return reply(201, overrideResponseSchema, await grantOverride(identity, id, parseBody(event, overrideCreateSchema)));
}

import { identityOf, parseBody, parseWith, reply, requireAdmin, type ApiEvent, type ApiResult } from '../../../src/platform/http/api-handler.js';
import { idParamSchema } from '../../../src/tasks/schemas.js';
import {
  adminOverrideRequestListQuerySchema,
  overrideRequestCreateSchema,
  overrideRequestDeclineSchema,
  overrideRequestListQuerySchema,
} from '../../../src/overrides/schemas.js';
import { overrideRequestListResponseSchema, overrideRequestResponseSchema } from '../../../src/overrides/responses.js';
import { declineOverrideRequest, listOverrideRequests, listSpaceOverrideRequests, requestOverride } from '../../../src/overrides/override-requests.js';

/** POST /spaces/{id}/override-requests: 201 the pending request. */
export async function create(event: ApiEvent): Promise<ApiResult> {
  const identity = identityOf(event);
  const { id } = parseWith(event.pathParameters, idParamSchema);
  return reply(201, overrideRequestResponseSchema, await requestOverride(identity, id, parseBody(event, overrideRequestCreateSchema)));
}

export async function listForSpace(event: ApiEvent): Promise<ApiResult> {
  const { id } = parseWith(event.pathParameters, idParamSchema);
  const query = parseWith(event.queryStringParameters, overrideRequestListQuerySchema);
  return reply(200, overrideRequestListResponseSchema, await listSpaceOverrideRequests(identityOf(event), id, query));
}

export async function adminList(event: ApiEvent): Promise<ApiResult> {
  const identity = identityOf(event);
  requireAdmin(identity);
  const query = parseWith(event.queryStringParameters, adminOverrideRequestListQuerySchema);
  return reply(200, overrideRequestListResponseSchema, await listOverrideRequests(identity, query));
}

export async function decline(event: ApiEvent): Promise<ApiResult> {
  const identity = identityOf(event);
  requireAdmin(identity);
  const { id } = parseWith(event.pathParameters, idParamSchema);
  return reply(200, overrideRequestResponseSchema, await declineOverrideRequest(identity, id, parseBody(event, overrideRequestDeclineSchema)));
}

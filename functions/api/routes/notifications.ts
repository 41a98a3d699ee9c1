import { identityOf, parseBody, parseWith, reply, type ApiEvent, type ApiResult } from '../../../src/platform/http/api-handler.js';
import { deliveriesQuerySchema, notificationSettingsPutSchema } from '../../../src/notifications/schemas.js';
import { deliveryListResponseSchema, notificationSettingsResponseSchema } from '../../../src/notifications/responses.js';
import { getSettingsView, putSettings } from '../../../src/notifications/settings.js';
import { listMyDeliveries } from '../../../src/notifications/deliveries.js';

/** PUT /api/v1/users/me/notifications: the answer carries the signing secret when it was minted. */
export async function put(event: ApiEvent): Promise<ApiResult> {
  const { userId } = identityOf(event);
  return reply(200, notificationSettingsResponseSchema, await putSettings(userId, parseBody(event, notificationSettingsPutSchema)), { 'cache-control': 'no-store' });
}

export async function get(event: ApiEvent): Promise<ApiResult> {
  return reply(200, notificationSettingsResponseSchema, await getSettingsView(identityOf(event).userId));
}

export async function deliveries(event: ApiEvent): Promise<ApiResult> {
  const { limit } = parseWith(event.queryStringParameters ?? {}, deliveriesQuerySchema);
  return reply(200, deliveryListResponseSchema, await listMyDeliveries(identityOf(event).userId, limit));
}

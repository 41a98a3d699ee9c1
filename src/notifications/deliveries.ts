import type * as z from 'zod';
import { maskUrl } from './masking.js';
import { listDeliveries, type Delivery } from './notification-store.js';
import type { deliveryListResponseSchema } from './responses.js';

const view = (delivery: Delivery) => ({
  id: delivery.id,
  event_id: delivery.event.id,
  event: delivery.event.type,
  channel: delivery.channel,
  target: delivery.channel === 'email' ? delivery.target : maskUrl(delivery.target),
  status: delivery.status,
  attempts: delivery.attempts,
  last_status_code: delivery.last_status_code,
  last_error: delivery.last_error,
  created_at: delivery.created_at,
  last_attempt_at: delivery.last_attempt_at,
  next_attempt_at: delivery.status === 'pending' || delivery.status === 'retrying' ? delivery.next_attempt_at : null,
  delivered_at: delivery.delivered_at,
});

/** GET /users/me/notifications/deliveries: the latest deliveries, newest first, so people see why one did not arrive. */
export async function listMyDeliveries(userId: string, limit: number): Promise<z.input<typeof deliveryListResponseSchema>> {
  return { deliveries: (await listDeliveries(userId, limit)).map(view) };
}

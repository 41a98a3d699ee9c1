import * as z from 'zod';
import { creditAmount } from '../credits/credit-amount.js';
import { OVERRIDE_REQUEST_STATUSES } from './override-request.js';

const credits = creditAmount({ positive: true });

/** Body of POST /api/v1/spaces/{id}/override-requests. */
export const overrideRequestCreateSchema = z
  .object({
    credits,
    reason: z.string().trim().min(1).max(1000),
  })
  .strict();
export type OverrideRequestCreate = z.infer<typeof overrideRequestCreateSchema>;

/** Body of POST /api/v1/admin/override-requests/{id}/decline. */
export const overrideRequestDeclineSchema = z
  .object({
    reason: z.string().trim().min(1).max(1000).optional(),
  })
  .strict();
export type OverrideRequestDecline = z.infer<typeof overrideRequestDeclineSchema>;

const page = {
  limit: z.coerce.number().int().min(1).max(100).default(50),
  cursor: z.string().max(512).optional(),
};

/** Query of GET /api/v1/spaces/{id}/override-requests. */
export const overrideRequestListQuerySchema = z.object(page).strict();

/** Query of GET /api/v1/admin/override-requests: without `status`, every request. */
export const adminOverrideRequestListQuerySchema = z
  .object({ status: z.enum(OVERRIDE_REQUEST_STATUSES).optional(), ...page })
  .strict();
export type AdminOverrideRequestListQuery = z.infer<typeof adminOverrideRequestListQuerySchema>;



import * as z from 'zod';
import { creditAmount } from '../credits/credit-amount.js';

const id = z.string().trim().min(1).max(128).regex(/^[A-Za-z0-9:_\-.]+$/, 'may contain letters, digits and : _ - . only');

const credits = creditAmount();

export const spaceQuotaSchema = z
  .object({
    /** Hard limit per month; null = none. */
    monthly_limit: credits.nullable().optional(),
    /** Soft limit per week (warning from 80 %); null = none. */
    weekly_limit: credits.nullable().optional(),
    /** Sub-spaces: true = draw from the parent's quota (the default), false = this space's own. */
    inherit: z.boolean().optional(),
    /** 0 = Sunday (the default) .. 6 = Saturday. */
    weekly_reset_day: z.number().int().min(0).max(6).optional(),
    /** Day of month, clamped to the month's end; defaults to the owner's billing day. */
    monthly_reset_day: z.number().int().min(1).max(31).optional(),
  })
  .strict();
export type SpaceQuotaInput = z.infer<typeof spaceQuotaSchema>;

/** Body of PUT /api/v1/spaces/{id}: omitted fields keep their value; null clears parent or quota. */
export const spacePutSchema = z
  .object({
    name: z.string().trim().min(1).max(200).optional(),
    parent_id: id.nullable().optional(),
    members: z.array(id).max(500).optional(),
    quota: spaceQuotaSchema.nullable().optional(),
  })
  .strict();
export type SpacePut = z.infer<typeof spacePutSchema>;

/** Body of POST /api/v1/admin/spaces/{id}/overrides. */
export const overrideCreateSchema = z
  .object({
    credits: credits.refine((value) => value > 0, { error: 'must be more than 0' }),
    reason: z.string().trim().min(1).max(1000),
    expires_at: z.iso.datetime({ offset: true }),
    /** An override request of this space this grant answers; it must be pending, and is marked granted. */
    request_id: id.optional(),
  })
  .strict();
export type OverrideCreate = z.infer<typeof overrideCreateSchema>;

/** GET /api/v1/spaces: a page of the caller's spaces. */
export const spaceListQuerySchema = z
  .object({
    limit: z.coerce.number().int().min(1).max(100).default(50),
    cursor: z.string().max(2048).optional(),
  })
  .strict();

export const ledgerQuerySchema = z
  .object({
    limit: z.coerce.number().int().min(1).max(100).default(50),
    cursor: z.string().max(2048).optional(),
  })
  .strict();

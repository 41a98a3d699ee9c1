import * as z from 'zod';
import { instant } from '../platform/wire.js';

const quotaLevel = z.enum(['OK', 'WARNING', 'BLOCKED']);

const overrideSchema = z.object({ id: z.string(), credits: z.number(), expires_at: instant, created_at: instant });

export const spaceResponseSchema = z.object({
  id: z.string(),
  name: z.string(),
  owner_id: z.string(),
  parent_id: z.string().nullable(),
  members: z.array(z.string()),
  quota: z
    .object({
      monthly_limit: z.number().nullable(),
      weekly_limit: z.number().nullable(),
      inherit: z.boolean().optional(),
      weekly_reset_day: z.number().int(),
      monthly_reset_day: z.number().int(),
    })
    .nullable(),
  overrides: z.array(overrideSchema).meta({ description: 'Overrides still in force' }),
  created_at: instant,
  updated_at: instant,
});

/** GET /spaces: the caller's spaces, by id; the next page's cursor is in x-next-cursor. */
export const spaceListResponseSchema = z.array(spaceResponseSchema);

const quotaWindowSchema = z.object({
  used: z.number(),
  limit: z.number().nullable(),
  remaining: z.number().nullable(),
  resets_at: instant,
});

export const spaceQuotaResponseSchema = z.object({
  space_id: z.string(),
  quota_space_id: z.string().meta({ description: 'The space whose quota applies (this one or an ancestor)' }),
  inherited: z.boolean(),
  status: quotaLevel,
  message: z.string(),
  weekly: quotaWindowSchema,
  monthly: quotaWindowSchema.extend({ override_credits: z.number() }),
});

export const overrideResponseSchema = z.object({
  id: z.string(),
  space_id: z.string(),
  requested_space_id: z.string(),
  credits: z.number(),
  reason: z.string(),
  expires_at: instant,
  created_at: instant,
  actor: z.string(),
  request_id: z.string().nullable().default(null).meta({ description: 'The override request this grant answered' }),
});

export const ledgerResponseSchema = z.object({
  entries: z.array(
    z.object({
      id: z.string(),
      task_id: z.string().nullable(),
      space_id: z.string(),
      task_space_id: z.string().nullable(),
      executor_id: z.string().nullable(),
      credits: z.number().meta({
        description: '+ charge, - refund; an override row carries the credits it grants; override_request and override_declined rows the credits asked for (they move no counter)',
      }),
      reason: z.enum(['charge', 'refund', 'override', 'override_request', 'override_declined']),
      actor: z.string(),
      created_at: instant,
      note: z.string().nullable(),
      expires_at: instant.nullable(),
      request_id: z.string().nullable().default(null).meta({ description: 'The override request an override row granted or a request row tells of' }),
    }),
  ),
  next_cursor: z.string().nullable(),
  quota_space_id: z.string(),
});

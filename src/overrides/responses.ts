import * as z from 'zod';
import { instant } from '../platform/wire.js';
import { OVERRIDE_REQUEST_STATUSES } from './override-request.js';

export const overrideRequestResponseSchema = z
  .object({
    request_id: z.string(),
    space_id: z.string(),
    user_id: z.string().meta({ description: 'Who asked' }),
    credits: z.number(),
    reason: z.string(),
    status: z.enum(OVERRIDE_REQUEST_STATUSES),
    created_at: instant,
    decided_at: instant.nullable(),
    decided_by: z.string().nullable().meta({ description: 'The admin who granted or declined it' }),
    decision_reason: z.string().nullable(),
    override_id: z.string().nullable().default(null).meta({ description: 'The ledger id of the override that granted it' }),
  })
  .meta({
    example: {
      request_id: '3f8a1c52-9a0e-4c55-8d0f-7f2b9f6f4a11',
      space_id: 'research',
      user_id: 'alice',
      credits: 50,
      reason: 'Launch week: the nightly evals need more credits',
      status: 'pending',
      created_at: '2026-10-26T22:10:00.000Z',
      decided_at: null,
      decided_by: null,
      decision_reason: null,
      override_id: null,
    },
  });

export const overrideRequestListResponseSchema = z.object({
  override_requests: z.array(overrideRequestResponseSchema).meta({ description: 'Newest first' }),
  next_cursor: z.string().nullable(),
});

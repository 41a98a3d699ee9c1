import * as z from 'zod';
import { PLAN_NAMES } from './plans.js';
import { storableNumber } from '../platform/storable-json.js';

/** Body of PUT /api/v1/admin/users/{id}/plan. */
export const planChangeSchema = z.object({ plan: z.enum(PLAN_NAMES) }).strict();

/** Body of PUT /api/v1/admin/users/{id}/limits: per-user limits; null removes an override (back to the plan's value). */
export const limitsChangeSchema = z
  .object({
    max_concurrent_agents: z.number().int().min(0).max(1000).nullable().optional(),
    max_task_duration_minutes: z.number().int().min(1).max(24 * 60).nullable().optional(),
    monthly_agent_hours_limit: storableNumber().min(0).max(100_000).nullable().optional(),
    monthly_agent_hours_unlimited: z.literal(true).optional(),
    max_pending_tasks: z.number().int().min(1).max(10_000).nullable().optional(),
    billing_cycle_day: z.number().int().min(1).max(31).optional(),
  })
  .strict();

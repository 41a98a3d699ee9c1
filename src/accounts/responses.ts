import * as z from 'zod';
import { instant } from '../platform/wire.js';

/** `UserLimits`: the plan's limits after the user's overrides, and this billing window's hours. */
export const userLimitsResponseSchema = z.object({
  user_id: z.string(),
  plan: z.string(),
  max_concurrent_agents: z.number().int(),
  max_task_duration_minutes: z.number().int(),
  max_pending_tasks: z.number().int(),
  monthly_agent_hours_limit: z.number().nullable().meta({ description: 'null: unlimited' }),
  monthly_agent_hours_used: z.number(),
  monthly_agent_hours_reserved: z.number(),
  billing_cycle_day: z.number().int(),
  billing_cycle_resets_at: instant,
  overrides: z
    .object({
      max_concurrent_agents: z.number().int().optional(),
      max_task_duration_minutes: z.number().int().optional(),
      monthly_agent_hours: z.number().nullable().optional(),
      max_pending_tasks: z.number().int().optional(),
    })
    .meta({ description: "An admin's per-user changes to the plan's limits" }),
});

import * as z from 'zod';
import { taskResponseSchema } from '../tasks/responses.js';
import { instant } from '../platform/wire.js';

export const executorResponseSchema = z.object({
  executor_id: z.string(),
  capabilities: z.array(z.string()),
  models: z.array(z.string()),
  max_concurrent: z.number().int(),
  active_count: z.number().int(),
  online: z.boolean().meta({ description: 'A heartbeat (registration or lease) within the last 60 s' }),
  last_heartbeat_at: instant,
  registered_at: instant,
});

export const executorListResponseSchema = z.array(executorResponseSchema);

/** A leased task with its callback token (shown this once) for POST /tasks/{id}/complete. */
export const leaseResponseSchema = taskResponseSchema.extend({
  callback_token: z.string(),
  callback_url: z.string().nullable(),
});

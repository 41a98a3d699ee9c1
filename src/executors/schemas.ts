import * as z from 'zod';

const executorId = z.string().trim().min(1).max(128).regex(/^[A-Za-z0-9:_\-.]+$/, 'may contain letters, digits and : _ - . only');

/** Body of POST /api/v1/executors: registers a device or heartbeats it (the same call). */
export const executorRegistrationSchema = z
  .object({
    executor_id: executorId,
    /** `integration.action` (e.g. `gmail.send`), `integration.*`, or `agent`. */
    capabilities: z.array(z.string().trim().min(1).max(128).regex(/^[a-z0-9_]+(\.([a-z0-9_]+|\*))?$/, 'is `integration.action`, `integration.*` or `agent`')).max(200),
    models: z.array(z.string().trim().min(1).max(100)).max(100).default([]),
    max_concurrent: z.number().int().min(1).max(100).default(1),
  })
  .strict();
export type ExecutorRegistration = z.infer<typeof executorRegistrationSchema>;

export const executorIdParamSchema = z.object({ id: executorId });

/** Query of POST /api/v1/executors/{id}/lease: how long to long-poll (seconds, default and at most 20). */
export const leaseQuerySchema = z
  .object({ wait_seconds: z.coerce.number().min(0).max(20).default(20) })
  .strict();

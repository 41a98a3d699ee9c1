import * as z from 'zod';

/** Body of POST /api/v1/users/me/api-keys. `expires_at` null or absent: the key never expires. */
export const apiKeyCreateSchema = z
  .object({
    name: z.string().trim().min(1).max(100),
    expires_at: z.iso.datetime({ offset: true }).nullable().optional(),
  })
  .strict();
export type ApiKeyCreate = z.infer<typeof apiKeyCreateSchema>;

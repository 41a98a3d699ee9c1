import * as z from 'zod';
import { instant } from '../platform/wire.js';

/** An API key as its owner sees it; never the secret. */
export const apiKeyResponseSchema = z.object({
  id: z.string(),
  name: z.string(),
  prefix: z.string(),
  created_at: instant,
  expires_at: instant.nullable(),
  revoked_at: instant.nullable(),
  status: z.enum(['active', 'expired', 'revoked']),
});

export const apiKeyListResponseSchema = z.array(apiKeyResponseSchema);

/** The answer to creating a key: the only time `key` is shown. */
export const apiKeyCreatedResponseSchema = apiKeyResponseSchema.extend({ key: z.string().meta({ description: 'Send as x-api-key; shown once' }) });

export const apiKeyRevokedResponseSchema = z.object({ revoked: z.literal(true) });

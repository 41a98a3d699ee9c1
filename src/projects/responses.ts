import * as z from 'zod';
import { instant } from '../platform/wire.js';

/** `Project`: a repository tasks start from. Never carries credentials. */
export const projectResponseSchema = z
  .object({
    id: z.string(),
    owner_id: z.string(),
    name: z.string(),
    repo_url: z.string().meta({ description: 'A local path or file:// URL (one machine), or an https:// / ssh address' }),
    default_branch: z.string(),
    push: z.boolean().meta({ description: 'Push each task branch back to the repository' }),
    pull_requests: z.boolean().meta({ description: 'Open a draft pull request for each pushed branch (GitHub)' }),
    created_at: instant,
    updated_at: instant,
  })
  .meta({
    examples: [
      { id: 'web', owner_id: 'alice', name: 'Web app', repo_url: 'https://github.com/acme/web.git', default_branch: 'main', push: true, pull_requests: false, created_at: '2026-10-25T22:00:00.000Z', updated_at: '2026-10-25T22:00:00.000Z' },
    ],
  });

export const projectListResponseSchema = z.array(projectResponseSchema);

export const projectDeletedResponseSchema = z.object({ deleted: z.literal(true) });

import * as z from 'zod';
import { refNameProblem, repoUrlProblem } from './project.js';

export const repoUrlSchema = z
  .string()
  .min(1)
  .max(2048)
  .superRefine((url, ctx) => {
    const problem = repoUrlProblem(url);
    if (problem) ctx.addIssue({ code: 'custom', message: problem });
  });

export const refNameSchema = z
  .string()
  .min(1)
  .max(255)
  .superRefine((ref, ctx) => {
    const problem = refNameProblem(ref);
    if (problem) ctx.addIssue({ code: 'custom', message: problem });
  });

/** Body of PUT /api/v1/projects/{id}. */
export const projectPutSchema = z
  .object({
    name: z.string().trim().min(1).max(200).optional(),
    repo_url: repoUrlSchema,
    default_branch: refNameSchema.default('main'),
    push: z.boolean().default(false),
    pull_requests: z.boolean().default(false),
  })
  .strict();
export type ProjectPut = z.infer<typeof projectPutSchema>;

export const projectListQuerySchema = z
  .object({
    limit: z.coerce.number().int().min(1).max(100).default(50),
    cursor: z.string().max(2048).optional(),
  })
  .strict();

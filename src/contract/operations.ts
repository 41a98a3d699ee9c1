import type * as z from 'zod';
import type { ErrorCode } from '../platform/errors.js';
import { healthResponseSchema, openApiDocumentSchema } from '../platform/wire.js';
import { limitsChangeSchema, planChangeSchema } from '../accounts/schemas.js';
import { userLimitsResponseSchema } from '../accounts/responses.js';
import { apiKeyCreateSchema } from '../api-keys/schemas.js';
import { apiKeyCreatedResponseSchema, apiKeyListResponseSchema, apiKeyRevokedResponseSchema } from '../api-keys/responses.js';
import { batchCreateSchema, batchListQuerySchema, batchReportQuerySchema, batchRerunFailedSchema } from '../batches/schemas.js';
import {
  batchCancelledResponseSchema,
  batchCreatedResponseSchema,
  batchListResponseSchema,
  batchReportResponseSchema,
  batchViewResponseSchema,
} from '../batches/responses.js';
import { executorIdParamSchema, executorRegistrationSchema, leaseQuerySchema } from '../executors/schemas.js';
import { executorListResponseSchema, executorResponseSchema, leaseResponseSchema } from '../executors/responses.js';
import { ledgerQuerySchema, overrideCreateSchema, spaceListQuerySchema, spacePutSchema } from '../spaces/schemas.js';
import { ledgerResponseSchema, overrideResponseSchema, spaceListResponseSchema, spaceQuotaResponseSchema, spaceResponseSchema } from '../spaces/responses.js';
import { idParamSchema, taskCreateSchema, taskRerunSchema, taskDiffQuerySchema, taskListQuerySchema, taskLogsQuerySchema, taskResultSchema } from '../tasks/schemas.js';
import { deliveriesQuerySchema, notificationSettingsPutSchema } from '../notifications/schemas.js';
import { deliveryListResponseSchema, notificationSettingsResponseSchema } from '../notifications/responses.js';
import { adminOverrideRequestListQuerySchema, overrideRequestCreateSchema, overrideRequestDeclineSchema, overrideRequestListQuerySchema } from '../overrides/schemas.js';
import { overrideRequestListResponseSchema, overrideRequestResponseSchema } from '../overrides/responses.js';
import { projectListQuerySchema, projectPutSchema } from '../projects/schemas.js';
import { projectDeletedResponseSchema, projectListResponseSchema, projectResponseSchema } from '../projects/responses.js';
import {
  callbackAcceptedResponseSchema,
  queueStatusResponseSchema,
  taskCancelledResponseSchema,
  taskEstimateResponseSchema,
  taskListResponseSchema,
  taskLogsResponseSchema,
  taskResponseSchema,
} from '../tasks/responses.js';

/** A named schema: it becomes `#/components/schemas/<name>` in the OpenAPI document. */
export interface Named {
  readonly name: string;
  readonly schema: z.ZodType;
}

export type ResponseHeader = 'x-next-cursor' | 'cache-control';

/** What the contract says about one route of the route table, beyond its method, path and auth. */
export interface Operation {
  readonly operationId: string;
  readonly tag: 'tasks' | 'batches' | 'projects' | 'accounts' | 'spaces' | 'executors' | 'api-keys' | 'notifications' | 'meta';
  readonly summary: string;
  readonly body?: Named & { readonly example?: unknown };
  readonly query?: z.ZodType;
  readonly path?: z.ZodType;
  /** Success answers by status; `null` is an answer without a body (204); a `TextAnswer` is not JSON. */
  readonly responses: Readonly<Record<number, (Named & { readonly headers?: readonly ResponseHeader[] }) | TextAnswer | null>>;
  /** Honours the Idempotency-Key header (src/platform/http/idempotency.ts). */
  readonly idempotent?: true;
  /** Error codes this route answers beyond the ones every route can (validation, auth, 5xx). */
  readonly errors?: readonly ErrorCode[];
}

/** A plain-text answer (a patch, a stat) in one of these media types. */
export interface TextAnswer {
  readonly description: string;
  readonly mediaTypes: readonly string[];
}

export const isTextAnswer = (answer: unknown): answer is TextAnswer => typeof answer === 'object' && answer !== null && 'mediaTypes' in answer;

const n = (name: string, schema: z.ZodType): Named => ({ name, schema });

const Task = n('Task', taskResponseSchema);
const TaskCreate = n('TaskCreate', taskCreateSchema);
const OverrideRequest = n('OverrideRequest', overrideRequestResponseSchema);
const OverrideRequestList = n('OverrideRequestList', overrideRequestListResponseSchema);
const taskCreateExample = { title: 'Fix the flaky login test', description: 'tests/login.spec.ts fails one run in ten', priority: 2, estimated_minutes: 20 };

/** routeKey -> operation. A test checks that every route of the route table is here and vice versa. */
export const OPERATIONS: Readonly<Record<string, Operation>> = {
  'GET /api/v1/health': { operationId: 'getHealth', tag: 'meta', summary: 'Health of the table and the queues (no auth)', responses: { 200: n('Health', healthResponseSchema), 503: n('Health', healthResponseSchema) } },
  'GET /api/v1/openapi.json': { operationId: 'getOpenApiDocument', tag: 'meta', summary: 'This OpenAPI 3.1 document (no auth)', responses: { 200: n('OpenApiDocument', openApiDocumentSchema) } },
  'POST /api/v1/tasks': {
    operationId: 'createTask',
    tag: 'tasks',
    summary: 'Queue a task',
    body: { ...TaskCreate, example: taskCreateExample },
    responses: { 201: Task },
    idempotent: true,
    errors: ['TOO_MANY_PENDING', 'MONTHLY_LIMIT_REACHED', 'CREDIT_LIMIT_REACHED', 'NO_LOCAL_EXECUTOR', 'FORBIDDEN', 'NOT_FOUND', 'CONFLICT', 'IDEMPOTENCY_CONFLICT', 'PAYLOAD_TOO_LARGE'],
  },
  'POST /api/v1/tasks/{id}/rerun': {
    operationId: 'rerunTask',
    tag: 'tasks',
    summary: 'Queue a new task from a finished one (completed, failed or cancelled), with rerun_of pointing back; the body overrides fields',
    path: idParamSchema,
    body: { ...n('TaskRerun', taskRerunSchema), example: { description: 'Try again with the new fixtures', priority: 1 } },
    responses: { 201: Task },
    idempotent: true,
    errors: ['TASK_NOT_FOUND', 'TASK_NOT_FINISHED', 'TOO_MANY_PENDING', 'MONTHLY_LIMIT_REACHED', 'CREDIT_LIMIT_REACHED', 'NO_LOCAL_EXECUTOR', 'FORBIDDEN', 'NOT_FOUND', 'CONFLICT', 'IDEMPOTENCY_CONFLICT'],
  },
  'GET /api/v1/tasks': {
    operationId: 'listTasks',
    tag: 'tasks',
    summary: "The caller's tasks, newest first; the next page's cursor is in x-next-cursor",
    query: taskListQuerySchema,
    responses: { 200: { ...n('TaskList', taskListResponseSchema), headers: ['x-next-cursor'] } },
  },
  'GET /api/v1/tasks/queue-status': { operationId: 'getQueueStatus', tag: 'tasks', summary: 'Running and pending counts against the plan', responses: { 200: n('QueueStatus', queueStatusResponseSchema) } },
  'POST /api/v1/tasks/estimate': {
    operationId: 'estimateTask',
    tag: 'tasks',
    summary: 'Where a task would run and what it would cost; writes nothing',
    body: { ...TaskCreate, example: taskCreateExample },
    responses: { 200: n('TaskEstimate', taskEstimateResponseSchema) },
    errors: ['FORBIDDEN', 'NOT_FOUND', 'NO_LOCAL_EXECUTOR', 'PAYLOAD_TOO_LARGE'],
  },
  'GET /api/v1/tasks/{id}': { operationId: 'getTask', tag: 'tasks', summary: 'One task', path: idParamSchema, responses: { 200: Task }, errors: ['TASK_NOT_FOUND'] },
  'DELETE /api/v1/tasks/{id}': {
    operationId: 'cancelTask',
    tag: 'tasks',
    summary: "Cancel a task (a running task's sandbox is terminated)",
    path: idParamSchema,
    responses: { 200: n('TaskCancelled', taskCancelledResponseSchema) },
    errors: ['TASK_NOT_FOUND', 'TASK_ALREADY_COMPLETED', 'CONFLICT'],
  },
  'POST /api/v1/tasks/{id}/complete': {
    operationId: 'completeTask',
    tag: 'tasks',
    summary: "A sandbox's or device's report, with the task's callback token; a second report changes nothing",
    path: idParamSchema,
    body: { ...n('TaskResult', taskResultSchema), example: { status: 'completed', summary: 'Fixed the race in the login test', files_changed: ['tests/login.spec.ts'] } },
    responses: { 200: n('CallbackAccepted', callbackAcceptedResponseSchema) },
    errors: ['TASK_NOT_FOUND', 'CONFLICT', 'PAYLOAD_TOO_LARGE'],
  },
  'GET /api/v1/tasks/{id}/logs': {
    operationId: 'getTaskLogs',
    tag: 'tasks',
    summary: "The tail of the sandbox's output, where the provider keeps it",
    path: idParamSchema,
    query: taskLogsQuerySchema,
    responses: { 200: n('TaskLogs', taskLogsResponseSchema) },
    errors: ['TASK_NOT_FOUND'],
  },
  'GET /api/v1/tasks/{id}/diff': {
    operationId: 'getTaskDiff',
    tag: 'tasks',
    summary: "A repository task's patch as a unified diff; ?stat=1 git's stat of it",
    path: idParamSchema,
    query: taskDiffQuerySchema,
    responses: { 200: { description: 'The patch (text/x-diff), or with ?stat=1 the stat (text/plain)', mediaTypes: ['text/x-diff', 'text/plain'] } },
    errors: ['TASK_NOT_FOUND', 'NOT_FOUND'],
  },
  'PUT /api/v1/projects/{id}': {
    operationId: 'putProject',
    tag: 'projects',
    summary: 'Create (201, the caller owns it) or update (200) a project: a repository tasks start from',
    path: idParamSchema,
    body: { ...n('ProjectPut', projectPutSchema), example: { name: 'Web app', repo_url: 'https://github.com/acme/web.git', default_branch: 'main', push: true, pull_requests: false } },
    responses: { 200: n('Project', projectResponseSchema), 201: n('Project', projectResponseSchema) },
    errors: ['FORBIDDEN', 'CONFLICT'],
  },
  'GET /api/v1/projects': {
    operationId: 'listProjects',
    tag: 'projects',
    summary: "The caller's projects; the next page's cursor is in x-next-cursor",
    query: projectListQuerySchema,
    responses: { 200: { ...n('ProjectList', projectListResponseSchema), headers: ['x-next-cursor'] } },
  },
  'GET /api/v1/projects/{id}': { operationId: 'getProject', tag: 'projects', summary: 'One project', path: idParamSchema, responses: { 200: n('Project', projectResponseSchema) }, errors: ['PROJECT_NOT_FOUND'] },
  'DELETE /api/v1/projects/{id}': {
    operationId: 'deleteProject',
    tag: 'projects',
    summary: 'Delete a project (its tasks keep their branches and patches)',
    path: idParamSchema,
    responses: { 200: n('ProjectDeleted', projectDeletedResponseSchema) },
    errors: ['PROJECT_NOT_FOUND'],
  },
  'POST /api/v1/batches': {
    operationId: 'createBatch',
    tag: 'batches',
    summary: 'Create up to 100 tasks all-or-nothing, with a start time, a deadline and an optional recurrence',
    body: {
      ...n('BatchCreate', batchCreateSchema),
      example: { name: 'tonight', not_before: '2026-10-26T01:00:00+01:00', deadline: '2026-10-26T07:00:00+01:00', tasks: [taskCreateExample] },
    },
    responses: { 201: n('BatchCreated', batchCreatedResponseSchema) },
    idempotent: true,
    errors: ['TOO_MANY_PENDING', 'MONTHLY_LIMIT_REACHED', 'CREDIT_LIMIT_REACHED', 'NO_LOCAL_EXECUTOR', 'FORBIDDEN', 'NOT_FOUND', 'CONFLICT', 'IDEMPOTENCY_CONFLICT', 'PAYLOAD_TOO_LARGE'],
  },
  'POST /api/v1/batches/{id}/rerun-failed': {
    operationId: 'rerunFailedBatchTasks',
    tag: 'batches',
    summary: "Queue the failed tasks of a run (default: the latest) again as a new run of the batch, each with rerun_of",
    path: idParamSchema,
    body: { ...n('BatchRerunFailed', batchRerunFailedSchema), example: {} },
    responses: { 201: n('BatchCreated', batchCreatedResponseSchema) },
    idempotent: true,
    errors: ['NOT_FOUND', 'NOTHING_TO_RERUN', 'TOO_MANY_PENDING', 'MONTHLY_LIMIT_REACHED', 'CREDIT_LIMIT_REACHED', 'NO_LOCAL_EXECUTOR', 'FORBIDDEN', 'CONFLICT', 'IDEMPOTENCY_CONFLICT'],
  },
  'GET /api/v1/batches': {
    operationId: 'listBatches',
    tag: 'batches',
    summary: "The caller's batches; the next page's cursor is in x-next-cursor",
    query: batchListQuerySchema,
    responses: { 200: { ...n('BatchList', batchListResponseSchema), headers: ['x-next-cursor'] } },
  },
  'GET /api/v1/batches/{id}': { operationId: 'getBatch', tag: 'batches', summary: "A batch, its latest run's progress and the deadline answer", path: idParamSchema, responses: { 200: n('BatchView', batchViewResponseSchema) }, errors: ['NOT_FOUND'] },
  'DELETE /api/v1/batches/{id}': {
    operationId: 'cancelBatch',
    tag: 'batches',
    summary: "Cancel a batch: its unfinished tasks and its recurrence",
    path: idParamSchema,
    responses: { 200: n('BatchCancelled', batchCancelledResponseSchema) },
    errors: ['NOT_FOUND', 'CONFLICT'],
  },
  'GET /api/v1/batches/{id}/report': {
    operationId: 'getBatchReport',
    tag: 'batches',
    summary: 'The morning report of one run: per task outcome, summary, times, hours, credits; totals',
    path: idParamSchema,
    query: batchReportQuerySchema,
    responses: { 200: n('BatchReport', batchReportResponseSchema) },
    errors: ['NOT_FOUND'],
  },
  'GET /api/v1/users/me/limits': { operationId: 'getMyLimits', tag: 'accounts', summary: "The caller's plan limits and this month's hours", responses: { 200: n('UserLimits', userLimitsResponseSchema) } },
  'PUT /api/v1/admin/users/{id}/plan': {
    operationId: 'setUserPlan',
    tag: 'accounts',
    summary: "Admin: change a user's plan",
    path: idParamSchema,
    body: { ...n('PlanChange', planChangeSchema), example: { plan: 'pro' } },
    responses: { 200: n('UserLimits', userLimitsResponseSchema) },
    errors: ['FORBIDDEN', 'CONFLICT'],
  },
  'PUT /api/v1/admin/users/{id}/limits': {
    operationId: 'setUserLimits',
    tag: 'accounts',
    summary: "Admin: per-user overrides of the plan's limits (null goes back to the plan's value)",
    path: idParamSchema,
    body: { ...n('LimitsChange', limitsChangeSchema), example: { max_concurrent_agents: 2, max_pending_tasks: 10 } },
    responses: { 200: n('UserLimits', userLimitsResponseSchema) },
    errors: ['FORBIDDEN', 'CONFLICT'],
  },
  'GET /api/v1/spaces': {
    operationId: 'listSpaces',
    tag: 'spaces',
    summary: "The spaces the caller owns or is a member of, by id; the next page's cursor is in x-next-cursor",
    query: spaceListQuerySchema,
    responses: { 200: { ...n('SpaceList', spaceListResponseSchema), headers: ['x-next-cursor'] } },
  },
  'PUT /api/v1/spaces/{id}': {
    operationId: 'putSpace',
    tag: 'spaces',
    summary: 'Create (201, the caller owns it) or update (200) a space',
    path: idParamSchema,
    body: { ...n('SpacePut', spacePutSchema), example: { name: 'Research', members: ['bob'], quota: { monthly_limit: 100, weekly_limit: 30 } } },
    responses: { 200: n('Space', spaceResponseSchema), 201: n('Space', spaceResponseSchema) },
    errors: ['FORBIDDEN', 'NOT_FOUND', 'CONFLICT'],
  },
  'GET /api/v1/spaces/{id}/quota': { operationId: 'getSpaceQuota', tag: 'spaces', summary: "A space's weekly and monthly credits: used, limit, remaining, resets", path: idParamSchema, responses: { 200: n('SpaceQuota', spaceQuotaResponseSchema) }, errors: ['FORBIDDEN', 'NOT_FOUND'] },
  'GET /api/v1/spaces/{id}/ledger': {
    operationId: 'getSpaceLedger',
    tag: 'spaces',
    summary: 'The credit audit trail, newest first',
    path: idParamSchema,
    query: ledgerQuerySchema,
    responses: { 200: n('Ledger', ledgerResponseSchema) },
    errors: ['FORBIDDEN', 'NOT_FOUND'],
  },
  'POST /api/v1/admin/spaces/{id}/overrides': {
    operationId: 'grantOverride',
    tag: 'spaces',
    summary: 'Admin: a time-boxed grant above the monthly hard limit, logged in the ledger',
    path: idParamSchema,
    body: { ...n('OverrideCreate', overrideCreateSchema), example: { credits: 50, reason: 'Launch week', expires_at: '2026-11-01T00:00:00Z', request_id: '3f8a1c52-9a0e-4c55-8d0f-7f2b9f6f4a11' } },
    responses: { 201: n('Override', overrideResponseSchema) },
    errors: ['FORBIDDEN', 'NOT_FOUND', 'CONFLICT', 'OVERRIDE_REQUEST_NOT_FOUND', 'OVERRIDE_REQUEST_DECIDED'],
  },
  'POST /api/v1/spaces/{id}/override-requests': {
    operationId: 'requestOverride',
    tag: 'spaces',
    summary: "Ask admins for credits above the space's monthly hard limit (the space's owner or members); logged in the ledger",
    path: idParamSchema,
    body: { ...n('OverrideRequestCreate', overrideRequestCreateSchema), example: { credits: 50, reason: 'Launch week: the nightly evals need more credits' } },
    responses: { 201: OverrideRequest },
    errors: ['SPACE_NOT_FOUND'],
  },
  'GET /api/v1/spaces/{id}/override-requests': {
    operationId: 'listSpaceOverrideRequests',
    tag: 'spaces',
    summary: "A space's override requests, newest first",
    path: idParamSchema,
    query: overrideRequestListQuerySchema,
    responses: { 200: OverrideRequestList },
    errors: ['SPACE_NOT_FOUND'],
  },
  'GET /api/v1/admin/override-requests': {
    operationId: 'listOverrideRequests',
    tag: 'spaces',
    summary: 'Admin: override requests of every space, one status or all, newest first',
    query: adminOverrideRequestListQuerySchema,
    responses: { 200: OverrideRequestList },
    errors: ['FORBIDDEN'],
  },
  'POST /api/v1/admin/override-requests/{id}/decline': {
    operationId: 'declineOverrideRequest',
    tag: 'spaces',
    summary: 'Admin: decline a pending override request (grant one through the overrides endpoint with request_id); logged in the ledger',
    path: idParamSchema,
    body: { ...n('OverrideRequestDecline', overrideRequestDeclineSchema), example: { reason: 'The budget for this month is spent; wait for the reset' } },
    responses: { 200: OverrideRequest },
    errors: ['FORBIDDEN', 'OVERRIDE_REQUEST_NOT_FOUND', 'OVERRIDE_REQUEST_DECIDED'],
  },
  'POST /api/v1/executors': {
    operationId: 'registerExecutor',
    tag: 'executors',
    summary: 'Register a device executor, or heartbeat it (the same call)',
    body: { ...n('ExecutorRegistration', executorRegistrationSchema), example: { executor_id: 'tauri:macbook-pro', capabilities: ['gmail.send', 'llm.chat'], models: ['phi3:3.8b'], max_concurrent: 1 } },
    responses: { 200: n('Executor', executorResponseSchema) },
    errors: ['CONFLICT'],
  },
  'GET /api/v1/executors': { operationId: 'listExecutors', tag: 'executors', summary: "The caller's device executors", responses: { 200: n('ExecutorList', executorListResponseSchema) } },
  'POST /api/v1/executors/{id}/lease': {
    operationId: 'leaseTask',
    tag: 'executors',
    summary: 'Long-poll for a task routed to this device: the task with its callback token, or 204',
    path: executorIdParamSchema,
    query: leaseQuerySchema,
    responses: { 200: n('Lease', leaseResponseSchema), 204: null },
    errors: ['NOT_FOUND', 'CONFLICT'],
  },
  'POST /api/v1/users/me/api-keys': {
    operationId: 'createApiKey',
    tag: 'api-keys',
    summary: 'Create an API key; the answer carries the key, shown this once',
    body: { ...n('ApiKeyCreate', apiKeyCreateSchema), example: { name: 'laptop', expires_at: null } },
    responses: { 201: { ...n('ApiKeyCreated', apiKeyCreatedResponseSchema), headers: ['cache-control'] } },
    errors: ['CONFLICT'],
  },
  'GET /api/v1/users/me/api-keys': { operationId: 'listApiKeys', tag: 'api-keys', summary: "The caller's API keys (never the secrets)", responses: { 200: n('ApiKeyList', apiKeyListResponseSchema) } },
  'DELETE /api/v1/users/me/api-keys/{id}': {
    operationId: 'revokeApiKey',
    tag: 'api-keys',
    summary: 'Revoke an API key',
    path: idParamSchema,
    responses: { 200: n('ApiKeyRevoked', apiKeyRevokedResponseSchema) },
    errors: ['NOT_FOUND'],
  },
  'PUT /api/v1/users/me/notifications': {
    operationId: 'putNotificationSettings',
    tag: 'notifications',
    summary: 'Set webhooks, e-mail and the digest time; the first answer (and one with rotate_secret) shows the signing secret once',
    body: {
      ...n('NotificationSettingsPut', notificationSettingsPutSchema),
      example: { webhooks: [{ url: 'https://example.com/nightshift-hook', events: ['task.completed', 'task.failed', 'batch.run_finished', 'digest'] }], email: null, digest_at: '07:00', timezone: 'Europe/Berlin' },
    },
    responses: { 200: { ...n('NotificationSettings', notificationSettingsResponseSchema), headers: ['cache-control'] } },
    errors: ['CONFLICT'],
  },
  'GET /api/v1/users/me/notifications': { operationId: 'getNotificationSettings', tag: 'notifications', summary: "The caller's notification settings (secrets masked)", responses: { 200: n('NotificationSettings', notificationSettingsResponseSchema) } },
  'GET /api/v1/users/me/notifications/deliveries': {
    operationId: 'listNotificationDeliveries',
    tag: 'notifications',
    summary: 'The latest deliveries, newest first: status, attempts, the last response code or error, the next attempt',
    query: deliveriesQuerySchema,
    responses: { 200: n('NotificationDeliveries', deliveryListResponseSchema) },
  },
};

import createClient from 'openapi-fetch';
import type { components, paths } from './api-types.js';

/*
 * The typed client of the Nightshift API, on openapi-fetch with types generated from
 * docs/openapi.json. The CLI, the dashboard and the end-to-end tests use it. It adds what every
 * caller needs: credentials, the error body as a typed error, x-next-cursor pagination, and
 * retries of 503 after Retry-After.
 */

export type Schemas = components['schemas'];
export type Task = Schemas['Task'];
export type TaskCreate = Schemas['TaskCreate'];
export type TaskStatus = Task['status'];
export type BatchCreate = Schemas['BatchCreate'];
export type ErrorCode = Schemas['Error']['error']['code'];

export interface ClientOptions {
  /** The API's origin, e.g. `http://127.0.0.1:3000` (a trailing slash or `/api/v1` is fine). */
  baseUrl: string;
  /** A bearer JWT (`npm run token` prints one locally). */
  token?: string;
  /** An API key (sent as `x-api-key`); used when no token is given. */
  apiKey?: string;
  /** How many times a 503 is retried (default 3). */
  retries?: number;
  /** Longest wait between retries, whatever Retry-After says (default 30 s). */
  maxRetryDelayMs?: number;
  /** For tests: the fetch to send requests with, and the sleep between retries. */
  fetch?: typeof fetch;
  sleep?: (ms: number) => Promise<void>;
}

/** An error answer of the API: its HTTP status and stable `code`, and its message for people. */
export class NightshiftApiError extends Error {
  readonly status: number;
  readonly code: ErrorCode | 'NETWORK_ERROR';
  readonly details?: unknown;

  constructor(status: number, code: NightshiftApiError['code'], message: string, details?: unknown) {
    super(message);
    this.name = 'NightshiftApiError';
    this.status = status;
    this.code = code;
    this.details = details;
  }
}

/** A page of a list: the items and the cursor of the next page (null on the last one). */
export interface Page<T> {
  items: T[];
  nextCursor: string | null;
}

const DEFAULT_RETRY_SECONDS = 1;

/** Seconds from a Retry-After header (delta-seconds or an HTTP date). */
function retryAfterMs(header: string | null, now: number): number {
  if (!header) return DEFAULT_RETRY_SECONDS * 1000;
  const seconds = Number(header);
  if (Number.isFinite(seconds)) return Math.max(0, seconds * 1000);
  const date = Date.parse(header);
  return Number.isNaN(date) ? DEFAULT_RETRY_SECONDS * 1000 : Math.max(0, date - now);
}

function retryingFetch(options: ClientOptions): (request: Request) => Promise<Response> {
  const send = options.fetch ?? globalThis.fetch;
  const sleep = options.sleep ?? ((ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms)));
  const retries = options.retries ?? 3;
  const maxDelay = options.maxRetryDelayMs ?? 30_000;
  return async (request) => {
    for (let attempt = 0; ; attempt++) {
      let response: Response;
      try {
        response = await send(request.clone());
      } catch (error) {
        throw new NightshiftApiError(0, 'NETWORK_ERROR', `Cannot reach the Nightshift API at ${new URL(request.url).origin}: ${error instanceof Error ? error.message : String(error)}`);
      }
      if (response.status !== 503 || attempt >= retries) return response;
      await response.body?.cancel();
      await sleep(Math.min(maxDelay, retryAfterMs(response.headers.get('retry-after'), Date.now())));
    }
  };
}

const newKey = (): string => globalThis.crypto.randomUUID();

type Answer<T> = { data?: T; error?: unknown; response: Response };

/** The data of a successful answer, or the API's error as a NightshiftApiError. */
function unwrap<T>({ data, error, response }: Answer<T>): T {
  if (response.ok) return data as T;
  const body = (error as { error?: { code?: string; message?: string; details?: unknown } } | undefined)?.error;
  throw new NightshiftApiError(
    response.status,
    (body?.code ?? 'INTERNAL_ERROR') as ErrorCode,
    body?.message ?? `The API answered ${response.status} ${response.statusText}`,
    body?.details,
  );
}

const pageOf = <T>(answer: Answer<T[]>): Page<T> => ({ items: unwrap(answer), nextCursor: answer.response.headers.get('x-next-cursor') });

export type NightshiftClient = ReturnType<typeof createNightshiftClient>;

export function createNightshiftClient(options: ClientOptions) {
  const headers: Record<string, string> = {};
  if (options.token) headers.authorization = `Bearer ${options.token}`;
  else if (options.apiKey) headers['x-api-key'] = options.apiKey;
  const baseUrl = options.baseUrl.replace(/\/+$/, '').replace(/\/api\/v1$/, '');
  const api = createClient<paths>({ baseUrl, headers, fetch: retryingFetch(options) });
  const id = (value: string) => ({ params: { path: { id: value } } });

  /** Every item of a paginated list, following x-next-cursor. */
  async function* every<T>(fetchPage: (cursor: string | undefined) => Promise<Page<T>>): AsyncGenerator<T> {
    let cursor: string | undefined;
    do {
      const page = await fetchPage(cursor);
      yield* page.items;
      cursor = page.nextCursor ?? undefined;
    } while (cursor);
  }

  const listTasks = async (query: { status?: TaskStatus; limit?: number; cursor?: string } = {}) => pageOf(await api.GET('/api/v1/tasks', { params: { query } }));
  const listSpaces = async (query: { limit?: number; cursor?: string } = {}) => pageOf(await api.GET('/api/v1/spaces', { params: { query } }));
  const listBatches = async (query: { limit?: number; cursor?: string } = {}) => pageOf(await api.GET('/api/v1/batches', { params: { query } }));
  const listProjects = async (query: { limit?: number; cursor?: string } = {}) => pageOf(await api.GET('/api/v1/projects', { params: { query } }));

  return {
    /** The underlying openapi-fetch client, for routes without a helper here. */
    api,
    health: async () => unwrap(await api.GET('/api/v1/health')),
    openapi: async () => unwrap(await api.GET('/api/v1/openapi.json')),
    /** Sent with a fresh Idempotency-Key, so the client's own retries (503) never queue twice. */
    createTask: async (body: TaskCreate, idempotencyKey: string = newKey()) => unwrap(await api.POST('/api/v1/tasks', { body, headers: { 'Idempotency-Key': idempotencyKey } })),
    rerunTask: async (taskId: string, body: Schemas['TaskRerun'] = {}, idempotencyKey: string = newKey()) =>
      unwrap(await api.POST('/api/v1/tasks/{id}/rerun', { params: { path: { id: taskId } }, body, headers: { 'Idempotency-Key': idempotencyKey } })),
    estimateTask: async (body: TaskCreate) => unwrap(await api.POST('/api/v1/tasks/estimate', { body })),
    getTask: async (taskId: string) => unwrap(await api.GET('/api/v1/tasks/{id}', id(taskId))),
    cancelTask: async (taskId: string) => unwrap(await api.DELETE('/api/v1/tasks/{id}', id(taskId))),
    taskLogs: async (taskId: string, bytes?: number) => unwrap(await api.GET('/api/v1/tasks/{id}/logs', { params: { path: { id: taskId }, query: { bytes } } })),
    queueStatus: async () => unwrap(await api.GET('/api/v1/tasks/queue-status')),
    listTasks,
    allTasks: (query: { status?: TaskStatus; limit?: number } = {}) => every((cursor) => listTasks({ ...query, cursor })),
    createBatch: async (body: BatchCreate, idempotencyKey: string = newKey()) => unwrap(await api.POST('/api/v1/batches', { body, headers: { 'Idempotency-Key': idempotencyKey } })),
    rerunFailed: async (batchId: string, body: Schemas['BatchRerunFailed'] = {}, idempotencyKey: string = newKey()) =>
      unwrap(await api.POST('/api/v1/batches/{id}/rerun-failed', { params: { path: { id: batchId } }, body, headers: { 'Idempotency-Key': idempotencyKey } })),
    getBatch: async (batchId: string) => unwrap(await api.GET('/api/v1/batches/{id}', id(batchId))),
    cancelBatch: async (batchId: string) => unwrap(await api.DELETE('/api/v1/batches/{id}', id(batchId))),
    batchReport: async (batchId: string, occurrence?: string) =>
      unwrap(await api.GET('/api/v1/batches/{id}/report', { params: { path: { id: batchId }, query: { occurrence } } })),
    listBatches,
    allBatches: (query: { limit?: number } = {}) => every((cursor) => listBatches({ ...query, cursor })),
    myLimits: async () => unwrap(await api.GET('/api/v1/users/me/limits')),
    /** The spaces the caller owns or is a member of, one page. */
    listSpaces,
    allSpaces: (query: { limit?: number } = {}) => every((cursor) => listSpaces({ ...query, cursor })),
    spaceQuota: async (spaceId: string) => unwrap(await api.GET('/api/v1/spaces/{id}/quota', id(spaceId))),
    createApiKey: async (body: Schemas['ApiKeyCreate']) => unwrap(await api.POST('/api/v1/users/me/api-keys', { body })),
    listApiKeys: async () => unwrap(await api.GET('/api/v1/users/me/api-keys')),
    revokeApiKey: async (keyId: string) => unwrap(await api.DELETE('/api/v1/users/me/api-keys/{id}', id(keyId))),
    putNotificationSettings: async (body: Schemas['NotificationSettingsPut']) => unwrap(await api.PUT('/api/v1/users/me/notifications', { body })),
    getNotificationSettings: async () => unwrap(await api.GET('/api/v1/users/me/notifications')),
    listNotificationDeliveries: async (limit?: number) => unwrap(await api.GET('/api/v1/users/me/notifications/deliveries', { params: { query: { limit } } })),
    requestOverride: async (spaceId: string, body: Schemas['OverrideRequestCreate']) =>
      unwrap(await api.POST('/api/v1/spaces/{id}/override-requests', { params: { path: { id: spaceId } }, body })),
    spaceOverrideRequests: async (spaceId: string, query: { limit?: number; cursor?: string } = {}) =>
      unwrap(await api.GET('/api/v1/spaces/{id}/override-requests', { params: { path: { id: spaceId }, query } })),
    /** Admin: the override requests of every space, newest first. */
    overrideRequests: async (query: { status?: Schemas['OverrideRequest']['status']; limit?: number; cursor?: string } = {}) =>
      unwrap(await api.GET('/api/v1/admin/override-requests', { params: { query } })),
    declineOverrideRequest: async (requestId: string, body: Schemas['OverrideRequestDecline'] = {}) =>
      unwrap(await api.POST('/api/v1/admin/override-requests/{id}/decline', { params: { path: { id: requestId } }, body })),
    /** Admin: a time-boxed override; with `request_id`, it answers that request. */
    grantOverride: async (spaceId: string, body: Schemas['OverrideCreate']) =>
      unwrap(await api.POST('/api/v1/admin/spaces/{id}/overrides', { params: { path: { id: spaceId } }, body })),
    /** The task's patch as text (`text/x-diff`), or with `stat` git's `--stat`. */
    taskDiff: async (taskId: string, options: { stat?: boolean } = {}) =>
      unwrap(await api.GET('/api/v1/tasks/{id}/diff', { params: { path: { id: taskId }, query: options.stat ? { stat: '1' } : {} }, parseAs: 'text' })),
    putProject: async (projectId: string, body: Schemas['ProjectPut']) => unwrap(await api.PUT('/api/v1/projects/{id}', { params: { path: { id: projectId } }, body })),
    getProject: async (projectId: string) => unwrap(await api.GET('/api/v1/projects/{id}', id(projectId))),
    listProjects,
    allProjects: (query: { limit?: number } = {}) => every((cursor) => listProjects({ ...query, cursor })),
    deleteProject: async (projectId: string) => unwrap(await api.DELETE('/api/v1/projects/{id}', id(projectId))),
  };
}

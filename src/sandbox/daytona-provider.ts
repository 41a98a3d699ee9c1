import { Logger } from '@aws-lambda-powertools/logger';
import {
  SandboxSpawnError,
  type LostSandbox,
  type Sandbox,
  type SandboxProvider,
  type SandboxReport,
  type SandboxTask,
  type SpawnRequest,
} from './provider.js';
import { DaytonaGit, type DaytonaGitCredentials } from './daytona-git.js';
import { finishRepositoryResult, type RepositoryResultOptions } from './repository-result.js';
import { artifactKeys } from '../platform/artifact-keys.js';

/*
 * Daytona over its REST API with plain fetch. The official SDK (@daytonaio/sdk) would pull
 * OpenTelemetry, axios and more into every Lambda bundle for the five calls used here:
 *
 *   GET    {api}/sandbox?labels={"k":"v"}                 find the task's sandbox (idempotency)
 *   POST   {api}/sandbox                                   create (labels, snapshot|buildInfo, target)
 *   GET    {api}/sandbox/{id}                              wait for state "started"
 *   POST   {toolbox}/{id}/process/session                  open the agent's session
 *   POST   {toolbox}/{id}/process/session/{sid}/exec       start the agent ({command, runAsync})
 *   GET    {toolbox}/{id}/process/session/{sid}            which command ran (for logs)
 *   GET    {toolbox}/{id}/process/session/{sid}/command/{cid}/logs
 *   PUT    {api}/sandbox/{id}/labels                       remember a checkout's base commit
 *   DELETE {api}/sandbox/{id}                              terminate
 *
 * Repository tasks add the toolbox's git and execute calls (see daytona-git.ts).
 *
 * `{toolbox}` is the sandbox's `toolboxProxyUrl`; sandboxes without one use the API's older
 * route `{api}/toolbox/{id}/toolbox/process/...`. All calls carry `Authorization: Bearer <key>`.
 */

export interface DaytonaSandboxProviderOptions extends RepositoryResultOptions {
  /** e.g. https://app.daytona.io/api, or a fake server on 127.0.0.1 in tests. */
  apiUrl: string;
  apiKey: string;
  /** The agent command (SANDBOX_COMMAND), run by `sh -c` in the sandbox. */
  command: string;
  /** Region, e.g. `us` or `eu`; Daytona's default when absent. */
  target?: string;
  /** Snapshot name or id to create the sandbox from. */
  snapshot?: string;
  /** Container image, used when no snapshot is given (Daytona builds it on first use). */
  image?: string;
  /** Minutes of inactivity before Daytona stops the sandbox (Daytona's default when absent). */
  autoStopMinutes?: number;
  fetch?: typeof fetch;
  /** How long to wait for a new sandbox to reach `started`, and how often to look. */
  startTimeoutMs?: number;
  pollIntervalMs?: number;
  /** Credentials for cloning and pushing private repositories (the provider's, never the agent's). */
  git?: DaytonaGitCredentials;
}

/** Label keys on every Nightshift sandbox; `idempotency-key` is what spawn looks up. */
export const DAYTONA_LABELS = {
  taskId: 'nightshift.task-id',
  attempt: 'nightshift.attempt',
  idempotencyKey: 'nightshift.idempotency-key',
  /** Repository tasks: the commit the branch started from, and where the checkout is. */
  baseCommit: 'nightshift.base-commit',
  workDir: 'nightshift.workdir',
} as const;

const logger = new Logger({ serviceName: 'nightshift' });

/** One session per sandbox, so the agent's command can be found again for its logs. */
export const DAYTONA_AGENT_SESSION = 'nightshift-agent';

interface DaytonaSandbox {
  id: string;
  state?: string;
  labels?: Record<string, string>;
  toolboxProxyUrl?: string;
  updatedAt?: string;
}

interface DaytonaSession {
  sessionId?: string;
  commands?: Array<{ id: string; command?: string; exitCode?: number | null }> | null;
}

/** States from which a sandbox will never run the agent; spawn replaces such a sandbox. */
const DEAD_STATES = new Set(['destroyed', 'destroying', 'error', 'build_failed']);

/** States in which the agent no longer runs (auto-stop, archive). */
const STOPPED_STATES = new Set(['stopped', 'stopping', 'archived', 'archiving']);

/** How long saving a stopped sandbox's checkout waits for it to start again. */
const COLLECT_START_TIMEOUT_MS = 30_000;

/** A Daytona answer other than 2xx. */
export class DaytonaApiError extends Error {
  constructor(
    readonly method: string,
    readonly path: string,
    readonly status: number,
    readonly body: string,
  ) {
    super(`Daytona ${method} ${path} answered ${status}: ${body.slice(0, 300)}`);
    this.name = 'DaytonaApiError';
  }
}

/**
 * Runs each task in a Daytona sandbox labelled with the task id. Spawn is idempotent: it first
 * looks the sandbox up by label and only starts the agent if the sandbox has not run it yet.
 */
export class DaytonaSandboxProvider implements SandboxProvider {
  readonly name = 'daytona';
  readonly supportsRepositories = true;
  private readonly apiUrl: string;
  private readonly fetchFn: typeof fetch;

  constructor(private readonly options: DaytonaSandboxProviderOptions) {
    this.apiUrl = options.apiUrl.replace(/\/+$/, '');
    this.fetchFn = options.fetch ?? globalThis.fetch;
  }

  async spawn(request: SpawnRequest): Promise<Sandbox> {
    try {
      const existing = await this.findSandbox(request.task);
      const sandbox = existing ?? (await this.createSandbox(request.task));
      const started = await this.waitUntilStarted(sandbox);
      await this.startAgent(started, request);
      return { id: started.id };
    } catch (error) {
      if (error instanceof SandboxSpawnError) throw error;
      throw new SandboxSpawnError(`Daytona sandbox for task ${request.task.id} failed to start`, { cause: error });
    }
  }

  async terminateAttempt(task: { id: string; attempt: number }): Promise<void> {
    const sandbox = await this.findSandbox({ id: task.id, attempt: task.attempt, title: '', description: '', user_id: '' });
    if (sandbox) await this.terminate(sandbox.id);
  }

  async terminate(sandboxId: string): Promise<void> {
    const response = await this.request('DELETE', `/sandbox/${encodeURIComponent(sandboxId)}`, undefined, [404]);
    await response.body?.cancel();
  }

  /**
   * Daytona's own state per sandbox (its API has no batch lookup by id): one deleted, destroyed,
   * errored or stopped is lost (the agent runs only in a started sandbox). Unreachable: not told.
   */
  async lostSandboxes(sandboxIds: readonly string[]): Promise<LostSandbox[]> {
    const answers = await Promise.all(
      sandboxIds.map(async (id): Promise<LostSandbox | null> => {
        try {
          const sandbox = await this.getSandbox(id);
          if (!sandbox) return { id };
          if (!DEAD_STATES.has(sandbox.state ?? '') && !STOPPED_STATES.has(sandbox.state ?? '')) return null;
          const updatedAt = sandbox.updatedAt ? new Date(sandbox.updatedAt) : undefined;
          return updatedAt && Number.isFinite(updatedAt.getTime()) ? { id, lastAliveAt: updatedAt } : { id };
        } catch {
          return null;
        }
      }),
    );
    return answers.filter((answer): answer is LostSandbox => answer !== null);
  }

  async logs(sandboxId: string, maxBytes = 16_384): Promise<string | null> {
    try {
      const sandbox = await this.getSandbox(sandboxId);
      if (!sandbox) return null;
      const sessionPath = `/process/session/${DAYTONA_AGENT_SESSION}`;
      const session = await this.toolbox(sandbox, 'GET', sessionPath, undefined, [404]);
      if (session.status === 404) return null;
      const { commands } = (await session.json()) as DaytonaSession;
      const last = commands?.at(-1);
      if (!last) return '';
      const logs = await this.toolbox(sandbox, 'GET', `${sessionPath}/command/${encodeURIComponent(last.id)}/logs`);
      return tailBytes(await logs.text(), maxBytes);
    } catch {
      // Logs are a convenience for the UI; an unreachable sandbox must not break the caller.
      return null;
    }
  }

  private async findSandbox(task: SandboxTask): Promise<DaytonaSandbox | undefined> {
    const labels = JSON.stringify({ [DAYTONA_LABELS.idempotencyKey]: idempotencyKey(task) });
    const response = await this.request('GET', `/sandbox?labels=${encodeURIComponent(labels)}`);
    const body = (await response.json()) as DaytonaSandbox[] | { items?: DaytonaSandbox[] };
    const sandboxes = Array.isArray(body) ? body : (body.items ?? []);
    // Check the labels ourselves too: a filter the server ignored must not hand us a stranger.
    return sandboxes.find(
      (sandbox) =>
        sandbox.labels?.[DAYTONA_LABELS.taskId] === task.id &&
        sandbox.labels[DAYTONA_LABELS.attempt] === String(task.attempt) &&
        !DEAD_STATES.has(sandbox.state ?? ''),
    );
  }

  private async createSandbox(task: SandboxTask): Promise<DaytonaSandbox> {
    const { snapshot, image, target, autoStopMinutes } = this.options;
    const body = {
      labels: {
        [DAYTONA_LABELS.taskId]: task.id,
        [DAYTONA_LABELS.attempt]: String(task.attempt),
        [DAYTONA_LABELS.idempotencyKey]: idempotencyKey(task),
        'nightshift.user-id': task.user_id,
      },
      ...(snapshot ? { snapshot } : image ? { buildInfo: { dockerfileContent: `FROM ${image}\n` } } : {}),
      ...(target ? { target } : {}),
      ...(autoStopMinutes !== undefined ? { autoStopInterval: autoStopMinutes } : {}),
    };
    const response = await this.request('POST', '/sandbox', body);
    return (await response.json()) as DaytonaSandbox;
  }

  private async getSandbox(sandboxId: string): Promise<DaytonaSandbox | undefined> {
    const response = await this.request('GET', `/sandbox/${encodeURIComponent(sandboxId)}`, undefined, [404]);
    if (response.status === 404) {
      await response.body?.cancel();
      return undefined;
    }
    return (await response.json()) as DaytonaSandbox;
  }

  private async waitUntilStarted(sandbox: DaytonaSandbox, timeoutMs = this.options.startTimeoutMs ?? 120_000): Promise<DaytonaSandbox> {
    const deadline = Date.now() + timeoutMs;
    let current = sandbox;
    for (;;) {
      if (current.state === undefined || current.state === 'started') return current;
      if (DEAD_STATES.has(current.state)) {
        throw new SandboxSpawnError(`Daytona sandbox ${current.id} is ${current.state}`);
      }
      if (current.state === 'stopped' || current.state === 'archived') {
        const start = await this.request('POST', `/sandbox/${encodeURIComponent(current.id)}/start`);
        await start.body?.cancel();
      }
      if (Date.now() >= deadline) {
        throw new SandboxSpawnError(`Daytona sandbox ${current.id} still ${current.state} after waiting`);
      }
      await sleep(this.options.pollIntervalMs ?? 1000);
      const next = await this.getSandbox(current.id);
      if (!next) throw new SandboxSpawnError(`Daytona sandbox ${current.id} disappeared while starting`);
      current = next;
    }
  }

  /**
   * Starts the agent unless this sandbox already did: the session is created once per sandbox,
   * so an existing session (409 on create, or commands in it) means a retry must not run twice.
   */
  private async startAgent(sandbox: DaytonaSandbox, request: SpawnRequest): Promise<void> {
    const sessionPath = `/process/session/${DAYTONA_AGENT_SESSION}`;
    const existing = await this.toolbox(sandbox, 'GET', sessionPath, undefined, [404]);
    if (existing.status !== 404) {
      const session = (await existing.json()) as DaytonaSession;
      if ((session.commands ?? []).length > 0) return;
    } else {
      await existing.body?.cancel();
      const created = await this.toolbox(sandbox, 'POST', '/process/session', { sessionId: DAYTONA_AGENT_SESSION }, [409]);
      await created.body?.cancel();
    }
    let workDir: string | undefined;
    if (request.task.repository) {
      const checkout = await this.checkoutFor(sandbox, request);
      if (!checkout) return;
      workDir = checkout;
    }
    const exec = await this.toolbox(sandbox, 'POST', `${sessionPath}/exec`, {
      command: agentCommand(this.options.command, request, workDir),
      runAsync: true,
    });
    await exec.body?.cancel();
  }

  /**
   * The checkout of a repository task, made once per sandbox (its base commit is kept in the
   * sandbox's labels). One that cannot be made fails the task at start with git's words and the
   * sandbox goes; answers null then.
   */
  private async checkoutFor(sandbox: DaytonaSandbox, request: SpawnRequest): Promise<string | null> {
    const repository = request.task.repository;
    if (!repository) return null;
    const done = sandbox.labels?.[DAYTONA_LABELS.workDir];
    if (done && sandbox.labels?.[DAYTONA_LABELS.baseCommit]) return done;
    let checkout: { workDir: string; baseCommit: string };
    try {
      checkout = await this.gitOf(sandbox).checkout(repository);
    } catch (error) {
      const reason = `Could not check out ${repository.url} at ${repository.baseRef}: ${error instanceof DaytonaApiError ? error.body.slice(0, 1000) || error.message : error instanceof Error ? error.message : String(error)}`;
      await this.report(request, { status: 'failed', error: reason });
      await this.terminate(sandbox.id).catch(() => undefined);
      return null;
    }
    const labels = { ...(sandbox.labels ?? {}), [DAYTONA_LABELS.baseCommit]: checkout.baseCommit, [DAYTONA_LABELS.workDir]: checkout.workDir };
    const replaced = await this.request('PUT', `/sandbox/${encodeURIComponent(sandbox.id)}/labels`, { labels });
    await replaced.body?.cancel();
    return checkout.workDir;
  }

  /**
   * After the agent's report: commits what it left, keeps the patch and the agent's log, pushes
   * and opens the pull request, then deletes the sandbox (its work now lives in git and the store).
   */
  async collectRepository({ sandboxId, task }: { sandboxId: string; task: SandboxTask }): Promise<SandboxReport> {
    const repository = task.repository;
    const found = await this.getSandbox(sandboxId);
    if (!found) throw new Error(`Daytona sandbox ${sandboxId} no longer exists`);
    if (DEAD_STATES.has(found.state ?? '')) throw new Error(`Daytona sandbox ${sandboxId} is ${found.state}`);
    // A stopped sandbox (auto-stop) keeps its files: started again, it answers for them.
    const sandbox = STOPPED_STATES.has(found.state ?? '') ? await this.restartToCollect(found) : found;
    const workDir = sandbox.labels?.[DAYTONA_LABELS.workDir];
    const baseCommit = sandbox.labels?.[DAYTONA_LABELS.baseCommit];
    if (!repository || !workDir || !baseCommit) throw new Error(`Daytona sandbox ${sandboxId} has no checkout of the task's repository`);
    const lines: string[] = [];
    const result = await this.gitOf(sandbox).collect(repository, workDir, baseCommit, task.title);
    const report = await finishRepositoryResult(this.options, { taskId: task.id, title: task.title, repository, result, log: (line) => void lines.push(line) });
    await this.keepLog(sandbox, task, lines);
    await this.terminate(sandboxId).catch((error: unknown) => logger.warn('Could not delete the Daytona sandbox', { sandboxId, error }));
    return { status: 'completed', summary: '', repository: report };
  }

  /** Starts a stopped sandbox again to save its checkout, waiting at most COLLECT_START_TIMEOUT_MS (the sweeper's share of its minute). */
  private async restartToCollect(sandbox: DaytonaSandbox): Promise<DaytonaSandbox> {
    const waitMs = Math.min(this.options.startTimeoutMs ?? COLLECT_START_TIMEOUT_MS, COLLECT_START_TIMEOUT_MS);
    try {
      return await this.waitUntilStarted(sandbox, waitMs);
    } catch (error) {
      throw new Error(`Daytona sandbox ${sandbox.id} is ${sandbox.state} and could not be started again: ${error instanceof Error ? error.message : String(error)}`, { cause: error });
    }
  }

  /** The agent's full output, kept in the artifact store before its sandbox goes. */
  private async keepLog(sandbox: DaytonaSandbox, task: SandboxTask, lines: string[]): Promise<void> {
    const store = this.options.artifacts?.();
    if (!store) return;
    try {
      const output = (await this.logs(sandbox.id, 64 * 1024 * 1024)) ?? '';
      await store.put(artifactKeys.agentLog(task.id, task.attempt), [output, ...lines].filter(Boolean).join('\n'), 'text/plain; charset=utf-8');
    } catch (error) {
      logger.error('Could not keep the agent log', { taskId: task.id, error });
    }
  }

  private gitOf(sandbox: DaytonaSandbox): DaytonaGit {
    return new DaytonaGit(async (method, path, body) => {
      const response = await this.toolbox(sandbox, method, path, body, [], 600_000);
      const text = await response.text();
      return text ? (JSON.parse(text) as unknown) : {};
    }, this.options.git);
  }

  /** A report of the provider itself (the sandbox token: never the agent's), retried a few times. */
  private async report(request: SpawnRequest, report: SandboxReport): Promise<void> {
    for (let attempt = 1; attempt <= 3; attempt++) {
      try {
        const response = await this.fetchFn(request.callbackUrl, {
          method: 'POST',
          headers: { 'content-type': 'application/json', authorization: `Bearer ${request.sandboxToken ?? request.callbackToken}` },
          body: JSON.stringify(report),
          signal: AbortSignal.timeout(10_000),
        });
        await response.body?.cancel();
        if (response.ok || (response.status < 500 && response.status !== 429)) return;
      } catch {
        // retried below
      }
      await sleep(250 * attempt);
    }
    logger.error('Could not report the failed checkout', { taskId: request.task.id });
  }

  private toolbox(
    sandbox: DaytonaSandbox,
    method: string,
    path: string,
    body?: unknown,
    okStatuses: number[] = [],
    timeoutMs?: number,
  ): Promise<Response> {
    const id = encodeURIComponent(sandbox.id);
    const url = sandbox.toolboxProxyUrl
      ? `${sandbox.toolboxProxyUrl.replace(/\/+$/, '')}/${id}${path}`
      : `${this.apiUrl}/toolbox/${id}/toolbox${path}`;
    return this.call(method, url, body, okStatuses, timeoutMs);
  }

  private request(method: string, path: string, body?: unknown, okStatuses: number[] = []): Promise<Response> {
    return this.call(method, `${this.apiUrl}${path}`, body, okStatuses);
  }

  private async call(method: string, url: string, body: unknown, okStatuses: number[], timeoutMs = 30_000): Promise<Response> {
    const response = await this.fetchFn(url, {
      method,
      headers: {
        authorization: `Bearer ${this.options.apiKey}`,
        ...(body === undefined ? {} : { 'content-type': 'application/json' }),
      },
      body: body === undefined ? undefined : JSON.stringify(body),
      signal: AbortSignal.timeout(timeoutMs),
    });
    if (response.ok || okStatuses.includes(response.status)) return response;
    throw new DaytonaApiError(method, new URL(url).pathname, response.status, await response.text().catch(() => ''));
  }
}

function idempotencyKey(task: SandboxTask): string {
  return `${task.id}.${task.attempt}`;
}

/**
 * The shell line the session runs. Values travel base64-encoded so quotes and newlines in a
 * task's title cannot break out of the command; `timeout` kills the agent at the task's limit.
 */
export function agentCommand(command: string, request: SpawnRequest, workDir?: string): string {
  const env: Record<string, string> = {
    NIGHTSHIFT_TASK_ID: request.task.id,
    NIGHTSHIFT_TASK_TITLE: request.task.title,
    NIGHTSHIFT_TASK_DESCRIPTION: request.task.description,
    NIGHTSHIFT_CALLBACK_URL: request.callbackUrl,
    NIGHTSHIFT_CALLBACK_TOKEN: request.callbackToken,
    NIGHTSHIFT_TIMEOUT_SECONDS: String(request.timeoutSeconds),
    ...(workDir && request.task.repository ? { NIGHTSHIFT_WORKDIR: workDir, NIGHTSHIFT_BRANCH: request.task.repository.branch } : {}),
  };
  const exports = Object.entries(env)
    .map(([name, value]) => `export ${name}="$(echo '${base64(value)}' | base64 -d)"`)
    .join('; ');
  const seconds = Math.max(1, Math.ceil(request.timeoutSeconds));
  const run = `timeout -k 10 ${seconds} sh -c "$(echo '${base64(command)}' | base64 -d)"`;
  if (!workDir) return `${exports}; mkdir -p ~/work && cd ~/work && ${run}`;
  // A repository task ends when the agent does: an agent that exits without calling back is
  // reported by its exit code (a report after the agent's own changes nothing), and Nightshift
  // then commits its work through the toolbox.
  const exitReport =
    `code=$?; if [ "$code" -eq 0 ]; then body='{"status":"completed","summary":"Exited with code 0"}'; else body="{\\"status\\":\\"failed\\",\\"error\\":\\"Exited with code $code\\"}"; fi; ` +
    `curl -sS -m 600 -X POST -H "authorization: Bearer $NIGHTSHIFT_CALLBACK_TOKEN" -H 'content-type: application/json' --data "$body" "$NIGHTSHIFT_CALLBACK_URL" >/dev/null || true; exit $code`;
  return `${exports}; cd "$NIGHTSHIFT_WORKDIR" && ${run}; ${exitReport}`;
}

function base64(value: string): string {
  return Buffer.from(value, 'utf8').toString('base64');
}

function tailBytes(text: string, maxBytes: number): string {
  const buffer = Buffer.from(text, 'utf8');
  if (buffer.length <= maxBytes) return text;
  return buffer.subarray(buffer.length - maxBytes).toString('utf8').replace(/^\uFFFD+/, '');
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

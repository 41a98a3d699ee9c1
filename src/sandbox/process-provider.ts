import { spawn as spawnChild, type ChildProcess } from 'node:child_process';
import { closeSync, existsSync, mkdirSync, openSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { open } from 'node:fs/promises';
import { join } from 'node:path';
import { Logger } from '@aws-lambda-powertools/logger';
import {
  SandboxSpawnError,
  type LostSandbox,
  type Sandbox,
  type SandboxProvider,
  type SandboxReport,
  type SpawnRequest,
} from './provider.js';
import { GitWorkspaces, type RepositoryCheckout } from './git-workspace.js';
import { artifactKeys } from '../platform/artifact-keys.js';
import type { ArtifactStore } from '../platform/artifact-store.js';
import type { GitHubOptions } from './github-pull-requests.js';
import { finishRepositoryResult, keepPatch } from './repository-result.js';

export interface ProcessSandboxProviderOptions {
  /** Shell command run with `/bin/sh -c` (SANDBOX_COMMAND), e.g. an agent CLI. */
  command: string;
  /** Sandboxes live in `<dataDir>/sandboxes/<taskId>-<attempt>/`. */
  dataDir: string;
  fetch?: typeof fetch;
  /** Extra parent variables the agent may see (e.g. its own LLM API key); nothing else leaks. */
  passEnv?: readonly string[];
  /** Grace between SIGTERM and SIGKILL when a sandbox is stopped. */
  killGraceMs?: number;
  /** Callback POST attempts before giving up (default 4) and the first backoff (doubles). */
  callbackAttempts?: number;
  callbackBackoffMs?: number;
  /** Where patches and the full agent log go when a task ends; without it they stay on disk only. */
  artifacts?: () => ArtifactStore | null;
  /** Clone, fetch and push give up after this long (default 5 minutes). */
  gitNetworkTimeoutMs?: number;
  /** For projects with `pull_requests`: GitHub's API and the token Nightshift (not the agent) uses. */
  github?: GitHubOptions;
}

/** Parent variables every sandbox inherits: enough to find programs, never credentials. */
const BASE_ENV = ['PATH', 'HOME', 'USER', 'LANG', 'LC_ALL', 'TZ', 'TMPDIR'] as const;
const SUMMARY_CHARS = 2000;
const DEFAULT_LOG_BYTES = 16_384;
const TASK_ID_PREFIX = 'NIGHTSHIFT_TASK_ID=';
/** Beside a repository sandbox's checkout: what it is a checkout of, so it can be cleaned after a crash. */
const CHECKOUT_RECORD = 'checkout.json';

interface CheckoutRecord {
  taskId: string;
  title: string;
  repository: RepositoryCheckout;
  baseCommit: string;
}
/** setTimeout's ceiling (~24.8 days); longer delays would fire at once. */
const MAX_TIMER_MS = 2 ** 31 - 1;

type EndReason = 'exited' | 'timeout' | 'terminated';

interface RunningSandbox {
  id: string;
  taskId: string;
  attempt: number;
  title: string;
  repository: RepositoryCheckout | null;
  baseCommit: string | null;
  workDir: string;
  child: ChildProcess;
  /** Process group id (the shell's pid; `detached` makes it a group leader). */
  pgid: number;
  dir: string;
  callbackUrl: string;
  callbackToken: string;
  endReason: EndReason;
  timer: NodeJS.Timeout;
  /** Resolves once the shell exited, the group is gone and any report was sent. */
  done: Promise<void>;
}

const logger = new Logger({ serviceName: 'nightshift' });

/** Providers with sandboxes still running, so shutdown can stop them without holding a reference. */
const activeProviders = new Set<ProcessSandboxProvider>();

/**
 * Stops every sandbox started by any ProcessSandboxProvider in this process, without reports
 * (local runtime shutdown: nothing should outlive it).
 */
export async function terminateAllSandboxes(): Promise<void> {
  await Promise.all([...activeProviders].map((provider) => provider.terminateAll()));
}

/**
 * Runs each task as a local shell command in its own process group and working directory
 * (the default on one machine). When the command exits without its own callback, the exit
 * code decides the outcome; at the timeout the whole group is killed and the task fails.
 */
export class ProcessSandboxProvider implements SandboxProvider {
  readonly name = 'process';
  private readonly running = new Map<string, RunningSandbox>();
  private readonly reporting = new Set<string>();
  private readonly fetchFn: typeof fetch;
  private readonly killGraceMs: number;
  private readonly git: GitWorkspaces;
  /** The sweep of checkouts left by an earlier incarnation, done once before the first spawn. */
  private staleSwept?: Promise<void>;
  readonly supportsRepositories = true;

  constructor(private readonly options: ProcessSandboxProviderOptions) {
    this.fetchFn = options.fetch ?? globalThis.fetch;
    this.killGraceMs = options.killGraceMs ?? 2000;
    this.git = new GitWorkspaces({ dataDir: options.dataDir, networkTimeoutMs: options.gitNetworkTimeoutMs });
  }

  async spawn(request: SpawnRequest): Promise<Sandbox> {
    const { task } = request;
    const key = sandboxKey(task.id, task.attempt);
    const id = `proc-${key}`;
    if (this.running.has(id)) return { id };

    await (this.staleSwept ??= this.cleanStaleCheckouts());
    const sandboxesDir = join(this.options.dataDir, 'sandboxes');
    const dir = join(sandboxesDir, key);
    try {
      mkdirSync(sandboxesDir, { recursive: true });
      // Non-recursive mkdir is the atomic "first spawn wins" check: a directory left by an
      // earlier run (or a previous incarnation of this process) means the task already started.
      mkdirSync(dir);
    } catch (error) {
      if (isErrno(error, 'EEXIST')) return { id };
      throw new SandboxSpawnError(`Cannot create sandbox directory ${dir}`, { cause: error });
    }

    const workDir = join(dir, 'work');
    const logPath = join(dir, 'output.log');
    const repository = task.repository ?? null;
    let baseCommit: string | null = null;
    if (repository) {
      try {
        baseCommit = await this.git.checkout(repository, workDir, logPath);
      } catch (error) {
        // Nothing to run the agent in: the task fails at start with git's own words, and the
        // attempt's directory stays (with the log) so a redelivered spawn does not retry it.
        const reason = `Could not check out ${repository.url} at ${repository.baseRef}: ${error instanceof Error ? error.message : String(error)}`;
        writeFileSync(logPath, `nightshift: ${reason}\n`, { flag: 'a' });
        const target = { id, callbackUrl: request.callbackUrl, callbackToken: request.sandboxToken ?? request.callbackToken };
        setImmediate(() => void this.uploadLog(task.id, task.attempt, logPath).then(() => this.postReport(target, { status: 'failed', error: reason, source: 'sandbox' })));
        return { id };
      }
    }
    let child: ChildProcess;
    try {
      if (!repository) mkdirSync(workDir);
      const out = openSync(logPath, 'a');
      try {
        child = spawnChild('/bin/sh', ['-c', this.options.command], {
          cwd: workDir,
          env: this.environment(request, workDir),
          detached: true,
          stdio: ['ignore', out, out],
        });
      } finally {
        closeSync(out);
      }
    } catch (error) {
      rmSync(dir, { recursive: true, force: true });
      throw new SandboxSpawnError(`Cannot start sandbox ${id}`, { cause: error });
    }
    if (child.pid === undefined) {
      // The failure itself arrives as an 'error' event; without a pid nothing runs, so let a
      // retry start from scratch.
      child.on('error', () => {});
      rmSync(dir, { recursive: true, force: true });
      throw new SandboxSpawnError(`Cannot start sandbox ${id}: no process`);
    }
    writeFileSync(join(dir, 'pid'), String(child.pid));
    if (repository && baseCommit) {
      // Written once the agent runs (after its pid), so a record without a live group means a crash.
      const record: CheckoutRecord = { taskId: task.id, title: task.title, repository, baseCommit };
      writeFileSync(join(dir, CHECKOUT_RECORD), JSON.stringify(record));
    }

    const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) => {
      child.on('exit', (code, signal) => resolve({ code, signal }));
      child.on('error', () => resolve({ code: null, signal: null }));
    });
    const sandbox: RunningSandbox = {
      id,
      taskId: task.id,
      attempt: task.attempt,
      title: task.title,
      repository,
      baseCommit,
      workDir,
      child,
      pgid: child.pid,
      dir,
      callbackUrl: request.callbackUrl,
      // Its own reports carry the sandbox token, which the agent never sees (see environment()).
      callbackToken: request.sandboxToken ?? request.callbackToken,
      endReason: 'exited',
      timer: setTimeout(() => {
        sandbox.endReason = 'timeout';
        void this.killGroup(sandbox.pgid);
      }, Math.min(request.timeoutSeconds * 1000, MAX_TIMER_MS)),
      done: Promise.resolve(),
    };
    sandbox.done = exited.then((exit) => this.finish(sandbox, exit));
    this.running.set(id, sandbox);
    activeProviders.add(this);
    return { id };
  }

  async terminate(sandboxId: string): Promise<void> {
    const sandbox = this.running.get(sandboxId);
    if (sandbox) {
      if (sandbox.endReason === 'exited') sandbox.endReason = 'terminated';
      await this.killGroup(sandbox.pgid);
      await sandbox.done;
      return;
    }
    // Its work is being collected right now; that removes the checkout itself.
    if (this.reporting.has(sandboxId)) return;
    await this.terminateOrphan(sandboxId);
  }

  /**
   * Removes the checkout of every repository sandbox whose agent is gone without Nightshift having
   * collected it (the local runtime crashed or was killed meanwhile), after keeping its patch. Done
   * at the first spawn of each incarnation; a sandbox whose group still runs is left alone.
   */
  async cleanStaleCheckouts(): Promise<void> {
    const sandboxesDir = join(this.options.dataDir, 'sandboxes');
    let keys: string[];
    try {
      keys = readdirSync(sandboxesDir);
    } catch {
      return;
    }
    for (const key of keys) {
      const id = `proc-${key}`;
      const dir = join(sandboxesDir, key);
      if (this.running.has(id) || this.reporting.has(id) || !existsSync(join(dir, CHECKOUT_RECORD)) || !existsSync(join(dir, 'work'))) continue;
      if (this.orphanPid(id, dir) !== null) continue;
      await this.removeCheckout(dir).catch((error: unknown) => logger.error('Could not clean a stale checkout', { sandboxId: id, error }));
    }
  }

  async terminateAttempt(task: { id: string; attempt: number }): Promise<void> {
    await this.terminate(`proc-${task.id}-${task.attempt}`);
  }

  async terminateAll(): Promise<void> {
    await Promise.all([...this.running.keys()].map((id) => this.terminate(id)));
  }

  /**
   * A sandbox is alive while it is one of this process's children (until its report is sent) or
   * an earlier incarnation's group that still runs; anything else (e.g. after a restart of
   * `npm start`, whose sandboxes die with it) is lost. Its output file's last write is the last
   * sign of life.
   */
  async lostSandboxes(sandboxIds: readonly string[]): Promise<LostSandbox[]> {
    const lost: LostSandbox[] = [];
    for (const id of sandboxIds) {
      if (this.running.has(id) || this.reporting.has(id) || !id.startsWith('proc-')) continue;
      const dir = this.dirOf(id);
      if (dir && this.orphanPid(id, dir) !== null) continue;
      let lastAliveAt: Date | undefined;
      try {
        if (dir) lastAliveAt = statSync(join(dir, 'output.log')).mtime;
      } catch {
        // No output ever written: only the sweeper's own bound is known.
      }
      lost.push(lastAliveAt ? { id, lastAliveAt } : { id });
    }
    return lost;
  }

  async logs(sandboxId: string, maxBytes = DEFAULT_LOG_BYTES): Promise<string | null> {
    const dir = this.dirOf(sandboxId);
    if (!dir) return null;
    try {
      return await readTail(join(dir, 'output.log'), maxBytes);
    } catch (error) {
      if (isErrno(error, 'ENOENT')) return existsSync(dir) ? '' : null;
      throw error;
    }
  }

  private environment(request: SpawnRequest, workDir: string): NodeJS.ProcessEnv {
    const env: NodeJS.ProcessEnv = {};
    for (const name of [...BASE_ENV, ...(this.options.passEnv ?? [])]) {
      const value = process.env[name];
      if (value !== undefined) env[name] = value;
    }
    return {
      ...env,
      NIGHTSHIFT_TASK_ID: request.task.id,
      NIGHTSHIFT_TASK_TITLE: request.task.title,
      NIGHTSHIFT_TASK_DESCRIPTION: request.task.description,
      NIGHTSHIFT_CALLBACK_URL: request.callbackUrl,
      NIGHTSHIFT_CALLBACK_TOKEN: request.callbackToken,
      NIGHTSHIFT_WORKDIR: workDir,
      ...(request.task.repository ? { NIGHTSHIFT_BRANCH: request.task.repository.branch } : {}),
    };
  }

  private async finish(
    sandbox: RunningSandbox,
    exit: { code: number | null; signal: NodeJS.Signals | null },
  ): Promise<void> {
    clearTimeout(sandbox.timer);
    // The sandbox ends with its command: background processes it left behind go too.
    await this.killGroup(sandbox.pgid);
    // Known while its work is collected and its report is on the way, so the sweeper never calls it lost meanwhile.
    this.reporting.add(sandbox.id);
    this.running.delete(sandbox.id);
    if (this.running.size === 0) activeProviders.delete(this);
    try {
      await this.collectAndReport(sandbox, exit);
    } finally {
      this.reporting.delete(sandbox.id);
    }
  }

  private async collectAndReport(sandbox: RunningSandbox, exit: { code: number | null; signal: NodeJS.Signals | null }): Promise<void> {
    const logPath = join(sandbox.dir, 'output.log');
    if (sandbox.endReason === 'terminated') {
      if (sandbox.repository) await this.removeCheckout(sandbox.dir);
      await this.uploadLog(sandbox.taskId, sandbox.attempt, logPath);
      return;
    }
    let report = await this.reportFor(sandbox, exit);
    if (sandbox.repository && sandbox.baseCommit) {
      try {
        const result = await this.git.collect(sandbox.repository, sandbox.workDir, sandbox.baseCommit, sandbox.title, logPath);
        const repository = await finishRepositoryResult(this.options, {
          taskId: sandbox.taskId,
          title: sandbox.title,
          repository: sandbox.repository,
          result,
          log: (line) => writeFileSync(logPath, `${line}\n`, { flag: 'a' }),
        });
        report = { ...report, repository };
      } catch (error) {
        report = { status: 'failed', error: `Could not commit the agent's work: ${error instanceof Error ? error.message : String(error)}` };
        await this.removeCheckout(sandbox.dir);
      }
    }
    // The worktree is gone (collect removes it); so must the record, or a later sweep would look again.
    rmSync(join(sandbox.dir, CHECKOUT_RECORD), { force: true });
    await this.uploadLog(sandbox.taskId, sandbox.attempt, logPath);
    // On a repository task this report, not the agent's own, ends the task (see completeTask).
    await this.postReport(sandbox, sandbox.repository ? { ...report, source: 'sandbox' } : report);
  }

  /**
   * A checkout whose task ends without a result (cancelled, failed, lost, or found after a
   * crash): what the agent left is committed on its branch and the patch kept, without pushing,
   * then the worktree goes. The cached clone keeps the branch.
   */
  private async removeCheckout(dir: string): Promise<void> {
    const record = readCheckoutRecord(dir);
    const workDir = join(dir, 'work');
    const logPath = join(dir, 'output.log');
    if (!record) return;
    try {
      if (existsSync(workDir)) {
        const result = await this.git.collect({ ...record.repository, push: false }, workDir, record.baseCommit, record.title, logPath);
        await keepPatch(this.store(), record.taskId, result).catch((error: unknown) => logger.error('Could not keep the patch', { taskId: record.taskId, error }));
        writeFileSync(logPath, `nightshift: removed the checkout; the agent's work is on ${record.repository.branch} in the cached clone and in the patch\n`, { flag: 'a' });
      }
    } catch (error) {
      logger.error('Could not save the work of a checkout before removing it', { taskId: record.taskId, error });
      await this.git.discard(record.repository, workDir, logPath);
    } finally {
      rmSync(workDir, { recursive: true, force: true });
      rmSync(join(dir, CHECKOUT_RECORD), { force: true });
    }
  }

  private store(): ArtifactStore | null {
    return this.options.artifacts?.() ?? null;
  }

  /** The full agent log is kept after the task ends; an unreachable store only costs the copy. */
  private async uploadLog(taskId: string, attempt: number, logPath: string): Promise<void> {
    const store = this.store();
    if (!store) return;
    try {
      await store.put(artifactKeys.agentLog(taskId, attempt), readFileSync(logPath), 'text/plain; charset=utf-8');
    } catch (error) {
      logger.error('Could not keep the agent log', { taskId, attempt, error });
    }
  }

  /**
   * Retries network errors, 429 and 5xx with a doubling backoff; other answers are final. The
   * API ignores a second report for a finished task, so a retry after a lost response is safe.
   */
  private async postReport(sandbox: Pick<RunningSandbox, 'id' | 'callbackUrl' | 'callbackToken'>, report: SandboxReport): Promise<void> {
    const attempts = this.options.callbackAttempts ?? 4;
    let backoffMs = this.options.callbackBackoffMs ?? 250;
    let lastProblem = '';
    for (let attempt = 1; attempt <= attempts; attempt++) {
      try {
        const response = await this.fetchFn(sandbox.callbackUrl, {
          method: 'POST',
          headers: { 'content-type': 'application/json', authorization: `Bearer ${sandbox.callbackToken}` },
          body: JSON.stringify(report),
          signal: AbortSignal.timeout(10_000),
        });
        await response.body?.cancel();
        if (response.ok) return;
        lastProblem = `HTTP ${response.status}`;
        if (response.status < 500 && response.status !== 429) break;
      } catch (error) {
        lastProblem = error instanceof Error ? error.message : String(error);
      }
      if (attempt < attempts) {
        await sleep(backoffMs);
        backoffMs *= 2;
      }
    }
    logger.error('Sandbox callback failed', { sandboxId: sandbox.id, status: report.status, problem: lastProblem });
  }

  private async reportFor(
    sandbox: RunningSandbox,
    exit: { code: number | null; signal: NodeJS.Signals | null },
  ): Promise<SandboxReport> {
    if (sandbox.endReason === 'timeout') return { status: 'failed', error: 'Timeout' };
    const tail = (await readTail(join(sandbox.dir, 'output.log'), SUMMARY_CHARS * 4).catch(() => ''))
      .slice(-SUMMARY_CHARS)
      .trim();
    if (exit.code === 0) return { status: 'completed', summary: tail };
    const how = exit.code !== null ? `Exited with code ${exit.code}` : `Killed by ${exit.signal ?? 'unknown signal'}`;
    return { status: 'failed', error: tail ? `${how}: ${tail}` : how };
  }

  /** SIGTERM the group, then SIGKILL whatever is still alive after the grace period. */
  private async killGroup(pgid: number): Promise<void> {
    if (!groupRunning(pgid)) return;
    signalGroup(pgid, 'SIGTERM');
    const deadline = Date.now() + this.killGraceMs;
    while (Date.now() < deadline) {
      await sleep(50);
      if (!groupRunning(pgid)) return;
    }
    signalGroup(pgid, 'SIGKILL');
  }

  /**
   * A sandbox started before this process restarted: its group may still run, but we only
   * know its pid from disk. Kill it only when /proc confirms the pid still belongs to this
   * task, so a recycled pid never takes an unrelated program down.
   */
  private async terminateOrphan(sandboxId: string): Promise<void> {
    const dir = this.dirOf(sandboxId);
    if (!dir) return;
    const pid = this.orphanPid(sandboxId, dir);
    if (pid !== null) await this.killGroup(pid);
    // Nobody will collect this sandbox's work any more: keep its patch and drop the checkout.
    await this.removeCheckout(dir);
  }

  /** The process group of a sandbox an earlier incarnation started, if it still runs this task. */
  private orphanPid(sandboxId: string, dir: string): number | null {
    let pid: number;
    try {
      pid = Number(readFileSync(join(dir, 'pid'), 'utf8'));
    } catch {
      return null;
    }
    if (!Number.isInteger(pid) || pid <= 1 || !groupRunning(pid)) return null;
    const key = sandboxId.slice('proc-'.length);
    try {
      const environ = readFileSync(`/proc/${pid}/environ`, 'utf8').split('\0');
      const taskId = environ.find((entry) => entry.startsWith(TASK_ID_PREFIX))?.slice(TASK_ID_PREFIX.length);
      if (taskId === undefined || !key.startsWith(`${sanitize(taskId)}-`)) return null;
    } catch {
      // No /proc (macOS), or the leader exited while members of its group live on: the kernel
      // does not hand out a pid that is still some group's id, so the group is still ours.
    }
    return pid;
  }

  private dirOf(sandboxId: string): string | null {
    const running = this.running.get(sandboxId);
    if (running) return running.dir;
    if (!sandboxId.startsWith('proc-')) return null;
    const key = sandboxId.slice('proc-'.length);
    if (sanitize(key) !== key || key === '' || key.startsWith('.')) return null;
    const dir = join(this.options.dataDir, 'sandboxes', key);
    return existsSync(dir) ? dir : null;
  }
}

function readCheckoutRecord(dir: string): CheckoutRecord | null {
  try {
    return JSON.parse(readFileSync(join(dir, CHECKOUT_RECORD), 'utf8')) as CheckoutRecord;
  } catch {
    return null;
  }
}

function sandboxKey(taskId: string, attempt: number): string {
  return `${sanitize(taskId)}-${attempt}`;
}

/** Task ids become directory names: keep them to a safe alphabet. */
function sanitize(value: string): string {
  return value.replace(/[^A-Za-z0-9._-]/g, '_');
}

/** Sends `signal` to the process group; false when no member is left. */
function signalGroup(pgid: number, signal: NodeJS.Signals | 0): boolean {
  try {
    process.kill(-pgid, signal);
    return true;
  } catch {
    // ESRCH: nobody left. EPERM: the id now belongs to someone else's group, so ours is gone too.
    return false;
  }
}

/**
 * True while a member of the group is still running. Killed members of a group linger as
 * zombies until their parent reaps them, which for orphans is PID 1 and, in a container, may
 * be never; signal 0 counts zombies, so on Linux we look at each member's state in /proc.
 */
function groupRunning(pgid: number): boolean {
  if (!signalGroup(pgid, 0)) return false;
  let pids: string[];
  try {
    pids = readdirSync('/proc').filter((entry) => /^\d+$/.test(entry));
  } catch {
    return true;
  }
  for (const pid of pids) {
    try {
      const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
      // Fields after "(comm)": state ppid pgrp ...; comm itself may contain spaces or ")".
      const [state, , pgrp] = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      if (Number(pgrp) === pgid && state !== 'Z' && state !== 'X') return true;
    } catch {
      // The process ended while we looked.
    }
  }
  return false;
}

async function readTail(path: string, maxBytes: number): Promise<string> {
  const handle = await open(path, 'r');
  try {
    const { size } = await handle.stat();
    const length = Math.min(size, Math.max(0, maxBytes));
    const buffer = Buffer.alloc(length);
    await handle.read(buffer, 0, length, size - length);
    // A cut through a multi-byte character decodes to U+FFFD at the start; drop it.
    return buffer.toString('utf8').replace(/^\uFFFD+/, '');
  } finally {
    await handle.close();
  }
}

function isErrno(error: unknown, code: string): boolean {
  return error instanceof Error && (error as NodeJS.ErrnoException).code === code;
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

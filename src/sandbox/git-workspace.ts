/**
 * Repository checkouts for sandboxes on one machine, with the system git: one cached bare clone
 * per repository under the data dir, and a `git worktree` per task on `nightshift/<task-id>`,
 * so fifty tasks on one repository clone it once and never share a working tree. When the agent
 * ends, Nightshift commits what it left and reads the result from git.
 */
import { execFile } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, renameSync, rmSync } from 'node:fs';
import { appendFile } from 'node:fs/promises';
import { join } from 'node:path';
import { AGENT_AUTHOR, parseNumstat, type RepositoryCheckout, type RepositoryResult } from './repository-changes.js';

export { AGENT_AUTHOR, parseNumstat, type RepositoryCheckout, type RepositoryResult } from './repository-changes.js';

export class GitCommandError extends Error {
  constructor(message: string, readonly output: string) {
    super(message);
    this.name = 'GitCommandError';
  }
}


/*
 * Every git call Nightshift makes ignores hooks and fsmonitor commands: the agent can write into
 * the cached clone's directory, and nothing it plants there may run as Nightshift.
 */
const SAFE_CONFIG = ['-c', 'core.hooksPath=/dev/null', '-c', 'core.fsmonitor=false', '-c', 'commit.gpgsign=false', '-c', 'advice.detachedHead=false'];
const MAX_OUTPUT_BYTES = 256 * 1024 * 1024;

/** Per cached clone, one checkout step at a time (clone, fetch and worktree bookkeeping share files). */
const locks = new Map<string, Promise<unknown>>();
async function withLock<T>(key: string, work: () => Promise<T>): Promise<T> {
  const previous = locks.get(key) ?? Promise.resolve();
  const next = previous.catch(() => undefined).then(work);
  locks.set(key, next);
  try {
    return await next;
  } finally {
    if (locks.get(key) === next) locks.delete(key);
  }
}

export interface GitWorkspacesOptions {
  dataDir: string;
  /** Network steps (clone, fetch, push) give up after this long: a bad URL fails, it does not hang. */
  networkTimeoutMs?: number;
}

export class GitWorkspaces {
  private readonly networkTimeoutMs: number;

  constructor(private readonly options: GitWorkspacesOptions) {
    this.networkTimeoutMs = options.networkTimeoutMs ?? 300_000;
  }

  /** Where the cached clone of `url` lives. */
  cachePath(url: string): string {
    return join(this.options.dataDir, 'repos', `${createHash('sha256').update(url).digest('hex').slice(0, 24)}.git`);
  }

  /**
   * Makes `workDir` (absent or empty) a fresh worktree of `repo.baseRef` on a new `repo.branch`.
   * A worktree or branch left by an earlier attempt of the task (a crash) is removed first.
   * Git's output goes to `logPath`. Returns the commit the branch starts from.
   */
  async checkout(repo: RepositoryCheckout, workDir: string, logPath: string): Promise<string> {
    const cache = this.cachePath(repo.url);
    return withLock(cache, async () => {
      if (!existsSync(cache)) {
        mkdirSync(join(this.options.dataDir, 'repos'), { recursive: true });
        const staging = `${cache}.clone-${process.pid}-${Date.now()}`;
        try {
          await this.git(['clone', '--bare', '--quiet', '--', repo.url, staging], { logPath, network: true });
          renameSync(staging, cache);
        } finally {
          rmSync(staging, { recursive: true, force: true });
        }
      }
      await this.git(['-C', cache, 'fetch', '--quiet', '--prune', '--force', 'origin', '+refs/heads/*:refs/remotes/origin/*', '+refs/tags/*:refs/tags/*'], { logPath, network: true });
      const base = await this.resolveCommit(cache, repo.baseRef, logPath);
      await this.removeWorktreesOf(cache, repo.branch, logPath);
      await this.git(['-C', cache, 'worktree', 'add', '--quiet', '-B', repo.branch, workDir, base], { logPath });
      return base;
    });
  }

  /**
   * Commits what the agent left uncommitted (author "Nightshift agent", message `title`), reads
   * branch, commits, stat, files and patch from git, pushes the branch when asked (a rejected
   * push is recorded, not thrown) and removes the worktree; the branch stays in the cached clone.
   */
  async collect(repo: RepositoryCheckout, workDir: string, baseCommit: string, title: string, logPath: string): Promise<RepositoryResult> {
    const inTree = ['-C', workDir];
    await this.git([...inTree, 'add', '--all'], { logPath });
    const status = await this.git([...inTree, 'status', '--porcelain'], { logPath, quiet: true });
    if (status.trim() !== '') {
      await this.git(
        ['-c', `user.name=${AGENT_AUTHOR.name}`, '-c', `user.email=${AGENT_AUTHOR.email}`, ...inTree, 'commit', '--quiet', '--no-verify', '-m', title.trim() || 'Nightshift task'],
        { logPath },
      );
    }
    const head = (await this.git([...inTree, 'rev-parse', 'HEAD'], { logPath, quiet: true })).trim();
    const numstat = await this.git([...inTree, 'diff', '--numstat', '-z', baseCommit, head], { logPath, quiet: true });
    const stat = await this.git([...inTree, 'diff', '--stat', baseCommit, head], { logPath, quiet: true });
    const patch = await this.git([...inTree, 'diff', '--binary', baseCommit, head], { logPath, quiet: true });
    const counted = parseNumstat(numstat);

    let pushError: string | null = null;
    if (repo.push) {
      try {
        await this.git([...inTree, 'push', '--quiet', '--force', 'origin', `${head}:refs/heads/${repo.branch}`], { logPath, network: true });
      } catch (error) {
        pushError = error instanceof GitCommandError ? error.message : String(error);
      }
    }
    await this.discard(repo, workDir, logPath);
    return { branch: repo.branch, base_commit: baseCommit, head_commit: head, diff_stat: counted.stat, files_changed: counted.files, push_error: pushError, patch, stat };
  }

  /** Removes a task's worktree (its branch stays in the cached clone). */
  async discard(repo: Pick<RepositoryCheckout, 'url'>, workDir: string, logPath: string): Promise<void> {
    const cache = this.cachePath(repo.url);
    await withLock(cache, async () => {
      await this.git(['-C', cache, 'worktree', 'remove', '--force', workDir], { logPath, quiet: true }).catch(() => undefined);
      await this.git(['-C', cache, 'worktree', 'prune'], { logPath, quiet: true }).catch(() => undefined);
    });
  }

  private async resolveCommit(cache: string, ref: string, logPath: string): Promise<string> {
    for (const candidate of [`refs/remotes/origin/${ref}`, `refs/tags/${ref}`, ref]) {
      try {
        return (await this.git(['-C', cache, 'rev-parse', '--verify', '--quiet', `${candidate}^{commit}`], { logPath, quiet: true })).trim();
      } catch {
        // try the next reading of the name
      }
    }
    throw new GitCommandError(`the repository has no branch, tag or commit named "${ref}"`, '');
  }

  /** A worktree (or the branch) of an earlier attempt of this task: remove it before starting again. */
  private async removeWorktreesOf(cache: string, branch: string, logPath: string): Promise<void> {
    await this.git(['-C', cache, 'worktree', 'prune'], { logPath, quiet: true });
    const list = await this.git(['-C', cache, 'worktree', 'list', '--porcelain'], { logPath, quiet: true });
    for (const block of list.split('\n\n')) {
      const path = /^worktree (.+)$/m.exec(block)?.[1];
      if (path && block.includes(`\nbranch refs/heads/${branch}`)) {
        await this.git(['-C', cache, 'worktree', 'remove', '--force', path], { logPath });
        rmSync(path, { recursive: true, force: true });
      }
    }
    await this.git(['-C', cache, 'worktree', 'prune'], { logPath, quiet: true });
  }

  /** Runs git; its command line and output go to the task log (unless `quiet`); a failure throws with git's words. */
  private async git(args: string[], options: { logPath: string; network?: boolean; quiet?: boolean }): Promise<string> {
    const shown = `$ git ${args.join(' ')}\n`;
    return new Promise((resolve, reject) => {
      execFile(
        'git',
        [...SAFE_CONFIG, ...args],
        {
          env: {
            ...process.env,
            // Credentials come from git's own configuration (a credential helper); never ask a terminal.
            GIT_TERMINAL_PROMPT: '0',
            GIT_SSH_COMMAND: process.env.GIT_SSH_COMMAND ?? 'ssh -o BatchMode=yes -o ConnectTimeout=30',
            GIT_OPTIONAL_LOCKS: '0',
          },
          timeout: options.network ? this.networkTimeoutMs : 120_000,
          maxBuffer: MAX_OUTPUT_BYTES,
          encoding: 'utf8',
        },
        (error, stdout, stderr) => {
          const output = `${stdout}${stderr}`;
          const logged = options.quiet && !error ? Promise.resolve() : appendFile(options.logPath, `${shown}${options.quiet ? stderr : output}`);
          void logged.catch(() => undefined).then(() => {
            if (!error) return resolve(stdout);
            const timedOut = (error as NodeJS.ErrnoException & { killed?: boolean }).killed;
            const words = stderr.trim().split('\n').slice(-5).join(' ').slice(0, 1000);
            reject(new GitCommandError(timedOut ? `git ${args.find((a) => !a.startsWith('-')) ?? ''} took too long and was stopped` : words || error.message, output));
          });
        },
      );
    });
  }
}


/**
 * A repository task's checkout and result inside a Daytona sandbox, through the sandbox's toolbox
 * API (what the official SDK's `sandbox.git` and `sandbox.process.executeCommand` call):
 *
 *   POST {toolbox}/{id}/git/clone      {url, path, branch | commit_id, username, password}
 *   POST {toolbox}/{id}/git/branches   {path, name}               create nightshift/<task-id>
 *   POST {toolbox}/{id}/git/checkout   {path, branch}
 *   GET  {toolbox}/{id}/git/status?path=                          {currentBranch, fileStatus[]}
 *   POST {toolbox}/{id}/git/add        {path, files: ["."]}
 *   POST {toolbox}/{id}/git/commit     {path, message, author, email} -> {hash}
 *   POST {toolbox}/{id}/git/push       {path, username, password}
 *   POST {toolbox}/{id}/process/execute {command, cwd, timeout}   -> {exitCode, result}
 *
 * Git credentials are the provider's (DAYTONA_GIT_USERNAME / DAYTONA_GIT_TOKEN), sent per call
 * and never written into the clone, so the agent in the sandbox does not get them.
 */
import { AGENT_AUTHOR, parseNumstat, type RepositoryCheckout, type RepositoryResult } from './repository-changes.js';

export interface DaytonaGitCredentials {
  username: string;
  password: string;
}

/** One toolbox call: JSON in, the parsed JSON answer out; a non-2xx answer throws DaytonaApiError. */
export type ToolboxCall = (method: string, path: string, body?: unknown) => Promise<unknown>;

interface ExecuteAnswer {
  exitCode?: number;
  result?: string;
}

interface StatusAnswer {
  fileStatus?: unknown[] | null;
}

/** Where the checkout lives, relative to the sandbox's working directory (Daytona resolves it there). */
export const DAYTONA_WORKDIR_NAME = 'nightshift-work';
const COMMIT_ID = /^[0-9a-f]{40}([0-9a-f]{24})?$/;

export class DaytonaGit {
  constructor(
    private readonly call: ToolboxCall,
    private readonly credentials: DaytonaGitCredentials | undefined,
  ) {}

  /** Clones `repo.baseRef` into a fresh directory on a new `repo.branch`; answers the directory and the commit it starts from. */
  async checkout(repo: RepositoryCheckout): Promise<{ workDir: string; baseCommit: string }> {
    const root = (await this.execute('pwd')).trim();
    const workDir = `${root.replace(/\/+$/, '')}/${DAYTONA_WORKDIR_NAME}`;
    const ref = COMMIT_ID.test(repo.baseRef) ? { commit_id: repo.baseRef } : { branch: repo.baseRef };
    await this.call('POST', '/git/clone', { url: repo.url, path: workDir, ...ref, ...this.auth() });
    await this.call('POST', '/git/branches', { path: workDir, name: repo.branch });
    await this.call('POST', '/git/checkout', { path: workDir, branch: repo.branch });
    const baseCommit = (await this.execute('git rev-parse HEAD', workDir)).trim();
    return { workDir, baseCommit };
  }

  /**
   * Commits what the agent left (author "Nightshift agent", message `title`), reads commits, stat,
   * files and patch from git and pushes the branch when asked; a rejected push is recorded.
   */
  async collect(repo: RepositoryCheckout, workDir: string, baseCommit: string, title: string): Promise<RepositoryResult> {
    const status = (await this.call('GET', `/git/status?path=${encodeURIComponent(workDir)}`)) as StatusAnswer;
    if ((status.fileStatus ?? []).length > 0) {
      await this.call('POST', '/git/add', { path: workDir, files: ['.'] });
      await this.call('POST', '/git/commit', { path: workDir, message: title.trim() || 'Nightshift task', author: AGENT_AUTHOR.name, email: AGENT_AUTHOR.email });
    }
    const head = (await this.execute('git rev-parse HEAD', workDir)).trim();
    const range = `${baseCommit} ${head}`;
    const counted = parseNumstat(await this.execute(`git diff --numstat -z ${range}`, workDir));
    const stat = await this.execute(`git diff --stat ${range}`, workDir);
    const patch = await this.execute(`git diff --binary ${range}`, workDir);
    let pushError: string | null = null;
    if (repo.push) {
      try {
        await this.call('POST', '/git/push', { path: workDir, ...this.auth() });
      } catch (error) {
        pushError = error instanceof Error ? error.message : String(error);
      }
    }
    return { branch: repo.branch, base_commit: baseCommit, head_commit: head, diff_stat: counted.stat, files_changed: counted.files, push_error: pushError, patch, stat };
  }

  private auth(): { username?: string; password?: string } {
    return this.credentials ? { username: this.credentials.username, password: this.credentials.password } : {};
  }

  /** Runs a command in the sandbox; a non-zero exit throws with its output. */
  private async execute(command: string, cwd?: string): Promise<string> {
    const answer = (await this.call('POST', '/process/execute', { command, ...(cwd ? { cwd } : {}), timeout: 300 })) as ExecuteAnswer;
    if (answer.exitCode !== 0) throw new Error(`${command.split(' ').slice(0, 3).join(' ')} failed in the sandbox (exit ${answer.exitCode ?? '?'}): ${(answer.result ?? '').trim().slice(-500)}`);
    return answer.result ?? '';
  }
}

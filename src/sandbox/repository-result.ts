/**
 * What every provider does with a repository task's result once git has it, wherever git ran
 * (a worktree on this machine, a Daytona sandbox, an ECS container): keep the patch in the
 * artifact store and open the draft pull request of a pushed remote branch.
 */
import { Logger } from '@aws-lambda-powertools/logger';
import { artifactKeys } from '../platform/artifact-keys.js';
import type { ArtifactStore } from '../platform/artifact-store.js';
import { repoLocation } from '../projects/project.js';
import { openDraftPullRequest, type GitHubOptions } from './github-pull-requests.js';
import type { RepositoryCheckout, RepositoryResult } from './repository-changes.js';
import type { SandboxReport } from './provider.js';

const logger = new Logger({ serviceName: 'nightshift' });

export interface RepositoryResultOptions {
  /** Where patches go; without a store they are not kept (the branch still is). */
  artifacts?: () => ArtifactStore | null;
  /** For projects with `pull_requests`: GitHub's API and the token Nightshift (not the agent) uses. */
  github?: GitHubOptions;
}

export interface FinishedRepositoryTask {
  taskId: string;
  title: string;
  repository: RepositoryCheckout;
  result: RepositoryResult;
  /** Appends a line to the task's log (what Nightshift did, for the user). */
  log: (line: string) => Promise<void> | void;
}

/** Stores the patch and the stat of a task (the diff endpoint answers them). */
export async function keepPatch(store: ArtifactStore | null, taskId: string, result: Pick<RepositoryResult, 'patch' | 'stat'>): Promise<void> {
  if (!store) return;
  await store.put(artifactKeys.patch(taskId), result.patch, 'text/x-diff; charset=utf-8');
  await store.put(artifactKeys.diffStat(taskId), result.stat, 'text/plain; charset=utf-8');
}

/**
 * Keeps the patch (an unreachable store costs only the copy, never the result) and opens the
 * pull request; answers the wire shape of the result for the sandbox's report.
 */
export async function finishRepositoryResult(options: RepositoryResultOptions, finished: FinishedRepositoryTask): Promise<NonNullable<SandboxReport['repository']>> {
  await keepPatch(options.artifacts?.() ?? null, finished.taskId, finished.result).catch((error: unknown) =>
    logger.error('Could not keep the patch', { taskId: finished.taskId, error }),
  );
  const { patch: _patch, stat: _stat, ...repository } = finished.result;
  return { ...repository, ...(await pullRequestFor(options.github, finished)) };
}

/**
 * A draft pull request for a pushed branch of a remote project with `pull_requests`; its failure
 * is recorded, not fatal. Also called on its own for a sandbox that pushed for itself (ECS), with
 * git's result as its wrapper reported it.
 */
export async function pullRequestFor(
  github: GitHubOptions | undefined,
  finished: Omit<FinishedRepositoryTask, 'result'> & { result: Pick<RepositoryResult, 'head_commit' | 'base_commit'> & { push_error?: string | null } },
): Promise<{ pull_request_url?: string; push_error?: string | null }> {
  const { repository: repo, result } = finished;
  // Only a branch that was pushed can be the head of a pull request.
  if (!repo.pullRequest || !repo.push || repoLocation(repo.url) !== 'remote' || result.push_error || result.head_commit === result.base_commit) return {};
  if (!github) return { push_error: 'pull_requests is on, but no GitHub token is configured for the sandbox provider (GITHUB_TOKEN, or in AWS the git secret)' };
  try {
    const url = await openDraftPullRequest(github, {
      repoUrl: repo.url,
      branch: repo.branch,
      base: repo.baseRef,
      title: finished.title,
      body: `Opened by Nightshift for task ${finished.taskId}.`,
    });
    await finished.log(`nightshift: draft pull request ${url}`);
    return { pull_request_url: url };
  } catch (error) {
    const reason = `Could not open the pull request: ${error instanceof Error ? error.message : String(error)}`;
    await finished.log(`nightshift: ${reason}`);
    return { push_error: reason };
  }
}

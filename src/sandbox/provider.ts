import type { RepositoryResult } from './git-workspace.js';
/**
 * Where a claimed task actually runs. Every provider is idempotent per task: spawning the same
 * task (same id and attempt) twice returns the sandbox of the first call instead of a second one.
 */

export interface SandboxTask {
  /** Task id; with `attempt` it forms the provider's idempotency key. */
  id: string;
  attempt: number;
  title: string;
  description: string;
  user_id: string;
  /** A repository task: the sandbox starts in a fresh checkout and Nightshift commits the result. */
  repository?: { url: string; baseRef: string; branch: string; push: boolean; pullRequest?: boolean } | null;
}

export interface SpawnRequest {
  task: SandboxTask;
  /** Hard limit: the sandbox is killed after this many seconds. */
  timeoutSeconds: number;
  /** Where the sandbox reports (POST, JSON `TaskResult`, header `Authorization: Bearer <token>`). */
  callbackUrl: string;
  /** The task's one-time callback token (never a user credential); the agent reports with it. */
  callbackToken: string;
  /**
   * The attempt's sandbox token: Nightshift's own wrapper (never the agent) ends a repository
   * task with it, so only its report counts as git's word. Never put in the agent's environment.
   */
  sandboxToken?: string;
}

export interface Sandbox {
  /** Provider-specific id, stored on the task as `sandbox_id`. */
  id: string;
}

export interface SandboxProvider {
  readonly name: string;
  /** Whether `spawn` can start a task in a checkout of its repository (`task.repository`). */
  readonly supportsRepositories?: boolean;
  spawn(request: SpawnRequest): Promise<Sandbox>;
  /** Stops the sandbox; stopping one that is already gone is not an error. */
  terminate(sandboxId: string): Promise<void>;
  /**
   * Stops whatever sandbox a task attempt may have started, found by task and attempt, for when
   * its id was never recorded (a spawner that crashed between starting it and the running write).
   */
  terminateAttempt(task: { id: string; attempt: number }): Promise<void>;
  /**
   * Which of these sandboxes are gone without a report (lost), asked in one batch by the
   * sweeper. A sandbox the provider cannot tell about is left out of the answer (never lost).
   */
  lostSandboxes?(sandboxIds: readonly string[]): Promise<LostSandbox[]>;
  /**
   * For providers whose sandbox cannot commit for itself (Daytona): after the agent reported on a
   * repository task, Nightshift commits what it left through the provider's API, keeps the patch,
   * pushes and opens the pull request; the answer ends the task as the sandbox's own report.
   */
  collectRepository?(request: { sandboxId: string; task: SandboxTask }): Promise<SandboxReport>;
  /**
   * For providers whose sandbox commits and pushes for itself but holds no GitHub token (ECS):
   * given git's result from the wrapper's report of a repository task, opens the draft pull
   * request from Nightshift's side (reusing an open one for the branch) and answers the fields to
   * record: its URL, or why it could not be opened (`push_error`). Never throws for GitHub's answer.
   */
  finishReportedRepository?(request: { task: SandboxTask; repository: ReportedRepository }): Promise<{ pull_request_url?: string; push_error?: string | null }>;
  /** Tail of the sandbox's output, or null when the provider cannot give it. */
  logs?(sandboxId: string, maxBytes?: number): Promise<string | null>;
  /**
   * Stops every sandbox this process started, without reporting (local runtime shutdown).
   * Only providers whose sandboxes are children of this process have it; cloud sandboxes
   * outlive the caller and are left alone.
   */
  terminateAll?(): Promise<void>;
}

/** Git's result as a sandbox's wrapper reported it (the part a pull request needs). */
export interface ReportedRepository {
  base_commit: string;
  head_commit: string;
  push_error?: string | null;
  pull_request_url?: string | null;
}

/** A sandbox found gone, and when it was last known to be alive if the provider knows. */
export interface LostSandbox {
  id: string;
  lastAliveAt?: Date;
}

/** What a sandbox POSTs to its callback URL; the wire shape of `POST /api/v1/tasks/{id}/complete`. */
export type SandboxReport = (
  | { status: 'completed'; summary: string; files_changed?: string[] }
  | { status: 'failed'; error: string }
) & {
  /** Informational: the API decides who reported by the token used (see SpawnRequest.sandboxToken). */
  source?: 'sandbox';
  repository?: Omit<RepositoryResult, 'patch' | 'stat'>;
};

/** The provider failed in a way worth retrying (SQS redelivers with backoff). */
export class SandboxSpawnError extends Error {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'SandboxSpawnError';
  }
}

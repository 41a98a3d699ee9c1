import { createHash } from 'node:crypto';
import { DescribeTasksCommand, ECSClient, ListTasksCommand, RunTaskCommand, StopTaskCommand, type KeyValuePair } from '@aws-sdk/client-ecs';
import type { GitHubOptions } from './github-pull-requests.js';
import { SandboxSpawnError, type LostSandbox, type ReportedRepository, type Sandbox, type SandboxProvider, type SandboxTask, type SpawnRequest } from './provider.js';
import { pullRequestFor } from './repository-result.js';

export interface EcsSandboxProviderOptions {
  /** Cluster name or ARN. */
  cluster: string;
  /** Task definition family[:revision] or ARN; its container runs the agent. */
  taskDefinition: string;
  /** The container in the task definition that receives the NIGHTSHIFT_* variables. */
  containerName: string;
  subnets: readonly string[];
  securityGroups: readonly string[];
  /** Public subnets without a NAT gateway need a public IP to pull images and call back. */
  assignPublicIp?: boolean;
  /**
   * The agent command (SANDBOX_COMMAND), handed to the container's entry script
   * (sandbox/ecs-entry.mjs) as NIGHTSHIFT_AGENT_COMMAND; the image's default when absent.
   */
  command?: string;
  client?: ECSClient;
  /** Where the entry script uploads a repository task's patch and stat (NIGHTSHIFT_ARTIFACTS_BUCKET). */
  artifactsBucket?: string;
  /**
   * GitHub's API and Nightshift's token, for projects with `pull_requests`: the container pushes,
   * Nightshift opens the pull request when the entry script reports (the token never enters the
   * sandbox). Read on first use (in AWS from Secrets Manager); undefined when none is configured.
   */
  github?: () => Promise<GitHubOptions | undefined>;
}

/** DescribeTasks takes at most this many task ARNs. */
const DESCRIBE_TASKS_LIMIT = 100;

/** ECS allows 8 KiB of overrides in total; the description gets what the rest leaves. */
const MAX_DESCRIPTION_BYTES = 6000;
const MAX_TITLE_BYTES = 500;

/**
 * Runs each task as a Fargate task, for work longer than a Lambda may live. The sandbox id is
 * the ECS task ARN; the container reports through the callback URL itself.
 */
export class EcsSandboxProvider implements SandboxProvider {
  readonly name = 'ecs';
  /** The entry script clones, commits, pushes and reports git's result itself. */
  readonly supportsRepositories = true;
  private readonly client: ECSClient;

  constructor(private readonly options: EcsSandboxProviderOptions) {
    this.client = options.client ?? new ECSClient({});
  }

  async spawn(request: SpawnRequest): Promise<Sandbox> {
    const { task } = request;
    const environment: KeyValuePair[] = [
      { name: 'NIGHTSHIFT_TASK_ID', value: task.id },
      { name: 'NIGHTSHIFT_TASK_TITLE', value: truncateUtf8(task.title, MAX_TITLE_BYTES) },
      { name: 'NIGHTSHIFT_TASK_DESCRIPTION', value: truncateUtf8(task.description, MAX_DESCRIPTION_BYTES) },
      { name: 'NIGHTSHIFT_CALLBACK_URL', value: request.callbackUrl },
      { name: 'NIGHTSHIFT_CALLBACK_TOKEN', value: request.callbackToken },
      { name: 'NIGHTSHIFT_TIMEOUT_SECONDS', value: String(request.timeoutSeconds) },
      // The entry script's own credential for the final report; it removes it before the agent starts.
      ...(request.sandboxToken ? [{ name: 'NIGHTSHIFT_SANDBOX_TOKEN', value: request.sandboxToken }] : []),
      ...(this.options.command ? [{ name: 'NIGHTSHIFT_AGENT_COMMAND', value: this.options.command }] : []),
      ...(task.repository && this.options.artifactsBucket ? [{ name: 'NIGHTSHIFT_ARTIFACTS_BUCKET', value: this.options.artifactsBucket }] : []),
      // The project to check out; git credentials come from the task definition's secrets, never from here.
      ...(task.repository
        ? [
            { name: 'NIGHTSHIFT_REPO_URL', value: task.repository.url },
            { name: 'NIGHTSHIFT_BASE_REF', value: task.repository.baseRef },
            { name: 'NIGHTSHIFT_BRANCH', value: task.repository.branch },
            { name: 'NIGHTSHIFT_PUSH', value: task.repository.push ? '1' : '0' },
          ]
        : []),
    ];
    let output;
    try {
      output = await this.client.send(
        new RunTaskCommand({
          cluster: this.options.cluster,
          taskDefinition: this.options.taskDefinition,
          launchType: 'FARGATE',
          count: 1,
          // Names the attempt, so a sandbox whose ARN was never recorded can still be found.
          startedBy: ecsStartedBy(task.id, task.attempt),
          // Same task and attempt -> same token: ECS returns the task it already started
          // instead of starting a second one when SQS redelivers the spawn.
          clientToken: ecsClientToken(task.id, task.attempt),
          networkConfiguration: {
            awsvpcConfiguration: {
              subnets: [...this.options.subnets],
              securityGroups: [...this.options.securityGroups],
              assignPublicIp: this.options.assignPublicIp ? 'ENABLED' : 'DISABLED',
            },
          },
          overrides: {
            containerOverrides: [
              { name: this.options.containerName, environment },
            ],
          },
        }),
      );
    } catch (error) {
      throw new SandboxSpawnError(`ECS RunTask for task ${task.id} failed: ${errorMessage(error)}`, { cause: error });
    }

    const failures = output.failures ?? [];
    if (failures.length > 0) {
      const reasons = failures.map((failure) => [failure.reason, failure.detail].filter(Boolean).join(': ')).join('; ');
      throw new SandboxSpawnError(`ECS could not start task ${task.id}: ${reasons || 'unknown failure'}`);
    }
    const taskArn = output.tasks?.[0]?.taskArn;
    if (!taskArn) throw new SandboxSpawnError(`ECS RunTask for task ${task.id} returned no task`);
    return { id: taskArn };
  }

  async terminate(sandboxId: string): Promise<void> {
    try {
      await this.client.send(
        new StopTaskCommand({ cluster: this.options.cluster, task: sandboxId, reason: 'Stopped by Nightshift' }),
      );
    } catch (error) {
      if (isTaskGone(error)) return;
      throw error;
    }
  }

  async terminateAttempt(task: { id: string; attempt: number }): Promise<void> {
    const listed = await this.client.send(
      new ListTasksCommand({ cluster: this.options.cluster, startedBy: ecsStartedBy(task.id, task.attempt) }),
    );
    for (const arn of listed.taskArns ?? []) await this.terminate(arn);
  }

  /**
   * DescribeTasks, 100 ARNs a call (its limit): a task STOPPED (or no longer known to ECS) is lost;
   * a stopped one was last alive when it stopped.
   */
  async lostSandboxes(sandboxIds: readonly string[]): Promise<LostSandbox[]> {
    const lost: LostSandbox[] = [];
    for (let i = 0; i < sandboxIds.length; i += DESCRIBE_TASKS_LIMIT) {
      const chunk = sandboxIds.slice(i, i + DESCRIBE_TASKS_LIMIT);
      const described = await this.client.send(new DescribeTasksCommand({ cluster: this.options.cluster, tasks: chunk }));
      for (const task of described.tasks ?? []) {
        if (task.taskArn && task.lastStatus === 'STOPPED') lost.push(task.stoppedAt ? { id: task.taskArn, lastAliveAt: task.stoppedAt } : { id: task.taskArn });
      }
      for (const failure of described.failures ?? []) {
        if (failure.arn && failure.reason === 'MISSING') lost.push({ id: failure.arn });
      }
    }
    return lost;
  }

  /** The entry script pushed the branch; the draft pull request is opened here, with the same code as the other providers. */
  async finishReportedRepository({ task, repository }: { task: SandboxTask; repository: ReportedRepository }): Promise<{ pull_request_url?: string; push_error?: string | null }> {
    if (!task.repository || repository.pull_request_url) return {};
    let github: GitHubOptions | undefined;
    try {
      github = await this.options.github?.();
    } catch (error) {
      return { push_error: `Could not open the pull request: the GitHub token could not be read (${errorMessage(error)})` };
    }
    return pullRequestFor(github, { taskId: task.id, title: task.title, repository: task.repository, result: repository, log: () => undefined });
  }

  /** Fargate output goes to the task definition's log driver, not through this provider. */
  async logs(): Promise<string | null> {
    return null;
  }
}

/** RunTask's `startedBy` (at most 36 characters) for one task attempt. */
export function ecsStartedBy(taskId: string, attempt: number): string {
  return `ns-${createHash('sha256').update(`${taskId}#${attempt}`).digest('hex').slice(0, 32)}`;
}

/** A RunTask client token (at most 64 characters) that is the same for every retry of one attempt. */
export function ecsClientToken(taskId: string, attempt: number): string {
  const readable = `nightshift-${taskId}-${attempt}`;
  if (readable.length <= 64 && /^[\x21-\x7e]+$/.test(readable)) return readable;
  return createHash('sha256').update(`${taskId}\n${attempt}`).digest('hex');
}

/** StopTask on a task that finished long ago (or never existed) is "already stopped". */
function isTaskGone(error: unknown): boolean {
  if (!(error instanceof Error)) return false;
  const notFound = /not found|does not exist|already stopped/i.test(error.message);
  return (error.name === 'InvalidParameterException' || error.name === 'ClientException') && notFound;
}

function truncateUtf8(value: string, maxBytes: number): string {
  const bytes = Buffer.from(value, 'utf8');
  if (bytes.length <= maxBytes) return value;
  return `${bytes.subarray(0, maxBytes - 3).toString('utf8').replace(/\uFFFD+$/, '')}...`;
}

function errorMessage(error: unknown): string {
  return error instanceof Error ? `${error.name}: ${error.message}` : String(error);
}

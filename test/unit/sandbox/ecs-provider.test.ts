import {
  AccessDeniedException,
  DescribeTasksCommand,
  ECSClient,
  ListTasksCommand,
  InvalidParameterException,
  RunTaskCommand,
  StopTaskCommand,
  type KeyValuePair,
} from '@aws-sdk/client-ecs';
import { mockClient } from 'aws-sdk-client-mock';
import { beforeEach, describe, expect, it } from 'vitest';
import { EcsSandboxProvider, ecsClientToken, ecsStartedBy, type EcsSandboxProviderOptions } from '../../../src/sandbox/ecs-provider.js';
import { SandboxSpawnError, type SpawnRequest } from '../../../src/sandbox/provider.js';

const ecs = mockClient(ECSClient);
const TASK_ARN = 'arn:aws:ecs:eu-west-1:123456789012:task/nightshift/0123456789abcdef';

function provider(options: Partial<EcsSandboxProviderOptions> = {}): EcsSandboxProvider {
  return new EcsSandboxProvider({
    cluster: 'nightshift',
    taskDefinition: 'nightshift-agent:7',
    containerName: 'agent',
    subnets: ['subnet-a', 'subnet-b'],
    securityGroups: ['sg-agent'],
    client: new ECSClient({ region: 'eu-west-1' }),
    ...options,
  });
}

function request(overrides: Partial<SpawnRequest['task']> = {}): SpawnRequest {
  return {
    task: { id: 'task-42', attempt: 1, title: 'Nightly refactor', description: 'Tidy the utils', user_id: 'user-7', ...overrides },
    timeoutSeconds: 7200,
    callbackUrl: 'https://api.example.com/api/v1/tasks/task-42/complete',
    callbackToken: 'cb-token-123',
  };
}

function runTaskInputs() {
  return ecs.commandCalls(RunTaskCommand).map((call) => call.args[0].input);
}

function envOf(input: ReturnType<typeof runTaskInputs>[number] | undefined): Record<string, string | undefined> {
  const environment: KeyValuePair[] = input?.overrides?.containerOverrides?.[0]?.environment ?? [];
  return Object.fromEntries(environment.map(({ name, value }) => [name ?? '', value]));
}

beforeEach(() => {
  ecs.reset();
  ecs.on(RunTaskCommand).resolves({ tasks: [{ taskArn: TASK_ARN }], failures: [] });
});

describe('EcsSandboxProvider', () => {
  it('runs a Fargate task in the configured network and returns its ARN as the sandbox id', async () => {
    const sandbox = await provider().spawn(request());

    expect(sandbox).toEqual({ id: TASK_ARN });
    const [input] = runTaskInputs();
    expect(input).toMatchObject({
      cluster: 'nightshift',
      taskDefinition: 'nightshift-agent:7',
      launchType: 'FARGATE',
      count: 1,
      startedBy: ecsStartedBy('task-42', 1),
      networkConfiguration: {
        awsvpcConfiguration: { subnets: ['subnet-a', 'subnet-b'], securityGroups: ['sg-agent'], assignPublicIp: 'DISABLED' },
      },
    });
    expect(input?.overrides?.containerOverrides?.[0]?.name).toBe('agent');
  });

  it('passes the task variables and its timeout to the container', async () => {
    await provider().spawn(request());

    expect(envOf(runTaskInputs()[0])).toEqual({
      NIGHTSHIFT_TASK_ID: 'task-42',
      NIGHTSHIFT_TASK_TITLE: 'Nightly refactor',
      NIGHTSHIFT_TASK_DESCRIPTION: 'Tidy the utils',
      NIGHTSHIFT_CALLBACK_URL: 'https://api.example.com/api/v1/tasks/task-42/complete',
      NIGHTSHIFT_CALLBACK_TOKEN: 'cb-token-123',
      NIGHTSHIFT_TIMEOUT_SECONDS: '7200',
    });
  });

  it.each([
    [true, 'ENABLED'],
    [false, 'DISABLED'],
  ] as const)('assignPublicIp %s -> %s', async (assignPublicIp, expected) => {
    await provider({ assignPublicIp }).spawn(request());

    expect(runTaskInputs()[0]?.networkConfiguration?.awsvpcConfiguration?.assignPublicIp).toBe(expected);
  });

  it('hands the agent command to the entry script, never replacing the container command that runs it', async () => {
    await provider({ command: 'node agent.js --task "$NIGHTSHIFT_TASK_ID"' }).spawn(request());
    await provider().spawn(request());

    const [withCommand, withoutCommand] = runTaskInputs();
    expect(withCommand?.overrides?.containerOverrides?.[0]?.command).toBeUndefined();
    expect(envOf(withCommand).NIGHTSHIFT_AGENT_COMMAND).toBe('node agent.js --task "$NIGHTSHIFT_TASK_ID"');
    expect(envOf(withoutCommand).NIGHTSHIFT_AGENT_COMMAND).toBeUndefined();
  });

  it("passes a repository task's project and the sandbox token as overrides, and no git credential", async () => {
    const repository = { url: 'https://github.com/acme/app.git', baseRef: 'release', branch: 'nightshift/task-42', push: false, pullRequest: false };

    await provider({ artifactsBucket: 'nightshift-artifacts' }).spawn({ ...request({ repository }), sandboxToken: 'sandbox-token-456' });

    const env = envOf(runTaskInputs()[0]);
    expect(env).toMatchObject({
      NIGHTSHIFT_REPO_URL: 'https://github.com/acme/app.git',
      NIGHTSHIFT_BASE_REF: 'release',
      NIGHTSHIFT_BRANCH: 'nightshift/task-42',
      NIGHTSHIFT_PUSH: '0',
      NIGHTSHIFT_SANDBOX_TOKEN: 'sandbox-token-456',
      NIGHTSHIFT_ARTIFACTS_BUCKET: 'nightshift-artifacts',
    });
    expect(Object.keys(env).filter((name) => /GIT_TOKEN|PASSWORD|SECRET/.test(name))).toEqual([]);
    expect(provider().supportsRepositories).toBe(true);
  });

  it('uses the same client token for every spawn of one attempt, and a new one per attempt', async () => {
    const sandboxes = provider();

    await sandboxes.spawn(request());
    await sandboxes.spawn(request());
    await sandboxes.spawn(request({ attempt: 2 }));
    await sandboxes.spawn(request({ id: 'task-43' }));

    const tokens = runTaskInputs().map((input) => input.clientToken);
    expect(tokens[0]).toBeTruthy();
    expect(tokens[1]).toBe(tokens[0]);
    expect(new Set(tokens).size).toBe(3);
  });

  it('keeps client tokens within ECS limits (64 printable characters) for long task ids', () => {
    const longId = `task-${'x'.repeat(100)}`;
    const token = ecsClientToken(longId, 3);

    expect(token.length).toBeLessThanOrEqual(64);
    expect(token).toMatch(/^[\x21-\x7e]+$/);
    expect(ecsClientToken(longId, 3)).toBe(token);
    expect(ecsClientToken(longId, 4)).not.toBe(token);
  });

  it('shortens a huge description so the overrides stay under the 8 KiB ECS limit', async () => {
    await provider().spawn(request({ description: 'é'.repeat(20_000) }));

    const overrides = JSON.stringify(runTaskInputs()[0]?.overrides);
    expect(Buffer.byteLength(overrides, 'utf8')).toBeLessThan(8192);
    expect(envOf(runTaskInputs()[0]).NIGHTSHIFT_TASK_DESCRIPTION).toMatch(/^é+\.\.\.$/);
  });

  it('maps failures in the RunTask response to SandboxSpawnError', async () => {
    ecs.on(RunTaskCommand).resolves({
      tasks: [],
      failures: [{ reason: 'RESOURCE:ENI', detail: 'no free IP addresses in subnet-a' }],
    });

    const failure = provider().spawn(request());

    await expect(failure).rejects.toBeInstanceOf(SandboxSpawnError);
    await expect(failure).rejects.toThrow('RESOURCE:ENI: no free IP addresses in subnet-a');
  });

  it('maps a response without a task to SandboxSpawnError', async () => {
    ecs.on(RunTaskCommand).resolves({ tasks: [], failures: [] });

    await expect(provider().spawn(request())).rejects.toBeInstanceOf(SandboxSpawnError);
  });

  it('maps a RunTask error to SandboxSpawnError that keeps the cause', async () => {
    const cause = new AccessDeniedException({ message: 'not allowed to ecs:RunTask', $metadata: {} });
    ecs.on(RunTaskCommand).rejects(cause);

    const failure = await provider().spawn(request()).catch((error: unknown) => error);

    expect(failure).toBeInstanceOf(SandboxSpawnError);
    expect((failure as SandboxSpawnError).cause).toBe(cause);
  });

  it('terminate stops the task in the cluster', async () => {
    ecs.on(StopTaskCommand).resolves({ task: { taskArn: TASK_ARN, lastStatus: 'STOPPED' } });

    await provider().terminate(TASK_ARN);

    const [stop] = ecs.commandCalls(StopTaskCommand);
    expect(stop?.args[0].input).toMatchObject({ cluster: 'nightshift', task: TASK_ARN });
  });

  it('terminate treats a task ECS no longer knows as already stopped', async () => {
    ecs
      .on(StopTaskCommand)
      .rejects(new InvalidParameterException({ message: 'The referenced task was not found.', $metadata: {} }));

    await expect(provider().terminate(TASK_ARN)).resolves.toBeUndefined();
  });

  it('terminate passes other errors on, so the caller can retry', async () => {
    ecs.on(StopTaskCommand).rejects(new AccessDeniedException({ message: 'not allowed to ecs:StopTask', $metadata: {} }));

    await expect(provider().terminate(TASK_ARN)).rejects.toThrow('not allowed to ecs:StopTask');
  });

  it('has no logs to offer', async () => {
    expect(await provider().logs()).toBeNull();
  });
});

describe('EcsSandboxProvider.terminateAttempt', () => {
  it('finds the attempt by startedBy and stops what it started, and nothing else', async () => {
    ecs.on(ListTasksCommand, { cluster: 'nightshift', startedBy: ecsStartedBy('task-42', 1) }).resolves({ taskArns: [TASK_ARN] });
    ecs.on(ListTasksCommand, { cluster: 'nightshift', startedBy: ecsStartedBy('task-42', 2) }).resolves({ taskArns: [] });
    ecs.on(StopTaskCommand).resolves({});
    await provider().terminateAttempt({ id: 'task-42', attempt: 2 });
    expect(ecs.commandCalls(StopTaskCommand)).toHaveLength(0);
    await provider().terminateAttempt({ id: 'task-42', attempt: 1 });
    expect(ecs.commandCalls(StopTaskCommand).map((c) => c.args[0].input.task)).toEqual([TASK_ARN]);
    expect(ecsStartedBy('task-42', 1).length).toBeLessThanOrEqual(36);
  });
});

describe('EcsSandboxProvider.lostSandboxes', () => {
  beforeEach(() => ecs.reset());

  it('asks DescribeTasks 100 ARNs at a time and reports stopped and missing tasks as lost', async () => {
    // Prepare: 150 running sandboxes; one stopped, one unknown to ECS.
    const arns = Array.from({ length: 150 }, (_, i) => `${TASK_ARN}-${i}`);
    const stoppedAt = new Date('2026-06-10T12:10:00Z');
    ecs.on(DescribeTasksCommand).callsFake((input: { tasks: string[] }) => ({
      tasks: input.tasks
        .filter((arn) => arn !== arns[140])
        .map((arn) => (arn === arns[3] ? { taskArn: arn, lastStatus: 'STOPPED', stoppedAt } : { taskArn: arn, lastStatus: 'RUNNING' })),
      failures: input.tasks.includes(arns[140] as string) ? [{ arn: arns[140], reason: 'MISSING' }] : [],
    }));

    // Act
    const lost = await provider().lostSandboxes(arns);

    // Assess
    expect(ecs.commandCalls(DescribeTasksCommand).map((call) => call.args[0].input.tasks?.length)).toEqual([100, 50]);
    expect(lost).toEqual([{ id: arns[3], lastAliveAt: stoppedAt }, { id: arns[140] }]);
  });
});

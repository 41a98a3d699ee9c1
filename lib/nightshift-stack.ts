import { fileURLToPath } from 'node:url';
import { Annotations, Arn, ArnFormat, CfnOutput, CfnParameter, Duration, Stack } from 'aws-cdk-lib';
import type { StackProps } from 'aws-cdk-lib';
import * as events from 'aws-cdk-lib/aws-events';
import * as targets from 'aws-cdk-lib/aws-events-targets';
import * as iam from 'aws-cdk-lib/aws-iam';
import type * as lambda from 'aws-cdk-lib/aws-lambda';
import { SqsEventSource } from 'aws-cdk-lib/aws-lambda-event-sources';
import * as scheduler from 'aws-cdk-lib/aws-scheduler';
import * as secretsmanager from 'aws-cdk-lib/aws-secretsmanager';
import { NagSuppressions } from 'cdk-nag';
import type { Construct } from 'constructs';
import { ENV, ORCHESTRATOR_TIMEOUT_SECONDS, WAKE_CONSUMER } from '../src/platform/resources.js';
import { spawnTimings } from '../src/scheduling/spawn-timings.js';
import { ECS_TASK_ARN_SUPPRESSION, EcsSandbox } from './constructs/ecs-sandbox.js';
import { HttpApi } from './constructs/http-api.js';
import { Monitoring } from './constructs/monitoring.js';
import { NightshiftFunction } from './constructs/nightshift-function.js';
import { Notifications } from './constructs/notifications.js';
import { SPAWN_DLQ_CONSUMER_TIMEOUT_SECONDS, Storage } from './constructs/storage.js';
import { WebHosting, type WebRuntimeConfig } from './constructs/web-hosting.js';
import type { NightshiftConfig, NightshiftConfigProps } from './stack-config.js';
import { resolveConfig } from './stack-config.js';

export type NightshiftStackProps = StackProps & NightshiftConfigProps;

/** Where `npm run build:web` writes the dashboard. */
export const DEFAULT_WEB_DIST = fileURLToPath(new URL('../web/dist', import.meta.url));

export const DEFAULT_AGENT_IMAGE = 'public.ecr.aws/docker/library/node:22-slim';

const TABLE_INDEX_SUPPRESSION = {
  id: 'AwsSolutions-IAM5',
  reason: 'Queries run on the table\'s GSIs; grantReadWriteData/grantReadData name them as <table ARN>/index/*, one table only.',
  appliesTo: [{ regex: '/^Resource::<.*\\.Arn>\\/index\\/\\*$/g' }],
};

/** Nightshift: HTTP API, orchestrator, spawner, sweeper and their storage. */
export class NightshiftStack extends Stack {
  readonly config: NightshiftConfig;
  readonly storage: Storage;
  readonly httpApi: HttpApi;
  readonly functions: {
    /** The core route group; the other groups (src/platform/http/route-table.ts) are apiSandbox, apiSchedules, apiOpenapi. */
    readonly api: NightshiftFunction;
    readonly apiSandbox: NightshiftFunction;
    readonly apiSchedules: NightshiftFunction;
    readonly apiOpenapi: NightshiftFunction;
    readonly orchestrator: NightshiftFunction;
    readonly spawner: NightshiftFunction;
    readonly sweeper: NightshiftFunction;
    readonly spawnDlq: NightshiftFunction;
    readonly batchTrigger: NightshiftFunction;
    readonly authorizer?: NightshiftFunction;
  };
  readonly sandbox?: EcsSandbox;
  readonly monitoring: Monitoring;
  readonly notifications: Notifications;
  readonly web: WebHosting;
  /** What the dashboard's config.json says. */
  readonly webConfig: WebRuntimeConfig;

  constructor(scope: Construct, id: string, props: NightshiftStackProps = {}) {
    super(scope, id, props);
    const config = resolveConfig(props, (key) => this.node.tryGetContext(key));
    this.config = config;
    if (config.jwtIssuerIsPlaceholder) {
      Annotations.of(this).addWarningV2(
        'nightshift:jwt-issuer-placeholder',
        'No jwtIssuer given (prop or `-c jwtIssuer=...`): every JWT will be rejected; only API keys work.',
      );
    }

    // One derivation for the queue, the spawner and the sweeper's stale-claim threshold.
    const timings = spawnTimings(config.sandboxProvider, config.staleClaimingThresholdSeconds);
    const storage = new Storage(this, 'Storage', {
      tableDeletionProtection: config.tableDeletionProtection,
      artifactRetentionDays: config.artifactRetentionDays,
      spawnTimings: timings,
    });
    this.storage = storage;
    // Before the functions, so that a missing build fails at once; the API's CORS allows its origin.
    this.web = new WebHosting(this, 'Web', { siteDirectory: config.webDistPath ?? DEFAULT_WEB_DIST });

    // Shared by every function; the code validates these at cold start.
    const baseEnvironment: Record<string, string> = {
      [ENV.tableName]: storage.table.tableName,
      [ENV.spawnQueueUrl]: storage.spawnQueue.queueUrl,
      [ENV.spawnDlqUrl]: storage.spawnDeadLetterQueue.queueUrl,
      [ENV.wakeQueueUrl]: storage.wakeQueue.queueUrl,
      POLL_INTERVAL: String(config.pollIntervalSeconds),
      TIMEOUT_CHECK_INTERVAL: String(config.timeoutCheckIntervalSeconds),
      MAX_PENDING_PER_USER: String(config.maxPendingPerUser),
      STALE_CLAIMING_THRESHOLD: String(config.staleClaimingThresholdSeconds),
      LOCAL_LEASE_TIMEOUT: String(config.localLeaseTimeoutSeconds),
      LOCAL_MAX_WAIT: String(config.localMaxWaitSeconds),
      SANDBOX_PROVIDER: config.sandboxProvider,
    };

    // Sandbox provider: what the API's sandbox group (cancel), spawner (start; the stops a batch cancel hands it) and sweeper (timeout) need to reach it.
    let sandboxEnvironment: Record<string, string>;
    let daytonaSecret: secretsmanager.ISecret | undefined;
    // ECS: the git token the container pushes with also opens the pull requests, from the API (on the entry script's report).
    let gitSecret: secretsmanager.ISecret | undefined;
    if (config.sandboxProvider === 'ecs') {
      const agentImage = new CfnParameter(this, 'AgentImage', {
        type: 'String',
        default: DEFAULT_AGENT_IMAGE,
        description: 'Container image of the ECS sandbox (the agent CLI that runs one task and calls back).',
      });
      gitSecret = config.gitSecretName ? secretsmanager.Secret.fromSecretNameV2(this, 'GitToken', config.gitSecretName) : undefined;
      this.sandbox = new EcsSandbox(this, 'Sandbox', {
        image: agentImage.valueAsString,
        cpu: config.sandboxCpu,
        memoryMiB: config.sandboxMemoryMiB,
        artifactsBucket: storage.artifactsBucket,
        agentCommand: config.sandboxCommand,
        gitSecret,
      });
      sandboxEnvironment = this.sandbox.environment();
    } else {
      daytonaSecret = secretsmanager.Secret.fromSecretNameV2(this, 'DaytonaApiKey', config.daytonaSecretName);
      sandboxEnvironment = {
        DAYTONA_API_KEY_SECRET_ARN: daytonaSecret.secretArn,
        ...(config.daytonaApiUrl ? { DAYTONA_API_URL: config.daytonaApiUrl } : {}),
      };
    }

    const batchTrigger = new NightshiftFunction(this, 'BatchTrigger', {
      entry: 'functions/batch-trigger/handler.ts',
      description: 'Starts one run of a recurring batch (invoked by EventBridge Scheduler)',
      timeout: Duration.seconds(30),
      environment: baseEnvironment,
    });

    // Recurring batches: the API creates one schedule per batch in this group, run by this role.
    const scheduleGroupName = `${this.stackName}-batches`;
    const scheduleGroup = new scheduler.CfnScheduleGroup(this, 'BatchScheduleGroup', { name: scheduleGroupName });
    const schedulerRole = new iam.Role(this, 'BatchSchedulerRole', {
      assumedBy: new iam.ServicePrincipal('scheduler.amazonaws.com', {
        conditions: { StringEquals: { 'aws:SourceAccount': this.account } },
      }),
      description: 'Assumed by EventBridge Scheduler to start recurring Nightshift batches',
    });
    schedulerRole.addToPolicy(
      new iam.PolicyStatement({ actions: ['lambda:InvokeFunction'], resources: [batchTrigger.function.functionArn] }),
    );
    const batchSchedulesArn = Arn.format(
      {
        service: 'scheduler',
        resource: 'schedule',
        resourceName: `${scheduleGroupName}/*`,
        arnFormat: ArnFormat.SLASH_RESOURCE_NAME,
      },
      this,
    );

    // The HTTP API is one function per route group (src/platform/http/route-table.ts), each
    // bundling only what its routes use and holding only the permissions they need.
    const apiEnvironment = { ...baseEnvironment, AUTH_MODE: config.authMode };
    const api = new NightshiftFunction(this, 'Api', {
      entry: 'functions/api/handler.ts',
      description: 'Nightshift HTTP routes of the core group: tasks, users, spaces, executors, API keys, projects, health',
      // A device's lease long-polls up to 20 s; HTTP API integrations allow at most 30 s.
      timeout: Duration.seconds(29),
      environment: apiEnvironment,
    });
    const apiSandbox = new NightshiftFunction(this, 'ApiSandbox', {
      entry: 'functions/api-sandbox/handler.ts',
      description: 'Nightshift HTTP routes that stop or read sandboxes and read task artifacts: cancel, callback, logs, diff',
      timeout: Duration.seconds(29),
      environment: {
        ...apiEnvironment,
        ...sandboxEnvironment,
        [ENV.artifactsBucket]: storage.artifactsBucket.bucketName,
        ...(gitSecret ? { GITHUB_TOKEN_SECRET_ARN: gitSecret.secretArn } : {}),
      },
    });
    gitSecret?.grantRead(apiSandbox.function);
    const apiSchedules = new NightshiftFunction(this, 'ApiSchedules', {
      entry: 'functions/api-schedules/handler.ts',
      description: 'Nightshift HTTP routes that time things with cron: batches (EventBridge Scheduler) and notification settings',
      timeout: Duration.seconds(29),
      environment: {
        ...apiEnvironment,
        SCHEDULE_GROUP_NAME: scheduleGroupName,
        SCHEDULER_ROLE_ARN: schedulerRole.roleArn,
        BATCH_TRIGGER_ARN: batchTrigger.function.functionArn,
      },
    });
    apiSchedules.node.addDependency(scheduleGroup);
    const apiOpenapi = new NightshiftFunction(this, 'ApiOpenapi', {
      entry: 'functions/api-openapi/handler.ts',
      description: 'Nightshift HTTP route GET /api/v1/openapi.json',
      timeout: Duration.seconds(10),
      environment: apiEnvironment,
    });
    const apiGroups = [api, apiSandbox, apiSchedules];

    const orchestrator = new NightshiftFunction(this, 'Orchestrator', {
      entry: 'functions/orchestrator/handler.ts',
      description: 'Claims pending tasks fairly within plan limits',
      timeout: Duration.seconds(ORCHESTRATOR_TIMEOUT_SECONDS),
      environment: baseEnvironment,
    });

    const sweeper = new NightshiftFunction(this, 'Sweeper', {
      entry: 'functions/sweeper/handler.ts',
      description: 'Times out tasks, releases stale claims, reaps lost sandboxes',
      timeout: Duration.seconds(60),
      environment: { ...baseEnvironment, ...sandboxEnvironment },
    });

    const spawnDlq = new NightshiftFunction(this, 'SpawnDlq', {
      entry: 'functions/spawn-dlq/handler.ts',
      description: 'Fails tasks whose sandbox could not be started',
      timeout: Duration.seconds(SPAWN_DLQ_CONSUMER_TIMEOUT_SECONDS),
      environment: baseEnvironment,
      reservedConcurrentExecutions: 1,
    });

    const authorizer =
      config.authMode === 'lambda'
        ? new NightshiftFunction(this, 'Authorizer', {
            entry: 'functions/authorizer/handler.ts',
            description: 'HTTP API authorizer: user JWT or x-api-key',
            timeout: Duration.seconds(5),
            environment: {
              ...baseEnvironment,
              JWT_ISSUER: config.jwtIssuer,
              JWT_AUDIENCE: config.jwtAudience,
              JWKS_URL: config.jwksUrl,
            },
          })
        : undefined;

    this.httpApi = new HttpApi(this, 'Http', {
      handlers: { core: api.function, sandbox: apiSandbox.function, schedules: apiSchedules.function, openapi: apiOpenapi.function },
      authMode: config.authMode,
      jwtIssuer: config.jwtIssuer,
      jwtAudience: config.jwtAudience,
      authorizer: authorizer?.function,
      corsAllowOrigins: [this.web.origin],
    });
    this.webConfig = {
      api_url: this.httpApi.endpoint,
      // Without an issuer the dashboard offers only pasting an API key.
      oidc: config.jwtIssuerIsPlaceholder ? null : { issuer: config.jwtIssuer, client_id: config.oidcClientId, audience: config.jwtAudience },
      local_sign_in: false,
    };
    this.web.deploy(this.webConfig);

    // The spawner hands sandboxes the callback URL. The API function is not given it: it derives
    // its URL from the request, and giving it would make the API depend on itself.
    const spawner = new NightshiftFunction(this, 'Spawner', {
      entry: 'functions/spawner/handler.ts',
      description: 'Starts one sandbox per claimed task',
      timeout: Duration.seconds(timings.spawnerTimeoutSeconds),
      environment: { ...baseEnvironment, ...sandboxEnvironment, CALLBACK_BASE_URL: this.httpApi.endpoint },
    });

    // Triggers.
    orchestrator.function.addEventSource(
      new SqsEventSource(storage.wakeQueue, { batchSize: WAKE_CONSUMER.batchSize, maxConcurrency: WAKE_CONSUMER.maxConcurrency, reportBatchItemFailures: true }),
    );
    spawner.function.addEventSource(
      new SqsEventSource(storage.spawnQueue, { batchSize: timings.spawnerBatchSize, reportBatchItemFailures: true }),
    );
    spawnDlq.function.addEventSource(
      new SqsEventSource(storage.spawnDeadLetterQueue, { batchSize: 10, reportBatchItemFailures: true }),
    );
    new events.Rule(this, 'OrchestratorSchedule', {
      description: 'Safety net: run the orchestrator every minute even if no wake message arrives',
      schedule: events.Schedule.rate(Duration.minutes(1)),
      targets: [new targets.LambdaFunction(orchestrator.function)],
    });
    new events.Rule(this, 'SweeperSchedule', {
      description: 'Timeouts, stale claims and lost sandboxes, every minute',
      schedule: events.Schedule.rate(Duration.minutes(1)),
      targets: [new targets.LambdaFunction(sweeper.function)],
    });

    // Permissions: each function gets what its code path uses, nothing more.
    const { table, spawnQueue, wakeQueue } = storage;
    // The OpenAPI document's function reads nothing: it has no grant at all.
    for (const fn of apiGroups) {
      table.grantReadWriteData(fn.function);
      wakeQueue.grantSendMessages(fn.function); // task created, slot freed by cancel
    }
    // GET /api/v1/health probes the spawn queue; of the API only the schedules group sends to it
    // (a batch cancel hands its running tasks' sandbox stops to the spawner).
    api.role.addToPolicy(new iam.PolicyStatement({ actions: ['sqs:GetQueueAttributes'], resources: [spawnQueue.queueArn] }));
    spawnQueue.grantSendMessages(apiSchedules.function);
    // Only the schedules group manages batch schedules.
    apiSchedules.role.addToPolicy(
      new iam.PolicyStatement({
        actions: ['scheduler:CreateSchedule', 'scheduler:DeleteSchedule', 'scheduler:GetSchedule'],
        resources: [batchSchedulesArn],
      }),
    );
    apiSchedules.role.addToPolicy(
      new iam.PolicyStatement({
        actions: ['iam:PassRole'],
        resources: [schedulerRole.roleArn],
        conditions: { StringEquals: { 'iam:PassedToService': 'scheduler.amazonaws.com' } },
      }),
    );

    table.grantReadWriteData(orchestrator.function);
    spawnQueue.grantSendMessages(orchestrator.function);
    wakeQueue.grantSendMessages(orchestrator.function); // delayed wake for the next not_before

    table.grantReadWriteData(spawner.function);
    wakeQueue.grantSendMessages(spawner.function); // a spawn that fails for good frees a slot

    table.grantReadWriteData(sweeper.function);
    wakeQueue.grantSendMessages(sweeper.function);

    table.grantReadWriteData(spawnDlq.function);
    wakeQueue.grantSendMessages(spawnDlq.function); // failing the task frees a slot

    table.grantReadWriteData(batchTrigger.function);
    wakeQueue.grantSendMessages(batchTrigger.function);

    // Only the API's sandbox group reads task artifacts (GET /tasks/{id}/diff, logs); nothing else in the bucket, and no writes.
    apiSandbox.role.addToPolicy(new iam.PolicyStatement({ actions: ['s3:GetObject'], resources: [storage.artifactsBucket.arnForObjects('tasks/*')] }));
    NagSuppressions.addResourceSuppressions(
      apiSandbox.role,
      [
        {
          id: 'AwsSolutions-IAM5',
          reason: 'Artifact keys are per task (tasks/<task-id>/...), created at run time; the API may only read objects under tasks/ in the one artifact bucket.',
          appliesTo: [{ regex: '/^Resource::<StorageArtifacts[0-9A-F]+\\.Arn>\\/tasks\\/\\*$/g' }],
        },
      ],
      true,
    );

    // The authorizer's only read is one GetItem of the API key's lookup item.
    if (authorizer) authorizer.function.addToRolePolicy(new iam.PolicyStatement({ actions: ['dynamodb:GetItem'], resources: [table.tableArn] }));

    if (this.sandbox) {
      this.sandbox.grantRun(spawner.function);
      // The API's sandbox group cancels tasks; the spawner also stops what a batch cancel hands it.
      for (const fn of [spawner, apiSandbox, sweeper]) this.sandbox.grantStopAndDescribe(fn.function);
      this.sandbox.grantReadLogs(apiSandbox.function);
    }
    if (daytonaSecret) {
      for (const fn of [spawner, apiSandbox, sweeper]) daytonaSecret.grantRead(fn.function);
    }

    // Events come from wherever a task ends or a charge is made; the notifier and digest trigger live in their own construct.
    const notifications = new Notifications(this, 'Notifications', { table, environment: baseEnvironment, emailFrom: config.notificationsEmailFrom });
    notifications.connectEmitters([...apiGroups, orchestrator, spawner, sweeper, spawnDlq, batchTrigger]);
    this.notifications = notifications;

    const allFunctions = [...apiGroups, apiOpenapi, orchestrator, spawner, sweeper, spawnDlq, batchTrigger, notifications.notifier, notifications.digestTrigger, ...(authorizer ? [authorizer] : [])];
    NagSuppressions.addResourceSuppressions(
      allFunctions.map((fn) => fn.role),
      [TABLE_INDEX_SUPPRESSION],
      true,
    );
    if (this.sandbox) {
      NagSuppressions.addResourceSuppressions([spawner.role, apiSandbox.role, apiSchedules.role, sweeper.role], [ECS_TASK_ARN_SUPPRESSION], true);
    }
    NagSuppressions.addResourceSuppressions(
      apiSchedules.role,
      [
        {
          id: 'AwsSolutions-IAM5',
          reason:
            'Batch schedules are created at run time, one per recurring batch; the API may manage only schedules in this stack\'s group (schedule/<group>/*).',
          appliesTo: [{ regex: '/^Resource::arn:<AWS::Partition>:scheduler:<AWS::Region>:<AWS::AccountId>:schedule\\/.*\\/\\*$/g' }],
        },
      ],
      true,
    );

    this.functions = { api, apiSandbox, apiSchedules, apiOpenapi, orchestrator, spawner, sweeper, spawnDlq, batchTrigger, authorizer };

    const monitoredFunctions: Record<string, lambda.IFunction> = {
      Api: api.function,
      ApiSandbox: apiSandbox.function,
      ApiSchedules: apiSchedules.function,
      ApiOpenapi: apiOpenapi.function,
      Orchestrator: orchestrator.function,
      Spawner: spawner.function,
      Sweeper: sweeper.function,
      SpawnDlq: spawnDlq.function,
      BatchTrigger: batchTrigger.function,
      Notifier: notifications.notifier.function,
      DigestTrigger: notifications.digestTrigger.function,
      ...(authorizer ? { Authorizer: authorizer.function } : {}),
    };
    this.monitoring = new Monitoring(this, 'Monitoring', {
      functions: monitoredFunctions,
      spawnQueue,
      spawnDeadLetterQueue: storage.spawnDeadLetterQueue,
      wakeQueue,
      api: this.httpApi.api,
    });

    new CfnOutput(this, 'DashboardUrl', { value: this.web.origin, description: 'The dashboard (CloudFront)' });
    new CfnOutput(this, 'ApiUrl', { value: this.httpApi.endpoint, description: 'Base URL of the HTTP API' });
    new CfnOutput(this, 'TableName', { value: table.tableName });
    new CfnOutput(this, 'SpawnQueueUrl', { value: spawnQueue.queueUrl });
  }
}

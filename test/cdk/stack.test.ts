import { Match } from 'aws-cdk-lib/assertions';
import type { Template } from 'aws-cdk-lib/assertions';
import { beforeAll, describe, expect, it } from 'vitest';
import type { NightshiftFunction } from '../../lib/constructs/nightshift-function.js';
import { InvalidStackConfigError, resolveConfig } from '../../lib/stack-config.js';
import { API_ROUTES, routeKey } from '../../src/platform/http/route-table.js';
import {
  apiProjection,
  ENV,
  MAIN_TABLE,
  ORCHESTRATOR_TIMEOUT_SECONDS,
  WAKE_QUEUE,
} from '../../src/platform/resources.js';
import { synthNightshift } from './synth.js';
import type { Synthesized } from './synth.js';

interface Statement {
  readonly actions: readonly string[];
  readonly resources: readonly unknown[];
}

type Resources = Record<string, { Properties: Record<string, unknown> }>;

const asArray = (value: unknown): unknown[] => (Array.isArray(value) ? value : [value]);

/** Every statement of every inline policy attached to the role of `fn`. */
const statementsOf = ({ template, logicalId }: Synthesized, fn: NightshiftFunction): Statement[] => {
  const roleId = logicalId(fn.role);
  const policies = Object.values(template.findResources('AWS::IAM::Policy') as Resources);
  return policies
    .filter((policy) => asArray(policy.Properties.Roles).some((role) => JSON.stringify(role) === JSON.stringify({ Ref: roleId })))
    .flatMap((policy) => {
      const document = policy.Properties.PolicyDocument as { Statement: Array<{ Action: unknown; Resource: unknown }> };
      return document.Statement.map((statement) => ({
        actions: asArray(statement.Action).map(String),
        resources: asArray(statement.Resource),
      }));
    });
};

const actionsOf = (synth: Synthesized, fn: NightshiftFunction): Set<string> =>
  new Set(statementsOf(synth, fn).flatMap((statement) => statement.actions));

/** Whether `fn` may perform `action` on the resource whose ARN is `Fn::GetAtt [logicalId, Arn]`. */
const canOn = (synth: Synthesized, fn: NightshiftFunction, action: string, resourceLogicalId: string): boolean =>
  statementsOf(synth, fn).some(
    (statement) =>
      statement.actions.includes(action) &&
      statement.resources.some((resource) => JSON.stringify(resource) === JSON.stringify({ 'Fn::GetAtt': [resourceLogicalId, 'Arn'] })),
  );

/** `routeKey -> AuthorizationType` of every route in the template. */
const authorizationByRoute = (template: Template): Map<string, unknown> => {
  const routes = Object.values(template.findResources('AWS::ApiGatewayV2::Route') as Resources);
  return new Map(routes.map((route) => [String(route.Properties.RouteKey), route.Properties.AuthorizationType]));
};

const expectedAuthorization = (userAuthorizationType: string): Map<string, unknown> =>
  new Map(API_ROUTES.map((route) => [routeKey(route), route.auth === 'user' ? userAuthorizationType : 'NONE']));

const environmentOf = (template: Template, synth: Synthesized, fn: NightshiftFunction): Record<string, unknown> => {
  const resource = template.toJSON().Resources[synth.logicalId(fn.function)] as {
    Properties: { Environment: { Variables: Record<string, unknown> } };
  };
  return resource.Properties.Environment.Variables;
};

describe('NightshiftStack (defaults: Lambda authorizer, ECS sandboxes)', () => {
  let synth: Synthesized;
  let template: Template;

  // A real synth bundles nine functions with esbuild (with the notifier and the digest trigger) and
  // stages the dashboard's deployment assets: slow on a busy machine.
  beforeAll(() => {
    synth = synthNightshift();
    template = synth.template;
  }, 240_000);

  it('builds the table exactly from MAIN_TABLE, on demand, with TTL, PITR, deletion protection and RETAIN', () => {
    const attributeNames = new Set([
      MAIN_TABLE.partitionKey,
      MAIN_TABLE.sortKey,
      ...MAIN_TABLE.indexes.flatMap((index) => [index.partitionKey, index.sortKey]),
    ]);
    template.resourceCountIs('AWS::DynamoDB::Table', 1);
    template.hasResource('AWS::DynamoDB::Table', {
      DeletionPolicy: 'Retain',
      UpdateReplacePolicy: 'Retain',
      Properties: {
        KeySchema: [
          { AttributeName: MAIN_TABLE.partitionKey, KeyType: 'HASH' },
          { AttributeName: MAIN_TABLE.sortKey, KeyType: 'RANGE' },
        ],
        AttributeDefinitions: Match.arrayEquals(
          [...attributeNames].map((name) => ({ AttributeName: name, AttributeType: 'S' })),
        ),
        GlobalSecondaryIndexes: MAIN_TABLE.indexes.map((index) => ({
          IndexName: index.name,
          KeySchema: [
            { AttributeName: index.partitionKey, KeyType: 'HASH' },
            { AttributeName: index.sortKey, KeyType: 'RANGE' },
          ],
          Projection: apiProjection(index),
        })),
        BillingMode: 'PAY_PER_REQUEST',
        TimeToLiveSpecification: { AttributeName: MAIN_TABLE.ttlAttribute, Enabled: true },
        PointInTimeRecoverySpecification: { PointInTimeRecoveryEnabled: true },
        DeletionProtectionEnabled: true,
        SSESpecification: { SSEEnabled: true },
      },
    });
  });

  it('projects no index ALL: the scheduler indexes carry keys and the few attributes their queries read', () => {
    const indexes = template.findResources('AWS::DynamoDB::Table');
    const projections = Object.values(indexes).flatMap((resource) =>
      ((resource as { Properties: { GlobalSecondaryIndexes: { IndexName: string; Projection: { ProjectionType: string; NonKeyAttributes?: string[] } }[] } }).Properties.GlobalSecondaryIndexes),
    );
    expect(Object.fromEntries(projections.map((index) => [index.IndexName, index.Projection]))).toEqual({
      byUser: { ProjectionType: 'KEYS_ONLY' },
      byUserStatus: { ProjectionType: 'KEYS_ONLY' },
      pending: { ProjectionType: 'KEYS_ONLY' },
      ready: { ProjectionType: 'INCLUDE', NonKeyAttributes: expect.arrayContaining(['user_id']) },
      due: { ProjectionType: 'INCLUDE', NonKeyAttributes: expect.arrayContaining(['user_id', 'status', 'next_occurrence_at', 'batch_id', 'key']) },
    });
  });

  it('lets a prop turn deletion protection off (for throwaway stacks)', () => {
    expect(resolveConfig({ tableDeletionProtection: false }, () => undefined).tableDeletionProtection).toBe(false);
  });

  it('builds the spawn queue, its DLQ and the wake queue from the shared definitions', () => {
    const { storage } = synth.stack;
    const dlqId = synth.logicalId(storage.spawnDeadLetterQueue);
    const queues = template.toJSON().Resources as Resources;
    // ECS: the spawner's 50 s (30 s RunTask + 20 s) plus 10 s; three receives in 3 x 60 + 20 s.
    expect(queues[synth.logicalId(storage.spawnQueue)]?.Properties).toEqual({
      VisibilityTimeout: 60,
      ReceiveMessageWaitTimeSeconds: 20,
      MessageRetentionPeriod: 4 * 24 * 3600,
      SqsManagedSseEnabled: true,
      RedrivePolicy: { deadLetterTargetArn: { 'Fn::GetAtt': [dlqId, 'Arn'] }, maxReceiveCount: 3 },
    });
    expect(queues[synth.logicalId(storage.wakeQueue)]?.Properties).toEqual({
      VisibilityTimeout: WAKE_QUEUE.visibilityTimeoutSeconds,
      ReceiveMessageWaitTimeSeconds: WAKE_QUEUE.receiveWaitTimeSeconds,
      MessageRetentionPeriod: WAKE_QUEUE.messageRetentionSeconds,
      SqsManagedSseEnabled: true,
    });
    expect(queues[dlqId]?.Properties).toMatchObject({ MessageRetentionPeriod: 14 * 24 * 3600, SqsManagedSseEnabled: true });
    // enforceSSL: every queue policy denies plain HTTP (spawn, its DLQ, wake, notify, its DLQ).
    template.resourcePropertiesCountIs(
      'AWS::SQS::QueuePolicy',
      {
        PolicyDocument: {
          Statement: Match.arrayWith([
            Match.objectLike({ Effect: 'Deny', Condition: { Bool: { 'aws:SecureTransport': 'false' } } }),
          ]),
        },
      },
      5,
    );
  });

  it('creates exactly one route per API_ROUTES entry, user routes behind the authorizer', () => {
    template.resourceCountIs('AWS::ApiGatewayV2::Route', API_ROUTES.length);
    expect(authorizationByRoute(template)).toEqual(expectedAuthorization('CUSTOM'));
  });

  it('accepts a JWT or an x-api-key: the Lambda authorizer has no required identity source and no cache', () => {
    template.resourceCountIs('AWS::ApiGatewayV2::Authorizer', 1);
    template.hasResourceProperties('AWS::ApiGatewayV2::Authorizer', {
      AuthorizerType: 'REQUEST',
      EnableSimpleResponses: true,
      AuthorizerResultTtlInSeconds: 0,
      IdentitySource: [],
    });
    const { authorizer } = synth.stack.functions;
    expect(authorizer).toBeDefined();
    if (!authorizer) return;
    expect(environmentOf(template, synth, authorizer)).toMatchObject({
      JWT_ISSUER: 'https://auth.example.com/',
      JWT_AUDIENCE: 'nightshift-test',
      JWKS_URL: 'https://auth.example.com/.well-known/jwks.json',
    });
  });

  it('throttles the stage and writes access logs', () => {
    template.hasResourceProperties('AWS::ApiGatewayV2::Stage', {
      StageName: '$default',
      AutoDeploy: true,
      DefaultRouteSettings: { ThrottlingBurstLimit: 100, ThrottlingRateLimit: 50 },
      AccessLogSettings: { DestinationArn: Match.anyValue(), Format: Match.stringLikeRegexp('requestId') },
    });
  });

  it('runs every function on Node 22, arm64, bundled as ESM with source maps, traced, with one-month logs', () => {
    const all = template.findResources('AWS::Lambda::Function') as Resources;
    // Besides ours, the one copy function AWS's BucketDeployment brings to ship the dashboard.
    const copiers = Object.keys(all).filter((id) => id.startsWith('CustomCDKBucketDeployment'));
    expect(copiers).toHaveLength(1);
    const functions = Object.entries(all).filter(([id]) => !copiers.includes(id)).map(([, fn]) => fn);
    expect(functions).toHaveLength(12); // with the notifier, the digest trigger and the API's four route groups
    for (const fn of functions) {
      expect(fn.Properties).toMatchObject({
        Runtime: 'nodejs22.x',
        Architectures: ['arm64'],
        Handler: 'index.handler',
        MemorySize: 512,
        TracingConfig: { Mode: 'Active' },
        LoggingConfig: { LogGroup: expect.anything() },
        Environment: {
          Variables: expect.objectContaining({
            NODE_OPTIONS: '--enable-source-maps',
            POWERTOOLS_SERVICE_NAME: 'nightshift',
            [ENV.tableName]: expect.anything(),
            [ENV.spawnQueueUrl]: expect.anything(),
            [ENV.spawnDlqUrl]: expect.anything(),
            [ENV.wakeQueueUrl]: expect.anything(),
            POLL_INTERVAL: '5',
            TIMEOUT_CHECK_INTERVAL: '60',
            MAX_PENDING_PER_USER: '50',
            STALE_CLAIMING_THRESHOLD: '60',
            SANDBOX_PROVIDER: 'ecs',
          }),
        },
      });
    }
    template.allResourcesProperties('AWS::Logs::LogGroup', { RetentionInDays: 30 });
  });

  it('gives each function its timeout', () => {
    const { api, orchestrator, spawner, sweeper } = synth.stack.functions;
    const timeouts = template.toJSON().Resources as Resources;
    const timeoutOf = (fn: NightshiftFunction): unknown => timeouts[synth.logicalId(fn.function)]?.Properties.Timeout;
    expect([api, orchestrator, spawner, sweeper].map(timeoutOf)).toEqual([
      29,
      ORCHESTRATOR_TIMEOUT_SECONDS,
      50,
      60,
    ]);
  });

  it('wakes the orchestrator both every minute and from the wake queue, reporting partial batch failures', () => {
    const { orchestrator } = synth.stack.functions;
    const fnId = synth.logicalId(orchestrator.function);
    template.hasResourceProperties('AWS::Events::Rule', {
      ScheduleExpression: 'rate(1 minute)',
      Targets: [Match.objectLike({ Arn: { 'Fn::GetAtt': [fnId, 'Arn'] } })],
    });
    template.hasResourceProperties('AWS::Lambda::EventSourceMapping', {
      FunctionName: { Ref: fnId },
      EventSourceArn: { 'Fn::GetAtt': [synth.logicalId(synth.stack.storage.wakeQueue), 'Arn'] },
      BatchSize: 10,
      ScalingConfig: { MaximumConcurrency: 4 },
      FunctionResponseTypes: ['ReportBatchItemFailures'],
    });
  });

  it('feeds the spawner from the spawn queue and spawn-dlq from the DLQ, with reserved concurrency 1', () => {
    const { spawner, spawnDlq, sweeper } = synth.stack.functions;
    template.hasResourceProperties('AWS::Lambda::EventSourceMapping', {
      FunctionName: { Ref: synth.logicalId(spawner.function) },
      EventSourceArn: { 'Fn::GetAtt': [synth.logicalId(synth.stack.storage.spawnQueue), 'Arn'] },
      BatchSize: 1,
      FunctionResponseTypes: ['ReportBatchItemFailures'],
    });
    template.hasResourceProperties('AWS::Lambda::EventSourceMapping', {
      FunctionName: { Ref: synth.logicalId(spawnDlq.function) },
      EventSourceArn: { 'Fn::GetAtt': [synth.logicalId(synth.stack.storage.spawnDeadLetterQueue), 'Arn'] },
      FunctionResponseTypes: ['ReportBatchItemFailures'],
    });
    template.hasResourceProperties('AWS::Lambda::Function', { ReservedConcurrentExecutions: 1 });
    template.hasResourceProperties('AWS::Events::Rule', {
      ScheduleExpression: 'rate(1 minute)',
      Targets: [Match.objectLike({ Arn: { 'Fn::GetAtt': [synth.logicalId(sweeper.function), 'Arn'] } })],
    });
  });

  it('grants each function only what it uses', () => {
    const { api, apiSandbox, apiSchedules, apiOpenapi, orchestrator, spawner, sweeper, spawnDlq, batchTrigger, authorizer } = synth.stack.functions;
    const { storage } = synth.stack;
    const spawnQueue = synth.logicalId(storage.spawnQueue);
    const wakeQueue = synth.logicalId(storage.wakeQueue);

    // The core API group: DynamoDB and the wake queue; no sandboxes, no schedules.
    const apiActions = [...actionsOf(synth, api)];
    expect(apiActions.filter((action) => /^(ecs|scheduler|iam|secretsmanager|s3):/.test(action))).toEqual([]);
    expect(canOn(synth, api, 'sqs:SendMessage', wakeQueue)).toBe(true);
    expect(canOn(synth, api, 'sqs:SendMessage', spawnQueue)).toBe(false);
    expect(canOn(synth, api, 'sqs:GetQueueAttributes', spawnQueue)).toBe(true); // health check
    // The sandbox group stops sandboxes (cancel) and reads their logs; it starts none and manages no schedules.
    const sandboxActions = [...actionsOf(synth, apiSandbox)];
    expect(sandboxActions).toContain('ecs:StopTask');
    expect(sandboxActions).not.toContain('ecs:RunTask');
    expect(sandboxActions.filter((action) => action.startsWith('scheduler:'))).toEqual([]);
    expect(canOn(synth, apiSandbox, 'sqs:SendMessage', wakeQueue)).toBe(true);
    // The schedules group manages batch schedules; a cancelled batch's sandboxes are stopped by
    // the spawner, from the stop messages this group sends: it touches no sandbox itself.
    const schedulesActions = [...actionsOf(synth, apiSchedules)];
    expect(schedulesActions).toContain('scheduler:CreateSchedule');
    expect(schedulesActions.filter((action) => /^(ecs|secretsmanager):/.test(action))).toEqual([]);
    expect(canOn(synth, apiSchedules, 'sqs:SendMessage', spawnQueue)).toBe(true);
    // The OpenAPI document's group reads nothing.
    expect([...actionsOf(synth, apiOpenapi)].filter((action) => !/^(logs|xray):/.test(action))).toEqual([]);

    expect(canOn(synth, orchestrator, 'sqs:SendMessage', spawnQueue)).toBe(true);
    expect(canOn(synth, orchestrator, 'sqs:SendMessage', wakeQueue)).toBe(true);
    expect(actionsOf(synth, orchestrator)).not.toContain('ecs:StopTask');

    const spawnerActions = actionsOf(synth, spawner);
    expect(spawnerActions).toContain('ecs:RunTask');
    expect(spawnerActions).toContain('iam:PassRole');
    expect([...spawnerActions].filter((action) => action.startsWith('scheduler:'))).toEqual([]);
    expect(canOn(synth, spawner, 'sqs:SendMessage', spawnQueue)).toBe(false);

    expect(canOn(synth, sweeper, 'sqs:SendMessage', spawnQueue)).toBe(false);
    expect(canOn(synth, sweeper, 'sqs:SendMessage', wakeQueue)).toBe(true);
    expect(actionsOf(synth, sweeper)).not.toContain('ecs:RunTask');

    for (const fn of [spawnDlq, batchTrigger]) {
      const actions = [...actionsOf(synth, fn)];
      expect(actions.filter((action) => /^(ecs|scheduler|iam|secretsmanager):/.test(action))).toEqual([]);
      expect(canOn(synth, fn, 'sqs:SendMessage', spawnQueue)).toBe(false);
    }

    expect(authorizer).toBeDefined();
    if (authorizer) {
      const actions = actionsOf(synth, authorizer);
      expect(actions).toContain('dynamodb:GetItem');
      expect(actions).not.toContain('dynamodb:PutItem');
      expect([...actions].filter((action) => action.startsWith('sqs:'))).toEqual([]);
    }
  });

  it("lets EventBridge Scheduler invoke the batch trigger and nothing else, and lets only the API's schedules group pass its role", () => {
    const { api, apiSandbox, apiSchedules, apiOpenapi, batchTrigger, spawner, sweeper, orchestrator } = synth.stack.functions;
    template.hasResourceProperties('AWS::Scheduler::ScheduleGroup', { Name: 'NightshiftTest-batches' });
    template.hasResourceProperties('AWS::IAM::Role', {
      AssumeRolePolicyDocument: {
        Statement: [Match.objectLike({ Principal: { Service: 'scheduler.amazonaws.com' } })],
      },
    });
    template.hasResourceProperties('AWS::IAM::Policy', {
      PolicyDocument: {
        Statement: [
          { Effect: 'Allow', Action: 'lambda:InvokeFunction', Resource: { 'Fn::GetAtt': [synth.logicalId(batchTrigger.function), 'Arn'] } },
        ],
      },
    });
    expect(environmentOf(template, synth, apiSchedules)).toMatchObject({
      SCHEDULE_GROUP_NAME: 'NightshiftTest-batches',
      SCHEDULER_ROLE_ARN: expect.anything(),
      BATCH_TRIGGER_ARN: { 'Fn::GetAtt': [synth.logicalId(batchTrigger.function), 'Arn'] },
    });
    for (const fn of [api, apiSandbox, apiOpenapi]) expect(actionsOf(synth, fn)).not.toContain('iam:PassRole');
    for (const fn of [api, apiSandbox, apiOpenapi, spawner, sweeper, orchestrator, batchTrigger]) {
      expect([...actionsOf(synth, fn)].filter((action) => action.startsWith('scheduler:'))).toEqual([]);
    }
  });

  it('gives the spawner the callback URL and the ECS settings, and the API no URL of its own', () => {
    const { api, spawner } = synth.stack.functions;
    const spawnerEnv = environmentOf(template, synth, spawner);
    expect(spawnerEnv).toMatchObject({
      CALLBACK_BASE_URL: expect.anything(),
      ECS_CLUSTER_ARN: expect.anything(),
      ECS_TASK_DEFINITION_ARN: expect.anything(),
      ECS_SUBNET_IDS: expect.anything(),
      ECS_SECURITY_GROUP_IDS: expect.anything(),
      ECS_CONTAINER_NAME: 'agent',
      ECS_ASSIGN_PUBLIC_IP: 'ENABLED',
    });
    expect(environmentOf(template, synth, api)).not.toHaveProperty('CALLBACK_BASE_URL');
  });

  it('runs sandboxes on Fargate with the AgentImage parameter, awslogs and an egress-only security group', () => {
    template.hasParameter('AgentImage', { Type: 'String', Default: 'public.ecr.aws/docker/library/node:22-slim' });
    template.hasResourceProperties('AWS::ECS::TaskDefinition', {
      RequiresCompatibilities: ['FARGATE'],
      ContainerDefinitions: [
        Match.objectLike({
          Name: 'agent',
          Image: { Ref: 'AgentImage' },
          LogConfiguration: Match.objectLike({ LogDriver: 'awslogs' }),
        }),
      ],
    });
    template.hasResourceProperties('AWS::ECS::Cluster', {
      ClusterSettings: [{ Name: 'containerInsights', Value: 'enabled' }],
    });
    template.resourceCountIs('AWS::EC2::NatGateway', 0);
    template.hasResourceProperties('AWS::EC2::SecurityGroup', {
      SecurityGroupEgress: [Match.objectLike({ CidrIp: '0.0.0.0/0' })],
      SecurityGroupIngress: Match.absent(),
    });
  });

  it('alarms when a spawn reaches the DLQ, on function errors and throttles, and when claiming stalls', () => {
    template.hasResourceProperties('AWS::CloudWatch::Alarm', {
      MetricName: 'ApproximateNumberOfMessagesVisible',
      Namespace: 'AWS/SQS',
      Dimensions: [
        { Name: 'QueueName', Value: { 'Fn::GetAtt': [synth.logicalId(synth.stack.storage.spawnDeadLetterQueue), 'QueueName'] } },
      ],
      Threshold: 1,
      ComparisonOperator: 'GreaterThanOrEqualToThreshold',
    });
    for (const metricName of ['Errors', 'Throttles']) {
      template.resourcePropertiesCountIs('AWS::CloudWatch::Alarm', { MetricName: metricName, Namespace: 'AWS/Lambda' }, 12);
    }
    template.hasResourceProperties('AWS::CloudWatch::Alarm', {
      Metrics: Match.arrayWith([
        Match.objectLike({ MetricStat: Match.objectLike({ Metric: Match.objectLike({ MetricName: 'TasksClaimed', Namespace: 'Nightshift' }) }) }),
        Match.objectLike({ MetricStat: Match.objectLike({ Metric: Match.objectLike({ MetricName: 'PendingTasks', Namespace: 'Nightshift' }) }) }),
      ]),
    });
    template.resourceCountIs('AWS::CloudWatch::Dashboard', 1);
  });

  it('outputs the API URL, the table name and the spawn queue URL', () => {
    template.hasOutput('ApiUrl', {});
    template.hasOutput('TableName', {});
    template.hasOutput('SpawnQueueUrl', {});
  });
});

describe('NightshiftStack with authMode jwt and Daytona sandboxes', () => {
  let synth: Synthesized;

  beforeAll(() => {
    synth = synthNightshift(
      { authMode: 'jwt', sandboxProvider: 'daytona', daytonaSecretName: 'team/daytona' },
      { bundle: false },
    );
  });

  it('puts user routes behind the JWT authorizer with the configured issuer and audience', () => {
    synth.template.resourceCountIs('AWS::ApiGatewayV2::Route', API_ROUTES.length);
    expect(authorizationByRoute(synth.template)).toEqual(expectedAuthorization('JWT'));
    synth.template.hasResourceProperties('AWS::ApiGatewayV2::Authorizer', {
      AuthorizerType: 'JWT',
      JwtConfiguration: { Issuer: 'https://auth.example.com/', Audience: ['nightshift-test'] },
    });
    expect(synth.stack.functions.authorizer).toBeUndefined();
  });

  it('fits the spawn path to Daytona\'s 120 s starts: spawner 140 s, one message a batch, visibility 150 s', () => {
    const resources = synth.template.toJSON().Resources as Resources;
    const { spawner } = synth.stack.functions;
    expect(resources[synth.logicalId(spawner.function)]?.Properties).toMatchObject({ Timeout: 140 });
    expect(resources[synth.logicalId(synth.stack.storage.spawnQueue)]?.Properties).toMatchObject({
      VisibilityTimeout: 150,
      RedrivePolicy: expect.objectContaining({ maxReceiveCount: 3 }),
    });
    synth.template.hasResourceProperties('AWS::Lambda::EventSourceMapping', {
      FunctionName: { Ref: synth.logicalId(spawner.function) },
      BatchSize: 1,
    });
    // The functions get the configured threshold; their config raises it to 3 x 150 + 20 s.
    expect(resources[synth.logicalId(spawner.function)]?.Properties).toMatchObject({
      Environment: { Variables: expect.objectContaining({ STALE_CLAIMING_THRESHOLD: '60', SANDBOX_PROVIDER: 'daytona' }) },
    });
  });

  it('reads the Daytona key from Secrets Manager by reference and builds no ECS', () => {
    const { spawner, api, apiSandbox, apiSchedules, sweeper, orchestrator } = synth.stack.functions;
    synth.template.resourceCountIs('AWS::ECS::Cluster', 0);
    synth.template.resourceCountIs('AWS::EC2::VPC', 0);
    synth.template.resourceCountIs('AWS::SecretsManager::Secret', 0);
    for (const fn of [spawner, apiSandbox, sweeper]) {
      expect(actionsOf(synth, fn)).toContain('secretsmanager:GetSecretValue');
      expect(environmentOf(synth.template, synth, fn)).toMatchObject({
        SANDBOX_PROVIDER: 'daytona',
        DAYTONA_API_KEY_SECRET_ARN: expect.objectContaining({ 'Fn::Join': expect.anything() }),
      });
    }
    expect(JSON.stringify(environmentOf(synth.template, synth, spawner))).toContain('secret:team/daytona');
    for (const fn of [orchestrator, api, apiSchedules]) expect(actionsOf(synth, fn)).not.toContain('secretsmanager:GetSecretValue');
    expect(environmentOf(synth.template, synth, apiSchedules)).not.toHaveProperty('DAYTONA_API_KEY_SECRET_ARN');
  });
});

describe('stack configuration', () => {
  it.each([
    [{ pollIntervalSeconds: 0 }, 'POLL_INTERVAL'],
    [{ pollIntervalSeconds: 31 }, 'POLL_INTERVAL'],
    [{ timeoutCheckIntervalSeconds: 29 }, 'TIMEOUT_CHECK_INTERVAL'],
    [{ maxPendingPerUser: 201 }, 'MAX_PENDING_PER_USER'],
    [{ staleClaimingThresholdSeconds: 301 }, 'STALE_CLAIMING_THRESHOLD'],
    [{ localLeaseTimeoutSeconds: 59 }, 'LOCAL_LEASE_TIMEOUT'],
    [{ localMaxWaitSeconds: 604_801 }, 'LOCAL_MAX_WAIT'],
  ])('rejects %o with a message naming %s', (props, name) => {
    expect(() => resolveConfig(props, () => undefined)).toThrow(InvalidStackConfigError);
    expect(() => resolveConfig(props, () => undefined)).toThrow(name);
  });

  it('reads the JWT issuer and audience from context when no prop is given', () => {
    const context: Record<string, string> = { jwtIssuer: 'https://id.example.org', jwtAudience: 'aud' };
    expect(resolveConfig({}, (key) => context[key])).toMatchObject({
      jwtIssuer: 'https://id.example.org',
      jwtAudience: 'aud',
      jwksUrl: 'https://id.example.org/.well-known/jwks.json',
      jwtIssuerIsPlaceholder: false,
      authMode: 'lambda',
      sandboxProvider: 'ecs',
    });
  });
});

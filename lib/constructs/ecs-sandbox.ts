import { readFileSync } from 'node:fs';
import { Arn, ArnFormat, Stack } from 'aws-cdk-lib';
import * as ec2 from 'aws-cdk-lib/aws-ec2';
import * as ecs from 'aws-cdk-lib/aws-ecs';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as logs from 'aws-cdk-lib/aws-logs';
import type * as s3 from 'aws-cdk-lib/aws-s3';
import type * as secretsmanager from 'aws-cdk-lib/aws-secretsmanager';
import { NagSuppressions } from 'cdk-nag';
import { Construct } from 'constructs';

export const SANDBOX_CONTAINER_NAME = 'agent';
export const SANDBOX_LOG_STREAM_PREFIX = 'sandbox';

/** cdk-nag IAM5 finding caused by the task-ARN grants below, with the reason it is acceptable. */
export const ECS_TASK_ARN_SUPPRESSION = {
  id: 'AwsSolutions-IAM5',
  reason:
    "ECS task ids exist only after RunTask: StopTask, DescribeTasks and TagResource are limited to this cluster's task ARNs (task/<cluster>/*) and, where supported, an ecs:cluster condition.",
  appliesTo: [{ regex: '/^Resource::arn:<AWS::Partition>:ecs:<AWS::Region>:<AWS::AccountId>:task\\/.*\\/\\*$/g' }],
};

export interface EcsSandboxProps {
  readonly image: string;
  readonly cpu: number;
  readonly memoryMiB: number;
  /** Where the entry script uploads a repository task's patch and stat (under `tasks/`). */
  readonly artifactsBucket?: s3.IBucket;
  /** The git token for private repositories, injected into the entry script only. */
  readonly gitSecret?: secretsmanager.ISecret;
  /** The agent command the entry script runs (SANDBOX_COMMAND of the provider). */
  readonly agentCommand?: string;
}

/**
 * The container runs Nightshift's entry script (sandbox/ecs-entry.mjs) with the image's node:
 * it checks the project out, runs the agent (NIGHTSHIFT_AGENT_COMMAND) and reports git's result.
 * Inlined, so any agent image with node and git works without a Nightshift layer.
 */
export function ecsEntryCommand(): string[] {
  const script = readFileSync(new URL('../../sandbox/ecs-entry.mjs', import.meta.url), 'utf8').replace(/^#!.*\n/, '');
  return ['node', '--input-type=module', '--eval', script];
}

/**
 * Fargate sandboxes for tasks that outlive Lambda's 15 minutes. Public subnets and no NAT gateway
 * keep an idle deployment free: a sandbox gets a public IP to pull its image and call back, and its
 * security group admits nothing inbound.
 */
export class EcsSandbox extends Construct {
  readonly vpc: ec2.Vpc;
  readonly cluster: ecs.Cluster;
  readonly taskDefinition: ecs.FargateTaskDefinition;
  readonly securityGroup: ec2.SecurityGroup;
  readonly logGroup: logs.LogGroup;
  private readonly agentCommand: string | undefined;

  constructor(scope: Construct, id: string, props: EcsSandboxProps) {
    super(scope, id);
    this.agentCommand = props.agentCommand;

    this.vpc = new ec2.Vpc(this, 'Vpc', {
      maxAzs: 2,
      natGateways: 0,
      subnetConfiguration: [{ name: 'public', subnetType: ec2.SubnetType.PUBLIC, cidrMask: 24 }],
    });
    const flowLogs = new logs.LogGroup(this, 'FlowLogs', { retention: logs.RetentionDays.ONE_MONTH });
    this.vpc.addFlowLog('FlowLog', {
      destination: ec2.FlowLogDestination.toCloudWatchLogs(flowLogs),
      trafficType: ec2.FlowLogTrafficType.REJECT,
    });

    this.cluster = new ecs.Cluster(this, 'Cluster', {
      vpc: this.vpc,
      containerInsightsV2: ecs.ContainerInsights.ENABLED,
    });

    this.securityGroup = new ec2.SecurityGroup(this, 'SandboxSecurityGroup', {
      vpc: this.vpc,
      description: 'Nightshift sandboxes: outbound only (image pull, agent APIs, callback)',
      allowAllOutbound: true,
    });

    this.logGroup = new logs.LogGroup(this, 'SandboxLogs', { retention: logs.RetentionDays.ONE_MONTH });

    // The sandbox's own role: the agent reports through the callback URL with its per-task token;
    // the entry script may only put objects under tasks/ of the artifact bucket (the agent is not
    // given the role's credentials). The git token is read by the execution role (to inject it
    // into the entry script), never by this role.
    const taskRole = new iam.Role(this, 'SandboxTaskRole', {
      assumedBy: new iam.ServicePrincipal('ecs-tasks.amazonaws.com'),
      description: 'Nightshift sandbox task role (put patches under tasks/ only)',
    });
    if (props.artifactsBucket) {
      taskRole.addToPolicy(new iam.PolicyStatement({ actions: ['s3:PutObject'], resources: [props.artifactsBucket.arnForObjects('tasks/*')] }));
      NagSuppressions.addResourceSuppressions(
        taskRole,
        [
          {
            id: 'AwsSolutions-IAM5',
            reason: 'Artifact keys are per task (tasks/<task-id>/...), known only at run time; the entry script may only put objects under tasks/ of the one artifact bucket.',
            appliesTo: [{ regex: '/^Resource::<StorageArtifacts[0-9A-F]+\\.Arn>\\/tasks\\/\\*$/g' }],
          },
        ],
        true,
      );
    }
    this.taskDefinition = new ecs.FargateTaskDefinition(this, 'SandboxTask', {
      cpu: props.cpu,
      memoryLimitMiB: props.memoryMiB,
      taskRole,
    });
    // The task's variables (and the artifact bucket) come as RunTask overrides; only the git secret is fixed here.
    this.taskDefinition.addContainer(SANDBOX_CONTAINER_NAME, {
      containerName: SANDBOX_CONTAINER_NAME,
      image: ecs.ContainerImage.fromRegistry(props.image),
      command: ecsEntryCommand(),
      // The entry script starts as root, whatever the image's USER, so it can run the agent as an
      // unprivileged user (NIGHTSHIFT_AGENT_UID, default 10001) that cannot read its environment.
      user: '0',
      secrets: props.gitSecret ? { NIGHTSHIFT_GIT_TOKEN: ecs.Secret.fromSecretsManager(props.gitSecret) } : {},
      essential: true,
      logging: ecs.LogDrivers.awsLogs({ logGroup: this.logGroup, streamPrefix: SANDBOX_LOG_STREAM_PREFIX }),
    });
  }

  /** Environment a provider needs to start, stop and read sandboxes. */
  environment(): Record<string, string> {
    return {
      ECS_CLUSTER_ARN: this.cluster.clusterArn,
      ECS_TASK_DEFINITION_ARN: this.taskDefinition.taskDefinitionArn,
      ECS_SUBNET_IDS: this.vpc.publicSubnets.map((subnet) => subnet.subnetId).join(','),
      ECS_SECURITY_GROUP_IDS: this.securityGroup.securityGroupId,
      ECS_CONTAINER_NAME: SANDBOX_CONTAINER_NAME,
      ECS_ASSIGN_PUBLIC_IP: 'ENABLED',
      ECS_LOG_GROUP_NAME: this.logGroup.logGroupName,
      ECS_LOG_STREAM_PREFIX: SANDBOX_LOG_STREAM_PREFIX,
      ...(this.agentCommand ? { SANDBOX_COMMAND: this.agentCommand } : {}),
    };
  }

  /** ARN pattern of this cluster's tasks (task ids are only known at run time). */
  private tasksArn(): string {
    return Arn.format(
      {
        service: 'ecs',
        resource: 'task',
        resourceName: `${this.cluster.clusterName}/*`,
        arnFormat: ArnFormat.SLASH_RESOURCE_NAME,
      },
      Stack.of(this),
    );
  }

  /** RunTask of this task definition in this cluster, passing only its two roles, and tagging at launch. */
  grantRun(grantee: iam.IGrantable): void {
    const clusterCondition = { ArnEquals: { 'ecs:cluster': this.cluster.clusterArn } };
    grantee.grantPrincipal.addToPrincipalPolicy(
      new iam.PolicyStatement({
        actions: ['ecs:RunTask'],
        resources: [this.taskDefinition.taskDefinitionArn],
        conditions: clusterCondition,
      }),
    );
    grantee.grantPrincipal.addToPrincipalPolicy(
      new iam.PolicyStatement({
        actions: ['ecs:TagResource'],
        resources: [this.tasksArn()],
        conditions: { StringEquals: { 'ecs:CreateAction': 'RunTask' } },
      }),
    );
    const roles = [this.taskDefinition.taskRole.roleArn, this.taskDefinition.obtainExecutionRole().roleArn];
    grantee.grantPrincipal.addToPrincipalPolicy(
      new iam.PolicyStatement({
        actions: ['iam:PassRole'],
        resources: roles,
        conditions: { StringEquals: { 'iam:PassedToService': 'ecs-tasks.amazonaws.com' } },
      }),
    );
  }

  /** StopTask and DescribeTasks on this cluster's tasks only. */
  grantStopAndDescribe(grantee: iam.IGrantable): void {
    grantee.grantPrincipal.addToPrincipalPolicy(
      new iam.PolicyStatement({
        actions: ['ecs:StopTask', 'ecs:DescribeTasks'],
        resources: [this.tasksArn()],
        conditions: { ArnEquals: { 'ecs:cluster': this.cluster.clusterArn } },
      }),
    );
  }

  /** Reading sandbox output (GET /tasks/{id}/logs). */
  grantReadLogs(grantee: iam.IGrantable): void {
    grantee.grantPrincipal.addToPrincipalPolicy(
      new iam.PolicyStatement({
        actions: ['logs:GetLogEvents', 'logs:FilterLogEvents'],
        resources: [this.logGroup.logGroupArn],
      }),
    );
  }
}

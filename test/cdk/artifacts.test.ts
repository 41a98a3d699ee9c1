import { Match } from 'aws-cdk-lib/assertions';
import { beforeAll, describe, expect, it } from 'vitest';
import { InvalidStackConfigError } from '../../lib/stack-config.js';
import { ENV } from '../../src/platform/resources.js';
import { synthNightshift, type Synthesized } from './synth.js';

type Resources = Record<string, { Properties: Record<string, unknown> }>;

/** Every S3 action in the inline policies of the role of the function with this logical id prefix. */
function s3StatementsOf(synth: Synthesized, roleLogicalId: string): Array<{ actions: string[]; resources: string }> {
  const policies = Object.values(synth.template.findResources('AWS::IAM::Policy') as Resources);
  return policies
    .filter((policy) => JSON.stringify(policy.Properties.Roles).includes(`"${roleLogicalId}"`))
    .flatMap((policy) => (policy.Properties.PolicyDocument as { Statement: Array<{ Action: unknown; Resource: unknown }> }).Statement)
    .map((statement) => ({ actions: ([] as unknown[]).concat(statement.Action).map(String), resources: JSON.stringify(statement.Resource) }))
    .filter((statement) => statement.actions.some((action) => action.startsWith('s3:')));
}

describe('the artifact bucket', () => {
  let synth: Synthesized;
  beforeAll(() => {
    synth = synthNightshift({}, { bundle: false });
  });

  it('is encrypted, private, TLS-only, retained, and expires artifacts after 90 days by default', () => {
    synth.template.hasResource('AWS::S3::Bucket', {
      DeletionPolicy: 'Retain',
      Properties: {
        BucketEncryption: { ServerSideEncryptionConfiguration: [{ ServerSideEncryptionByDefault: { SSEAlgorithm: 'AES256' } }] },
        PublicAccessBlockConfiguration: { BlockPublicAcls: true, BlockPublicPolicy: true, IgnorePublicAcls: true, RestrictPublicBuckets: true },
        LifecycleConfiguration: { Rules: Match.arrayWith([Match.objectLike({ ExpirationInDays: 90, Status: 'Enabled' })]) },
      },
    });
    synth.template.hasResourceProperties('AWS::S3::BucketPolicy', {
      PolicyDocument: { Statement: Match.arrayWith([Match.objectLike({ Effect: 'Deny', Condition: { Bool: { 'aws:SecureTransport': 'false' } } })]) },
    });
  });

  it("lets the API's sandbox group read task artifacts only, and no other function touch the bucket", () => {
    const { api, apiSandbox, apiSchedules, apiOpenapi, orchestrator, spawner, sweeper, spawnDlq, batchTrigger } = synth.stack.functions;
    const bucket = synth.logicalId(synth.stack.storage.artifactsBucket);
    const apiS3 = s3StatementsOf(synth, synth.logicalId(apiSandbox.role));
    expect(apiS3.length).toBeGreaterThan(0);
    for (const statement of apiS3) {
      expect(statement.actions).toEqual(['s3:GetObject']);
      expect(statement.resources).toContain(bucket);
    }
    expect(apiS3.some((statement) => statement.resources.includes('/tasks/*'))).toBe(true);
    for (const fn of [api, apiSchedules, apiOpenapi, orchestrator, spawner, sweeper, spawnDlq, batchTrigger]) expect(s3StatementsOf(synth, synth.logicalId(fn.role))).toEqual([]);
    const variablesOf = (fn: typeof api): Record<string, unknown> =>
      (synth.template.toJSON().Resources[synth.logicalId(fn.function)] as { Properties: { Environment: { Variables: Record<string, unknown> } } }).Properties.Environment.Variables;
    expect(variablesOf(apiSandbox)[ENV.artifactsBucket]).toEqual({ Ref: bucket });
    for (const fn of [api, apiSchedules, apiOpenapi]) expect(variablesOf(fn)).not.toHaveProperty(ENV.artifactsBucket);
  });

  it('takes its retention from the stack configuration, within 1 to 3650 days', () => {
    const short = synthNightshift({ artifactRetentionDays: 7 }, { bundle: false });
    short.template.hasResourceProperties('AWS::S3::Bucket', {
      LifecycleConfiguration: { Rules: Match.arrayWith([Match.objectLike({ ExpirationInDays: 7 })]) },
    });
    expect(() => synthNightshift({ artifactRetentionDays: 0 }, { bundle: false })).toThrow(InvalidStackConfigError);
  });
});

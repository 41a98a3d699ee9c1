import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { App } from 'aws-cdk-lib';
import { Match } from 'aws-cdk-lib/assertions';
import { beforeAll, describe, expect, it } from 'vitest';
import { NightshiftStack } from '../../lib/nightshift-stack.js';
import { synthNightshift } from './synth.js';
import type { Synthesized } from './synth.js';

type Resources = Record<string, { Properties: Record<string, any>; DependsOn?: string[] }>;

/** The config.json the deployment writes: the staged file with its deploy-time values put back in. */
function deployedConfig(synth: Synthesized): { file: unknown; markers: Record<string, unknown> } {
  const deployments = synth.template.findResources('Custom::CDKBucketDeployment') as Resources;
  const config = Object.values(deployments).find((resource) => resource.Properties.DistributionPaths?.includes('/config.json'));
  if (!config) throw new Error('no deployment of config.json');
  const [key] = config.Properties.SourceObjectKeys as string[];
  const assembly = (synth.stack.node.root as App).synth();
  const file = join(assembly.directory, `asset.${key!.replace(/\.zip$/, '')}`, 'config.json');
  const markers = (config.Properties.SourceMarkers as Array<Record<string, unknown>>)[0] ?? {};
  // Each marker stands for one JSON value (a quoted string here); the test names them by what they resolve to.
  let text = readFileSync(file, 'utf8');
  for (const [marker, value] of Object.entries(markers)) text = text.replaceAll(marker, JSON.stringify(JSON.stringify(value)));
  return { file: JSON.parse(text), markers };
}

describe('the dashboard in AWS', () => {
  let synth: Synthesized;
  beforeAll(() => {
    synth = synthNightshift({}, { bundle: false });
  }, 120_000);

  it('keeps the site in a private, encrypted bucket that only accepts TLS', () => {
    const bucket = synth.logicalId(synth.stack.web.bucket);
    synth.template.hasResource('AWS::S3::Bucket', {
      Properties: {
        BucketEncryption: { ServerSideEncryptionConfiguration: [{ ServerSideEncryptionByDefault: { SSEAlgorithm: 'AES256' } }] },
        PublicAccessBlockConfiguration: { BlockPublicAcls: true, BlockPublicPolicy: true, IgnorePublicAcls: true, RestrictPublicBuckets: true },
        OwnershipControls: { Rules: [{ ObjectOwnership: 'BucketOwnerEnforced' }] },
      },
    });
    expect(synth.template.toJSON().Resources[bucket].Properties.WebsiteConfiguration).toBeUndefined();
    synth.template.hasResourceProperties('AWS::S3::BucketPolicy', {
      Bucket: { Ref: bucket },
      PolicyDocument: {
        Statement: Match.arrayWith([
          Match.objectLike({ Effect: 'Deny', Action: 's3:*', Condition: { Bool: { 'aws:SecureTransport': 'false' } } }),
          // Only this distribution, through origin access control, may read objects.
          Match.objectLike({
            Effect: 'Allow',
            Action: 's3:GetObject',
            Principal: { Service: 'cloudfront.amazonaws.com' },
            Condition: { StringEquals: { 'AWS:SourceArn': Match.anyValue() } },
          }),
        ]),
      },
    });
  });

  it('serves it through CloudFront with origin access control, index.html at the root and for every app path', () => {
    synth.template.resourceCountIs('AWS::CloudFront::OriginAccessControl', 1);
    synth.template.hasResourceProperties('AWS::CloudFront::OriginAccessControl', {
      OriginAccessControlConfig: { OriginAccessControlOriginType: 's3', SigningBehavior: 'always', SigningProtocol: 'sigv4' },
    });
    synth.template.hasResourceProperties('AWS::CloudFront::Distribution', {
      DistributionConfig: {
        DefaultRootObject: 'index.html',
        Origins: [Match.objectLike({ OriginAccessControlId: Match.anyValue(), S3OriginConfig: { OriginAccessIdentity: '' } })],
        DefaultCacheBehavior: Match.objectLike({ ViewerProtocolPolicy: 'redirect-to-https' }),
        CustomErrorResponses: [
          { ErrorCode: 403, ResponseCode: 200, ResponsePagePath: '/index.html', ErrorCachingMinTTL: 0 },
          { ErrorCode: 404, ResponseCode: 200, ResponsePagePath: '/index.html', ErrorCachingMinTTL: 0 },
        ],
      },
    });
    synth.template.resourceCountIs('AWS::CloudFront::CloudFrontOriginAccessIdentity', 0);
  });

  it('lets the HTTP API answer browsers from the dashboard origin only', () => {
    const distribution = synth.logicalId(synth.stack.web.distribution);
    synth.template.hasResourceProperties('AWS::ApiGatewayV2::Api', {
      CorsConfiguration: Match.objectLike({
        AllowOrigins: [{ 'Fn::Join': ['', ['https://', { 'Fn::GetAtt': [distribution, 'DomainName'] }]] }],
        AllowHeaders: Match.arrayWith(['authorization', 'content-type', 'x-api-key']),
        ExposeHeaders: Match.arrayWith(['x-next-cursor']),
      }),
    });
    synth.template.hasOutput('DashboardUrl', { Value: { 'Fn::Join': ['', ['https://', { 'Fn::GetAtt': [distribution, 'DomainName'] }]] } });
  });

  it("writes config.json with the API's URL and the stack's OIDC settings, never cached", () => {
    const { file } = deployedConfig(synth);
    const api = synth.logicalId(synth.stack.httpApi.api);
    expect(file).toEqual({
      api_url: JSON.stringify({ 'Fn::Join': ['', ['"', { 'Fn::GetAtt': [api, 'ApiEndpoint'] }, '"']] }),
      oidc: { issuer: 'https://auth.example.com/', client_id: 'nightshift-test', audience: 'nightshift-test' },
      local_sign_in: false,
    });
    synth.template.hasResourceProperties('Custom::CDKBucketDeployment', {
      DistributionPaths: ['/config.json'],
      Prune: false,
      SystemMetadata: { 'cache-control': 'no-cache', 'content-type': 'application/json' },
    });
    // The site's own deployment prunes old assets but leaves config.json alone.
    synth.template.hasResourceProperties('Custom::CDKBucketDeployment', { DistributionPaths: ['/*'], Prune: true, Exclude: ['config.json'] });
  });

  it('names a separate OIDC client id when given, and no OIDC at all without an issuer', () => {
    expect(synthNightshift({ oidcClientId: 'dashboard-spa' }, { bundle: false }).stack.webConfig.oidc).toEqual({
      issuer: 'https://auth.example.com/',
      client_id: 'dashboard-spa',
      audience: 'nightshift-test',
    });
    const app = new App({ context: { 'aws:cdk:bundling-stacks': [] } });
    const withoutIssuer = new NightshiftStack(app, 'NoIssuer', { webDistPath: join(__dirname, 'fixtures/web-dist') });
    expect(withoutIssuer.webConfig).toMatchObject({ oidc: null, local_sign_in: false });
  });

  it('refuses to synthesize without a built dashboard, saying how to build it', () => {
    const missing = join(__dirname, 'fixtures/no-such-dist');
    expect(existsSync(missing)).toBe(false);
    expect(() => new NightshiftStack(new App({ context: { 'aws:cdk:bundling-stacks': [] } }), 'NoSite', { webDistPath: missing })).toThrow(/npm run build:web/);
  });
});

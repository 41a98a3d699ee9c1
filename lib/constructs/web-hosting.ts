import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { Duration, RemovalPolicy, Stack } from 'aws-cdk-lib';
import * as cloudfront from 'aws-cdk-lib/aws-cloudfront';
import * as origins from 'aws-cdk-lib/aws-cloudfront-origins';
import * as s3 from 'aws-cdk-lib/aws-s3';
import * as s3deploy from 'aws-cdk-lib/aws-s3-deployment';
import { NagSuppressions } from 'cdk-nag';
import { Construct } from 'constructs';

/** The dashboard's runtime settings, served as /config.json (the shape web/ reads). */
export interface WebRuntimeConfig {
  readonly api_url: string;
  readonly oidc: { readonly issuer: string; readonly client_id: string; readonly audience: string } | null;
  readonly local_sign_in: boolean;
}

export interface WebHostingProps {
  /** The built dashboard (`npm run build:web` writes web/dist): index.html and its assets. */
  readonly siteDirectory: string;
}

/**
 * The dashboard: a private S3 bucket read only by CloudFront (origin access control), with
 * index.html as the root and the fallback of every unknown path (the app routes in the browser).
 * Built in two steps because the API's CORS needs the distribution's origin and the site's
 * config.json needs the API's URL: construct it, build the API, then `deploy(config)`.
 */
export class WebHosting extends Construct {
  readonly bucket: s3.Bucket;
  readonly distribution: cloudfront.Distribution;
  private readonly siteDirectory: string;

  constructor(scope: Construct, id: string, props: WebHostingProps) {
    super(scope, id);
    if (!existsSync(join(props.siteDirectory, 'index.html'))) {
      throw new Error(`The dashboard is not built: ${join(props.siteDirectory, 'index.html')} is missing. Run \`npm run build:web\` first (bin/nightshift.ts does it when web/dist is missing).`);
    }
    this.siteDirectory = props.siteDirectory;

    this.bucket = new s3.Bucket(this, 'Site', {
      encryption: s3.BucketEncryption.S3_MANAGED,
      enforceSSL: true,
      blockPublicAccess: s3.BlockPublicAccess.BLOCK_ALL,
      objectOwnership: s3.ObjectOwnership.BUCKET_OWNER_ENFORCED,
      // Everything in it is rebuilt from web/ on each deploy; nothing is lost with the stack.
      removalPolicy: RemovalPolicy.RETAIN,
    });
    NagSuppressions.addResourceSuppressions(this.bucket, [
      {
        id: 'AwsSolutions-S1',
        reason: 'The site bucket holds only the built dashboard, written by the deployment and read by CloudFront alone (origin access control); access logs would record nothing but CloudFront fetches of public build output.',
      },
    ]);

    const spaFallback = (httpStatus: number): cloudfront.ErrorResponse => ({
      httpStatus,
      responseHttpStatus: 200,
      responsePagePath: '/index.html',
      ttl: Duration.seconds(0),
    });
    this.distribution = new cloudfront.Distribution(this, 'Distribution', {
      comment: 'Nightshift dashboard',
      defaultRootObject: 'index.html',
      defaultBehavior: {
        origin: origins.S3BucketOrigin.withOriginAccessControl(this.bucket),
        viewerProtocolPolicy: cloudfront.ViewerProtocolPolicy.REDIRECT_TO_HTTPS,
        cachePolicy: cloudfront.CachePolicy.CACHING_OPTIMIZED,
        responseHeadersPolicy: cloudfront.ResponseHeadersPolicy.SECURITY_HEADERS,
        compress: true,
      },
      // S3 answers 403 for a missing key when the reader may not list the bucket: both mean
      // "a path of the app", which index.html resolves in the browser.
      errorResponses: [spaFallback(403), spaFallback(404)],
      httpVersion: cloudfront.HttpVersion.HTTP2_AND_3,
      priceClass: cloudfront.PriceClass.PRICE_CLASS_100,
    });
    NagSuppressions.addResourceSuppressions(this.distribution, [
      { id: 'AwsSolutions-CFR1', reason: 'The dashboard is for the deploying organisation\'s users wherever they are; sign-in, not geography, decides who sees data.' },
      { id: 'AwsSolutions-CFR2', reason: 'The distribution serves static build output only; every API call goes to the HTTP API, which has its own throttling and authorizer.' },
      { id: 'AwsSolutions-CFR3', reason: 'Static build output only: standard logs would need an ACL-enabled log bucket and would record nothing but asset fetches; the API keeps access logs.' },
      {
        id: 'AwsSolutions-CFR4',
        reason: 'The distribution uses the default *.cloudfront.net certificate, with which CloudFront negotiates TLSv1 at minimum regardless of the policy; give the stack a custom domain and ACM certificate to enforce TLS 1.2.',
      },
    ]);
  }

  /** The site's https:// origin (for the API's CORS). */
  get origin(): string {
    return `https://${this.distribution.distributionDomainName}`;
  }

  /** Deploys the built site and its config.json (never cached, so a redeploy takes effect at once). */
  deploy(config: WebRuntimeConfig): void {
    const site = new s3deploy.BucketDeployment(this, 'DeploySite', {
      sources: [s3deploy.Source.asset(this.siteDirectory, { exclude: ['config.json'] })],
      destinationBucket: this.bucket,
      // Pruning keeps config.json, which the next deployment owns.
      exclude: ['config.json'],
      distribution: this.distribution,
      distributionPaths: ['/*'],
      memoryLimit: 256,
    });
    const runtimeConfig = new s3deploy.BucketDeployment(this, 'DeployConfig', {
      sources: [s3deploy.Source.jsonData('config.json', config)],
      destinationBucket: this.bucket,
      prune: false,
      cacheControl: [s3deploy.CacheControl.noCache()],
      contentType: 'application/json',
      distribution: this.distribution,
      distributionPaths: ['/config.json'],
      // The same size as the site's, so both share one copy function.
      memoryLimit: 256,
    });
    runtimeConfig.node.addDependency(site);
    this.acknowledgeDeploymentHandler();
  }

  /** The copy function BucketDeployment brings (one per stack, AWS's code) and what cdk-nag says of it. */
  private acknowledgeDeploymentHandler(): void {
    const handlers = Stack.of(this).node.children.filter((child) => child.node.id.startsWith('Custom::CDKBucketDeployment'));
    NagSuppressions.addResourceSuppressions(
      handlers,
      [
        { id: 'AwsSolutions-IAM4', reason: "AWS's BucketDeployment handler logs with AWSLambdaBasicExecutionRole; it only writes its own log streams." },
        {
          id: 'AwsSolutions-IAM5',
          reason:
            "BucketDeployment's generated policy: s3 Get*/List* on this stack's CDK asset bucket, s3 Get*/List*/Put*/Delete*/Abort* on the site bucket's objects (it syncs and prunes them), and cloudfront:CreateInvalidation/GetInvalidation, which take no resource narrower than *.",
        },
        { id: 'AwsSolutions-L1', reason: "The handler's runtime is pinned by aws-cdk-lib's BucketDeployment and moves with aws-cdk-lib upgrades; it runs only during deployments." },
      ],
      true,
    );
  }
}

import { Duration } from 'aws-cdk-lib';
import { AccessLogFormat } from 'aws-cdk-lib/aws-apigateway';
import * as apigw from 'aws-cdk-lib/aws-apigatewayv2';
import { HttpJwtAuthorizer, HttpLambdaAuthorizer, HttpLambdaResponseType } from 'aws-cdk-lib/aws-apigatewayv2-authorizers';
import { HttpLambdaIntegration } from 'aws-cdk-lib/aws-apigatewayv2-integrations';
import type * as lambda from 'aws-cdk-lib/aws-lambda';
import * as logs from 'aws-cdk-lib/aws-logs';
import { NagSuppressions } from 'cdk-nag';
import { Construct } from 'constructs';
import type { RouteDefinition, RouteGroup } from '../../src/platform/http/route-table.js';
import { API_ROUTES, ROUTE_GROUPS, routeKey } from '../../src/platform/http/route-table.js';
import type { AuthMode } from '../stack-config.js';

export interface HttpApiProps {
  /** The function of each route group (src/platform/http/route-table.ts): it serves that group's routes. */
  readonly handlers: Readonly<Record<RouteGroup, lambda.IFunction>>;
  readonly authMode: AuthMode;
  readonly jwtIssuer: string;
  readonly jwtAudience: string;
  /** Required when authMode is `lambda`. */
  readonly authorizer?: lambda.IFunction;
  /** Browser origins allowed to call the API (the dashboard's); none: no CORS. */
  readonly corsAllowOrigins?: readonly string[];
}

/** What the dashboard sends and reads across origins. */
const CORS_ALLOW_HEADERS = ['authorization', 'content-type', 'x-api-key', 'idempotency-key'];
const CORS_EXPOSE_HEADERS = ['x-next-cursor', 'retry-after'];

const PUBLIC_ROUTE_REASONS: Record<Exclude<RouteDefinition['auth'], 'user'>, string> = {
  none: 'Public by design: the health check and the OpenAPI document need no credentials.',
  callback:
    "Sandbox callback: a sandbox carries no user credentials; the handler checks the task's one-time callback token (minted per attempt, stored hashed).",
};

// A Lambda authorizer with identity sources is skipped (401) unless *all* of them are present,
// so "Authorization OR x-api-key" is expressed as no identity source; that is only allowed with
// caching off, which also keeps a revoked API key from outliving its revocation.
const NO_IDENTITY_SOURCE: string[] = [];

/** JSON access log line; `requestId` is what ties a log line to the Lambda's logs. */
const accessLogFormat = (): AccessLogFormat =>
  AccessLogFormat.custom(
    JSON.stringify({
      requestId: '$context.requestId',
      ip: '$context.identity.sourceIp',
      requestTime: '$context.requestTime',
      routeKey: '$context.routeKey',
      status: '$context.status',
      protocol: '$context.protocol',
      responseLength: '$context.responseLength',
      latencyMs: '$context.responseLatency',
      integrationError: '$context.integrationErrorMessage',
      authorizerError: '$context.authorizer.error',
    }),
  );

/**
 * The HTTP API: exactly the routes of src/platform/http/route-table.ts, each served by the Lambda
 * integration of its route group (one per group), on a throttled `$default` stage with access logs.
 */
export class HttpApi extends Construct {
  readonly api: apigw.HttpApi;
  readonly stage: apigw.HttpStage;
  readonly routes: ReadonlyMap<string, apigw.HttpRoute>;

  constructor(scope: Construct, id: string, props: HttpApiProps) {
    super(scope, id);

    this.api = new apigw.HttpApi(this, 'Api', {
      description: 'Nightshift task queue API',
      createDefaultStage: false,
      // API Gateway answers preflights itself (before any authorizer) and sets the headers on answers.
      corsPreflight: props.corsAllowOrigins?.length
        ? {
            allowOrigins: [...props.corsAllowOrigins],
            allowMethods: [apigw.CorsHttpMethod.GET, apigw.CorsHttpMethod.POST, apigw.CorsHttpMethod.PUT, apigw.CorsHttpMethod.DELETE],
            allowHeaders: CORS_ALLOW_HEADERS,
            exposeHeaders: CORS_EXPOSE_HEADERS,
            maxAge: Duration.hours(1),
          }
        : undefined,
    });

    const accessLogs = new logs.LogGroup(this, 'AccessLogs', { retention: logs.RetentionDays.ONE_MONTH });
    this.stage = new apigw.HttpStage(this, 'DefaultStage', {
      httpApi: this.api,
      stageName: '$default',
      autoDeploy: true,
      throttle: { burstLimit: 100, rateLimit: 50 },
      accessLogSettings: {
        destination: new apigw.LogGroupLogDestination(accessLogs),
        format: accessLogFormat(),
      },
    });

    const userAuthorizer = this.userAuthorizer(props);
    // One integration per route group, with one permission for the whole API instead of one per
    // route: 27 statements would crowd the function's 20 KB resource policy.
    const integrations = new Map<RouteGroup, HttpLambdaIntegration>(
      ROUTE_GROUPS.map((group) => [group, new HttpLambdaIntegration(group === 'core' ? 'Handler' : `Handler-${group}`, props.handlers[group], { scopePermissionToRoute: false })]),
    );
    const routes = new Map<string, apigw.HttpRoute>();
    for (const route of API_ROUTES) {
      const integration = integrations.get(route.group);
      if (!integration) throw new Error(`no integration for route group ${route.group} (${routeKey(route)})`);
      const [created] = this.api.addRoutes({
        path: route.path,
        methods: [apigw.HttpMethod[route.method]],
        integration,
        authorizer: route.auth === 'user' ? userAuthorizer : undefined,
      });
      if (!created) throw new Error(`no route created for ${routeKey(route)}`);
      if (route.auth !== 'user') {
        NagSuppressions.addResourceSuppressions(created, [{ id: 'AwsSolutions-APIG4', reason: PUBLIC_ROUTE_REASONS[route.auth] }]);
      }
      routes.set(routeKey(route), created);
    }
    this.routes = routes;
  }

  /** Base URL of the API, without a trailing slash (paths start with `/api/v1`). */
  get endpoint(): string {
    return this.api.apiEndpoint;
  }

  private userAuthorizer(props: HttpApiProps): apigw.IHttpRouteAuthorizer {
    if (props.authMode === 'jwt') {
      return new HttpJwtAuthorizer('UserJwt', props.jwtIssuer, { jwtAudience: [props.jwtAudience] });
    }
    if (!props.authorizer) throw new Error("authMode 'lambda' needs the authorizer function");
    return new HttpLambdaAuthorizer('UserJwtOrApiKey', props.authorizer, {
      responseTypes: [HttpLambdaResponseType.SIMPLE],
      identitySource: NO_IDENTITY_SOURCE,
      resultsCacheTtl: Duration.seconds(0),
    });
  }
}

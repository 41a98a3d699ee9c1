/**
 * Deploy-time knobs of the Nightshift stack, their defaults and
 * the range checks. Ranges are checked at synth so that a bad value fails `cdk synth` with the
 * variable's name instead of a Lambda that refuses to start after deployment.
 */

export const AUTH_MODES = ['lambda', 'jwt'] as const;
export type AuthMode = (typeof AUTH_MODES)[number];
export const CLOUD_SANDBOX_PROVIDERS = ['ecs', 'daytona'] as const;
export type CloudSandboxProvider = (typeof CLOUD_SANDBOX_PROVIDERS)[number];

import { ARTIFACT_RETENTION_DAYS_DEFAULT } from '../src/platform/resources.js';

export interface NightshiftConfigProps {
  /** Keep the table from being deleted by a stack update or delete. @default true */
  readonly tableDeletionProtection?: boolean;
  /**
   * `lambda` (default): a REQUEST authorizer accepts `Authorization: Bearer <JWT>` or `x-api-key`.
   * `jwt`: API Gateway's built-in JWT authorizer; API keys are then not accepted at the gateway.
   */
  readonly authMode?: AuthMode;
  /** Issuer of user JWTs. @default context `jwtIssuer`, else a placeholder that accepts no token */
  readonly jwtIssuer?: string;
  /** Audience of user JWTs. @default context `jwtAudience`, else `nightshift` */
  readonly jwtAudience?: string;
  /** JWKS of the issuer, for the Lambda authorizer. @default context `jwksUrl`, else `<issuer>/.well-known/jwks.json` */
  readonly jwksUrl?: string;
  /** Where sandboxes run in AWS. @default 'ecs' */
  readonly sandboxProvider?: CloudSandboxProvider;
  /** Secrets Manager name of the Daytona API key (used when sandboxProvider is `daytona`). @default 'nightshift/daytona' */
  readonly daytonaSecretName?: string;
  /** Daytona API URL. @default the SDK's default */
  readonly daytonaApiUrl?: string;
  /**
   * Secrets Manager name of the git token ECS sandboxes clone and push with (private repositories).
   * @default context `gitSecretName`, else none (public repositories only)
   */
  readonly gitSecretName?: string;
  /** The agent command ECS sandboxes run (SANDBOX_COMMAND). @default context `sandboxCommand`, else none */
  readonly sandboxCommand?: string;
  /** Fargate task size of one sandbox. @default 1024 (1 vCPU) */
  readonly sandboxCpu?: number;
  /** @default 2048 */
  readonly sandboxMemoryMiB?: number;
  /** POLL_INTERVAL, seconds (1-30). @default 5 */
  readonly pollIntervalSeconds?: number;
  /** TIMEOUT_CHECK_INTERVAL, seconds (30-300). @default 60 */
  readonly timeoutCheckIntervalSeconds?: number;
  /** MAX_PENDING_PER_USER (10-200). @default 50 */
  readonly maxPendingPerUser?: number;
  /** STALE_CLAIMING_THRESHOLD, seconds (30-300). @default 60 */
  readonly staleClaimingThresholdSeconds?: number;
  /** LOCAL_LEASE_TIMEOUT, seconds (60-86400): device work not leased by then goes to the cloud. @default 600 */
  readonly localLeaseTimeoutSeconds?: number;
  /** LOCAL_MAX_WAIT, seconds (600-604800): `local` work not leased by then fails. @default 86400 */
  readonly localMaxWaitSeconds?: number;
  /** Days the artifact bucket keeps patches and agent logs (1-3650). @default context `artifactRetentionDays`, else 90 */
  readonly artifactRetentionDays?: number;
  /**
   * SES sender of notification e-mail (an identity verified in SES). Without it e-mail channels
   * are refused and the notifier gets no SES permission. @default context `notificationsEmailFrom`, else none
   */
  readonly notificationsEmailFrom?: string;
  /** The dashboard's OpenID Connect client id (written to its config.json). @default context `oidcClientId`, else the JWT audience */
  readonly oidcClientId?: string;
  /** The built dashboard to ship. @default `web/dist` of this repository */
  readonly webDistPath?: string;
}

export interface NightshiftConfig {
  readonly tableDeletionProtection: boolean;
  readonly authMode: AuthMode;
  readonly jwtIssuer: string;
  readonly jwtAudience: string;
  readonly jwksUrl: string;
  /** True when no issuer was given: every JWT is rejected until one is configured. */
  readonly jwtIssuerIsPlaceholder: boolean;
  readonly sandboxProvider: CloudSandboxProvider;
  readonly daytonaSecretName: string;
  readonly daytonaApiUrl: string | undefined;
  readonly gitSecretName: string | undefined;
  readonly sandboxCommand: string | undefined;
  readonly sandboxCpu: number;
  readonly sandboxMemoryMiB: number;
  readonly pollIntervalSeconds: number;
  readonly timeoutCheckIntervalSeconds: number;
  readonly maxPendingPerUser: number;
  readonly staleClaimingThresholdSeconds: number;
  readonly localLeaseTimeoutSeconds: number;
  readonly localMaxWaitSeconds: number;
  readonly artifactRetentionDays: number;
  readonly notificationsEmailFrom: string | undefined;
  readonly oidcClientId: string;
  /** Undefined: the stack's default, web/dist. */
  readonly webDistPath: string | undefined;
}

export const PLACEHOLDER_JWT_ISSUER = 'https://issuer.invalid/';

/** Reads context when a prop is absent; `tryGetContext` is injected so this stays a pure function. */
export type ContextReader = (key: string) => unknown;

export class InvalidStackConfigError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'InvalidStackConfigError';
  }
}

/** Narrows a string (e.g. from context) to one of `choices`; undefined stays undefined. */
export const parseChoice = <T extends string>(name: string, value: string | undefined, choices: readonly T[]): T | undefined => {
  if (value === undefined) return undefined;
  const match = choices.find((choice) => choice === value);
  if (match === undefined) {
    throw new InvalidStackConfigError(`${name} must be one of ${choices.join(', ')}, got '${value}'`);
  }
  return match;
};

const inRange = (name: string, value: number, min: number, max: number): number => {
  if (!Number.isInteger(value) || value < min || value > max) {
    throw new InvalidStackConfigError(`${name} must be an integer from ${min} to ${max}, got ${value}`);
  }
  return value;
};

const contextString = (context: ContextReader, key: string): string | undefined => {
  const value = context(key);
  return typeof value === 'string' && value.length > 0 ? value : undefined;
};

/** Merges props over context over defaults and validates the result. */
export const resolveConfig = (props: NightshiftConfigProps, context: ContextReader): NightshiftConfig => {
  // Checked again at run time: JavaScript callers are not held to the types.
  const authMode = parseChoice('authMode', props.authMode, AUTH_MODES) ?? 'lambda';
  const sandboxProvider = parseChoice('sandboxProvider', props.sandboxProvider, CLOUD_SANDBOX_PROVIDERS) ?? 'ecs';
  const givenIssuer = props.jwtIssuer ?? contextString(context, 'jwtIssuer');
  const jwtIssuer = givenIssuer ?? PLACEHOLDER_JWT_ISSUER;
  if (!jwtIssuer.startsWith('https://')) {
    throw new InvalidStackConfigError(`jwtIssuer must be an https:// URL, got '${jwtIssuer}'`);
  }
  const jwksUrl =
    props.jwksUrl ?? contextString(context, 'jwksUrl') ?? `${jwtIssuer.replace(/\/+$/, '')}/.well-known/jwks.json`;

  const jwtAudience = props.jwtAudience ?? contextString(context, 'jwtAudience') ?? 'nightshift';
  return {
    tableDeletionProtection: props.tableDeletionProtection ?? true,
    authMode,
    jwtIssuer,
    jwtAudience,
    jwksUrl,
    jwtIssuerIsPlaceholder: givenIssuer === undefined,
    sandboxProvider,
    daytonaSecretName: props.daytonaSecretName ?? 'nightshift/daytona',
    daytonaApiUrl: props.daytonaApiUrl,
    gitSecretName: props.gitSecretName ?? contextString(context, 'gitSecretName'),
    sandboxCommand: props.sandboxCommand ?? contextString(context, 'sandboxCommand'),
    sandboxCpu: props.sandboxCpu ?? 1024,
    sandboxMemoryMiB: props.sandboxMemoryMiB ?? 2048,
    pollIntervalSeconds: inRange('POLL_INTERVAL', props.pollIntervalSeconds ?? 5, 1, 30),
    timeoutCheckIntervalSeconds: inRange('TIMEOUT_CHECK_INTERVAL', props.timeoutCheckIntervalSeconds ?? 60, 30, 300),
    maxPendingPerUser: inRange('MAX_PENDING_PER_USER', props.maxPendingPerUser ?? 50, 10, 200),
    staleClaimingThresholdSeconds: inRange(
      'STALE_CLAIMING_THRESHOLD',
      props.staleClaimingThresholdSeconds ?? 60,
      30,
      300,
    ),
    localLeaseTimeoutSeconds: inRange('LOCAL_LEASE_TIMEOUT', props.localLeaseTimeoutSeconds ?? 600, 60, 86_400),
    localMaxWaitSeconds: inRange('LOCAL_MAX_WAIT', props.localMaxWaitSeconds ?? 86_400, 600, 604_800),
    artifactRetentionDays: inRange(
      'artifactRetentionDays',
      props.artifactRetentionDays ?? (Number(contextString(context, 'artifactRetentionDays')) || ARTIFACT_RETENTION_DAYS_DEFAULT),
      1,
      3650,
    ),
    notificationsEmailFrom: emailAddress('notificationsEmailFrom', props.notificationsEmailFrom ?? contextString(context, 'notificationsEmailFrom')),
    oidcClientId: props.oidcClientId ?? contextString(context, 'oidcClientId') ?? jwtAudience,
    webDistPath: props.webDistPath ?? contextString(context, 'webDistPath'),
  };
};

const emailAddress = (name: string, value: string | undefined): string | undefined => {
  if (value !== undefined && !/^[^\s@]+@[^\s@]+\.[^\s@]+$/.test(value)) {
    throw new InvalidStackConfigError(`${name} must be an e-mail address verified in SES, got '${value}'`);
  }
  return value;
};

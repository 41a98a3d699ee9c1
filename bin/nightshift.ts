#!/usr/bin/env node
/**
 * `cdk synth|deploy` entry. Options come from context (`-c key=value` or cdk.json):
 * stackName, authMode (lambda|jwt), jwtIssuer, jwtAudience, jwksUrl, sandboxProvider (ecs|daytona),
 * daytonaSecretName, daytonaApiUrl, tableDeletionProtection (true|false), oidcClientId (the dashboard's
 * OpenID Connect client; default the audience), webDistPath (a built dashboard; default web/dist),
 * nag (default on; `-c nag=false`).
 * The stack stays environment-agnostic so that synth needs no AWS account (and cdklocal works).
 * When web/dist is missing it is built here (`npm run build:web`), not in the stack: tests give
 * the stack a small fixture instead, so `npm test` never builds the dashboard.
 */
import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { App, Aspects } from 'aws-cdk-lib';
import { AwsSolutionsChecks } from 'cdk-nag';
import { DEFAULT_WEB_DIST, NightshiftStack } from '../lib/nightshift-stack.js';
import { AUTH_MODES, CLOUD_SANDBOX_PROVIDERS, parseChoice } from '../lib/stack-config.js';

const app = new App();

const context = (key: string): string | undefined => {
  const value: unknown = app.node.tryGetContext(key);
  return value === undefined || value === null ? undefined : String(value);
};

const deletionProtection = context('tableDeletionProtection');

if (context('webDistPath') === undefined && !existsSync(join(DEFAULT_WEB_DIST, 'index.html'))) {
  console.error('web/dist is missing: building the dashboard (npm run build:web)');
  try {
    execFileSync('npm', ['run', 'build:web'], { stdio: ['ignore', process.stderr, 'inherit'] });
  } catch (error) {
    throw new Error(`Building the dashboard failed; run \`npm run build:web\` and fix what it reports, or pass -c webDistPath=<a built site>. (${String(error)})`);
  }
}

new NightshiftStack(app, context('stackName') ?? 'Nightshift', {
  description: 'Nightshift: serverless task queue for AI-agent work',
  authMode: parseChoice('authMode', context('authMode'), AUTH_MODES),
  sandboxProvider: parseChoice('sandboxProvider', context('sandboxProvider'), CLOUD_SANDBOX_PROVIDERS),
  daytonaSecretName: context('daytonaSecretName'),
  daytonaApiUrl: context('daytonaApiUrl'),
  tableDeletionProtection: deletionProtection === undefined ? undefined : deletionProtection !== 'false',
  // jwtIssuer, jwtAudience and jwksUrl are read from context by the stack itself.
});

if (context('nag') !== 'false') {
  Aspects.of(app).add(new AwsSolutionsChecks({ verbose: true }));
}

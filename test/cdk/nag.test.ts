import { Annotations, Match } from 'aws-cdk-lib/assertions';
import { describe, expect, it } from 'vitest';
import type { NightshiftStackProps } from '../../lib/nightshift-stack.js';
import { synthNightshift } from './synth.js';

const findings = (props: NightshiftStackProps): { errors: unknown[]; warnings: unknown[] } => {
  // Rules read the CloudFormation resources only; bundling is covered by stack.test.ts.
  const { stack } = synthNightshift(props, { nag: true, bundle: false });
  const annotations = Annotations.fromStack(stack);
  const rule = Match.stringLikeRegexp('AwsSolutions-.*');
  return { errors: annotations.findError('*', rule), warnings: annotations.findWarning('*', rule) };
};

describe('cdk-nag AwsSolutions', () => {
  it.each<[string, NightshiftStackProps]>([
    ['defaults (Lambda authorizer, ECS sandboxes)', {}],
    ['JWT authorizer, Daytona sandboxes', { authMode: 'jwt', sandboxProvider: 'daytona' }],
    ['ECS sandboxes with a git secret (read by the API for pull requests)', { gitSecretName: 'nightshift/git' }],
  ])('reports no unacknowledged finding: %s', { timeout: 180_000 }, (_name, props) => {
    const { errors, warnings } = findings(props);
    expect(errors).toEqual([]);
    expect(warnings).toEqual([]);
  });
});

import { fileURLToPath } from 'node:url';
import { App, Aspects, CfnElement } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import { AwsSolutionsChecks } from 'cdk-nag';
import type { IConstruct } from 'constructs';
import { NightshiftStack } from '../../lib/nightshift-stack.js';
import type { NightshiftStackProps } from '../../lib/nightshift-stack.js';

/** A stand-in for web/dist, so synth needs no dashboard build (and stays fast). */
export const WEB_DIST_FIXTURE = fileURLToPath(new URL('./fixtures/web-dist', import.meta.url));

export interface Synthesized {
  readonly stack: NightshiftStack;
  readonly template: Template;
  /** Logical id of an L2 construct's CloudFormation resource. */
  readonly logicalId: (construct: IConstruct) => string;
}

/**
 * Synthesizes the stack as `cdk synth` would (by default with real esbuild bundling of every
 * entry), with an issuer given so that the placeholder warning does not appear, and the
 * dashboard taken from a small fixture instead of web/dist.
 */
export const synthNightshift = (
  props: NightshiftStackProps = {},
  options: { nag?: boolean; bundle?: boolean } = {},
): Synthesized => {
  const context: Record<string, unknown> = { jwtIssuer: 'https://auth.example.com/', jwtAudience: 'nightshift-test' };
  // Bundling is what makes a synth slow; tests that only read the template's shape can skip it.
  if (options.bundle === false) context['aws:cdk:bundling-stacks'] = [];
  const app = new App({ context });
  const stack = new NightshiftStack(app, 'NightshiftTest', { webDistPath: WEB_DIST_FIXTURE, ...props });
  if (options.nag) Aspects.of(app).add(new AwsSolutionsChecks());
  const template = Template.fromStack(stack);
  const logicalId = (construct: IConstruct): string => {
    const resource = construct.node.defaultChild ?? construct;
    if (!CfnElement.isCfnElement(resource)) throw new Error(`${construct.node.path} has no CloudFormation resource`);
    return stack.getLogicalId(resource);
  };
  return { stack, template, logicalId };
};

import { beforeAll, describe, expect, it } from 'vitest';
import type { NightshiftFunction } from '../../lib/constructs/nightshift-function.js';
import { InvalidStackConfigError, resolveConfig } from '../../lib/stack-config.js';
import { ENV, NOTIFIER_BATCH_SIZE, NOTIFY_QUEUE } from '../../src/platform/resources.js';
import { synthNightshift, type Synthesized } from './synth.js';

type Resources = Record<string, { Properties: Record<string, unknown> }>;
interface Statement {
  actions: string[];
  resources: unknown[];
  condition: unknown;
}
const asArray = (value: unknown): unknown[] => (Array.isArray(value) ? value : [value]);

const statementsOf = ({ template, logicalId }: Synthesized, fn: NightshiftFunction): Statement[] => {
  const roleId = logicalId(fn.role);
  return Object.values(template.findResources('AWS::IAM::Policy') as Resources)
    .filter((policy) => asArray(policy.Properties.Roles).some((role) => JSON.stringify(role) === JSON.stringify({ Ref: roleId })))
    .flatMap((policy) =>
      (policy.Properties.PolicyDocument as { Statement: { Action: unknown; Resource: unknown; Condition?: unknown }[] }).Statement.map((s) => ({
        actions: asArray(s.Action).map(String),
        resources: asArray(s.Resource),
        condition: s.Condition,
      })),
    );
};
const canSendTo = (synth: Synthesized, fn: NightshiftFunction, queueId: string): boolean =>
  statementsOf(synth, fn).some((s) => s.actions.includes('sqs:SendMessage') && s.resources.some((r) => JSON.stringify(r) === JSON.stringify({ 'Fn::GetAtt': [queueId, 'Arn'] })));
const environmentOf = (synth: Synthesized, fn: NightshiftFunction): Record<string, unknown> =>
  (synth.template.toJSON().Resources[synth.logicalId(fn.function)] as { Properties: { Environment: { Variables: Record<string, unknown> } } }).Properties.Environment.Variables;

describe('notifications in the stack', () => {
  let synth: Synthesized;
  beforeAll(() => {
    synth = synthNightshift({}, { bundle: false });
  });

  it('builds the notification queue from NOTIFY_QUEUE with a DLQ after maxReceiveCount receives', () => {
    const { queue, deadLetterQueue } = synth.stack.notifications;
    const props = (synth.template.toJSON().Resources[synth.logicalId(queue)] as { Properties: Record<string, unknown> }).Properties;
    expect(props.VisibilityTimeout).toBe(NOTIFY_QUEUE.visibilityTimeoutSeconds);
    expect(props.RedrivePolicy).toEqual({ deadLetterTargetArn: { 'Fn::GetAtt': [synth.logicalId(deadLetterQueue), 'Arn'] }, maxReceiveCount: NOTIFY_QUEUE.maxReceiveCount });
  });

  it('feeds the notifier from the queue with partial batch failures, and runs the digest trigger every minute', () => {
    const { notifier, digestTrigger, queue } = synth.stack.notifications;
    const mappings = Object.values(synth.template.findResources('AWS::Lambda::EventSourceMapping') as Resources).filter(
      (m) => JSON.stringify(m.Properties.FunctionName) === JSON.stringify({ Ref: synth.logicalId(notifier.function) }),
    );
    expect(mappings).toHaveLength(1);
    expect(mappings[0]?.Properties).toMatchObject({ BatchSize: NOTIFIER_BATCH_SIZE, FunctionResponseTypes: ['ReportBatchItemFailures'], EventSourceArn: { 'Fn::GetAtt': [synth.logicalId(queue), 'Arn'] } });
    const rules = Object.values(synth.template.findResources('AWS::Events::Rule') as Resources).filter((rule) =>
      JSON.stringify(rule.Properties.Targets).includes(synth.logicalId(digestTrigger.function)),
    );
    expect(rules.map((rule) => rule.Properties.ScheduleExpression)).toEqual(['rate(1 minute)']);
  });

  it('lets every function that ends tasks or charges credits send to the queue, and only send', () => {
    const { api, orchestrator, spawner, sweeper, spawnDlq, batchTrigger, authorizer } = synth.stack.functions;
    const queueId = synth.logicalId(synth.stack.notifications.queue);
    for (const fn of [api, orchestrator, spawner, sweeper, spawnDlq, batchTrigger]) {
      expect(canSendTo(synth, fn, queueId)).toBe(true);
      expect(environmentOf(synth, fn)[ENV.notifyQueueUrl]).toEqual({ Ref: queueId });
      const onQueue = statementsOf(synth, fn).filter((s) => s.resources.some((r) => JSON.stringify(r).includes(queueId)));
      expect(onQueue.flatMap((s) => s.actions).filter((a) => a.startsWith('sqs:Receive') || a.startsWith('sqs:Delete'))).toEqual([]);
    }
    if (authorizer) expect(canSendTo(synth, authorizer, queueId)).toBe(false);
  });

  it('never allows loopback webhooks in AWS and grants no SES without a sender', () => {
    const { notifier, digestTrigger } = synth.stack.notifications;
    expect(environmentOf(synth, notifier).NOTIFICATIONS_ALLOW_LOOPBACK).toBe('0');
    expect(environmentOf(synth, digestTrigger).NOTIFICATIONS_ALLOW_LOOPBACK).toBe('0');
    expect(statementsOf(synth, notifier).flatMap((s) => s.actions).filter((a) => a.startsWith('ses:'))).toEqual([]);
    expect(statementsOf(synth, digestTrigger).flatMap((s) => s.actions).filter((a) => a.startsWith('ses:') || a.startsWith('sqs:Receive'))).toEqual([]);
  });

  it('lets only the notifier send e-mail, and only from the configured sender', () => {
    const withEmail = synthNightshift({ notificationsEmailFrom: 'night@example.com' }, { bundle: false });
    const { notifier, digestTrigger } = withEmail.stack.notifications;
    const ses = statementsOf(withEmail, notifier).filter((s) => s.actions.includes('ses:SendEmail'));
    expect(ses).toHaveLength(1);
    expect(ses[0]?.condition).toEqual({ StringEquals: { 'ses:FromAddress': 'night@example.com' } });
    expect(environmentOf(withEmail, notifier)[ENV.notificationsEmailFrom]).toBe('night@example.com');
    expect(environmentOf(withEmail, withEmail.stack.functions.api)[ENV.notificationsEmailFrom]).toBe('night@example.com');
    expect(statementsOf(withEmail, digestTrigger).flatMap((s) => s.actions).filter((a) => a.startsWith('ses:'))).toEqual([]);
    expect(statementsOf(withEmail, withEmail.stack.functions.api).flatMap((s) => s.actions).filter((a) => a.startsWith('ses:'))).toEqual([]);
  });

  it('alarms when a notification message reaches the DLQ', () => {
    const alarm = synth.template.toJSON().Resources[synth.logicalId(synth.stack.notifications.deadLetterAlarm)] as { Properties: Record<string, unknown> };
    expect(alarm.Properties).toMatchObject({ MetricName: 'ApproximateNumberOfMessagesVisible', Threshold: 1 });
    expect(JSON.stringify(alarm.Properties.Dimensions)).toContain(synth.logicalId(synth.stack.notifications.deadLetterQueue));
  });

  it('refuses a sender that is not an e-mail address, naming the setting', () => {
    expect(() => resolveConfig({ notificationsEmailFrom: 'not-an-address' }, () => undefined)).toThrow(InvalidStackConfigError);
    expect(() => resolveConfig({ notificationsEmailFrom: 'not-an-address' }, () => undefined)).toThrow(/notificationsEmailFrom/);
  });
});

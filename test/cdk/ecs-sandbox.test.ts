import { describe, expect, it } from 'vitest';
import { synthNightshift } from './synth.js';

type Statement = { Action: string | string[]; Resource: unknown };
type Resources = Record<string, { Properties: Record<string, unknown> }>;

/** The statements of every inline policy attached to the role with this logical id. */
function statementsOfRole(template: ReturnType<typeof synthNightshift>['template'], roleLogicalId: string): Statement[] {
  const policies = Object.values(template.findResources('AWS::IAM::Policy') as Resources);
  return policies
    .filter((policy) => JSON.stringify(policy.Properties.Roles).includes(`"${roleLogicalId}"`))
    .flatMap((policy) => (policy.Properties.PolicyDocument as { Statement: Statement[] }).Statement);
}

const actions = (statements: Statement[]) => statements.flatMap((statement) => (Array.isArray(statement.Action) ? statement.Action : [statement.Action]));

describe('the ECS sandbox task definition', () => {
  const synth = synthNightshift({ sandboxProvider: 'ecs', gitSecretName: 'nightshift/git' }, { bundle: false });
  const taskDefinition = synth.stack.sandbox?.taskDefinition;
  if (!taskDefinition) throw new Error('no ECS sandbox in the stack');
  const [container] = (synth.template.findResources('AWS::ECS::TaskDefinition') as Resources)[synth.logicalId(taskDefinition)]?.Properties
    .ContainerDefinitions as Array<Record<string, unknown>>;

  it("runs Nightshift's entry script, with the git token from Secrets Manager and no credential among its plain variables", () => {
    const command = container?.Command as string[];
    expect(command.slice(0, 3)).toEqual(['node', '--input-type=module', '--eval']);
    expect(command[3]).toContain('NIGHTSHIFT_REPO_URL');
    expect(container?.Secrets).toEqual([{ Name: 'NIGHTSHIFT_GIT_TOKEN', ValueFrom: expect.anything() }]);
    expect(container?.Environment).toBeUndefined();
  });

  it('starts the entry script as root, so it can run the agent as an unprivileged user', () => {
    expect(container?.User).toBe('0');
  });

  it('lets the task role only put objects under tasks/ of the artifact bucket; the git secret is read by the execution role (for the container) and the API sandbox group (pull requests) only', () => {
    const taskRole = synth.logicalId(taskDefinition.taskRole);
    const executionRole = synth.logicalId(taskDefinition.obtainExecutionRole());
    const taskStatements = statementsOfRole(synth.template, taskRole);

    expect(actions(taskStatements)).toEqual(['s3:PutObject']);
    expect(JSON.stringify(taskStatements[0]?.Resource)).toContain('/tasks/*');
    expect(actions(statementsOfRole(synth.template, executionRole))).toContain('secretsmanager:GetSecretValue');
    const secretReaders = Object.values(synth.template.findResources('AWS::IAM::Policy') as Resources).filter((policy) =>
      JSON.stringify(policy.Properties.PolicyDocument).includes('secretsmanager:GetSecretValue') && JSON.stringify(policy.Properties.PolicyDocument).includes('nightshift/git'),
    );
    const apiRole = synth.logicalId(synth.stack.functions.apiSandbox.function.role!);
    expect(secretReaders.map((policy) => JSON.stringify(policy.Properties.Roles)).sort()).toEqual([JSON.stringify([{ Ref: apiRole }]), JSON.stringify([{ Ref: executionRole }])].sort());
    expect(JSON.stringify(synth.template.toJSON())).toContain('GITHUB_TOKEN_SECRET_ARN');
  });
});

import { GetSecretValueCommand, SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { mockClient } from 'aws-sdk-client-mock';
import { afterEach, describe, expect, it } from 'vitest';
import { providerFromEnvironment } from '../../../src/sandbox/from-environment.js';
import { startFakeDaytona } from '../../support/fake-daytona.js';
import { startFakeGitHub } from '../../support/fake-github.js';

const secrets = mockClient(SecretsManagerClient);
afterEach(() => secrets.reset());

describe('providerFromEnvironment', () => {
  it('defaults to the process provider running the demo agent', () => {
    expect(providerFromEnvironment({}).name).toBe('process');
  });

  it.each([
    [{ SANDBOX_PROVIDER: 'daytona' }, 'DAYTONA_API_KEY'],
    [{ SANDBOX_PROVIDER: 'ecs' }, 'ECS_CLUSTER_ARN'],
    [{ SANDBOX_PROVIDER: 'docker' }, 'SANDBOX_PROVIDER'],
  ])('names what is missing for %j', (env, name) => {
    expect(() => providerFromEnvironment(env)).toThrow(name);
  });

  it('reads the Daytona key from Secrets Manager once, on first use', async () => {
    const fake = await startFakeDaytona({ apiKey: 'from-secret' });
    try {
      secrets.on(GetSecretValueCommand).resolves({ SecretString: JSON.stringify({ apiKey: 'from-secret' }) });
      const provider = providerFromEnvironment({ SANDBOX_PROVIDER: 'daytona', DAYTONA_API_URL: fake.url, DAYTONA_API_KEY_SECRET_ARN: 'nightshift/daytona' });
      expect(secrets.calls()).toHaveLength(0);
      await provider.terminate('missing-sandbox');
      await provider.terminate('missing-sandbox-2');
      expect(secrets.commandCalls(GetSecretValueCommand)).toHaveLength(1);
      expect(fake.calls.filter((c) => c.method === 'DELETE')).toHaveLength(2);
    } finally {
      await fake.close();
    }
  });

  it("opens an ECS task's pull request with the token of the git secret, read once, on first use", async () => {
    const github = await startFakeGitHub('ghp_from_the_git_secret');
    try {
      secrets.on(GetSecretValueCommand, { SecretId: 'arn:git' }).resolves({ SecretString: 'ghp_from_the_git_secret\n' });
      const provider = providerFromEnvironment({ SANDBOX_PROVIDER: 'ecs', ECS_CLUSTER_ARN: 'c', ECS_TASK_DEFINITION_ARN: 't', GITHUB_API_URL: github.url, GITHUB_TOKEN_SECRET_ARN: 'arn:git' });
      expect(secrets.calls()).toHaveLength(0);
      const task = (branch: string) => ({ id: branch, attempt: 1, title: 'Fix', description: '', user_id: 'u', repository: { url: 'https://github.com/ann/app.git', baseRef: 'main', branch, push: true, pullRequest: true } });
      const pushed = { base_commit: '1'.repeat(40), head_commit: '2'.repeat(40), push_error: null };

      const first = await provider.finishReportedRepository?.({ task: task('nightshift/a'), repository: pushed });
      const second = await provider.finishReportedRepository?.({ task: task('nightshift/b'), repository: pushed });

      expect(first).toEqual({ pull_request_url: 'https://github.test/ann/app/pull/1' });
      expect(second).toEqual({ pull_request_url: 'https://github.test/ann/app/pull/2' });
      expect(secrets.commandCalls(GetSecretValueCommand)).toHaveLength(1);
    } finally {
      await github.stop();
    }
  });

  it('records on an ECS task that no GitHub token is configured for its pull request', async () => {
    const provider = providerFromEnvironment({ SANDBOX_PROVIDER: 'ecs', ECS_CLUSTER_ARN: 'c', ECS_TASK_DEFINITION_ARN: 't' });
    const answer = await provider.finishReportedRepository?.({
      task: { id: 't', attempt: 1, title: 'Fix', description: '', user_id: 'u', repository: { url: 'https://github.com/ann/app.git', baseRef: 'main', branch: 'nightshift/t', push: true, pullRequest: true } },
      repository: { base_commit: '1'.repeat(40), head_commit: '2'.repeat(40), push_error: null },
    });
    expect(answer).toEqual({ push_error: expect.stringContaining('no GitHub token is configured') });
  });
});

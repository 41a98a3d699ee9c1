import { GetSecretValueCommand, SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { mockClient } from 'aws-sdk-client-mock';
import { afterEach, describe, expect, it } from 'vitest';
import { providerFromEnvironment } from '../../../src/sandbox/from-environment.js';
import { startFakeDaytona } from '../../support/fake-daytona.js';

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
});

import { afterEach, describe, expect, it, vi } from 'vitest';
import { defaultProvider } from '../../../src/platform/lambda-credentials.js';

afterEach(() => vi.unstubAllEnvs());

describe('Lambda credentials (the bundles\' stand-in for the default provider chain)', () => {
  it('returns the role credentials Lambda puts in the environment', async () => {
    vi.stubEnv('AWS_ACCESS_KEY_ID', 'AKIDEXAMPLE');
    vi.stubEnv('AWS_SECRET_ACCESS_KEY', 'secret');
    vi.stubEnv('AWS_SESSION_TOKEN', 'session');
    await expect(defaultProvider()()).resolves.toEqual({ accessKeyId: 'AKIDEXAMPLE', secretAccessKey: 'secret', sessionToken: 'session' });
  });

  it('fails clearly when the environment has none', async () => {
    vi.stubEnv('AWS_ACCESS_KEY_ID', '');
    vi.stubEnv('AWS_SECRET_ACCESS_KEY', '');
    await expect(defaultProvider()()).rejects.toThrow('AWS_ACCESS_KEY_ID');
  });
});

import { GetCommand, ScanCommand } from '@aws-sdk/lib-dynamodb';
import { beforeAll, describe, expect, it } from 'vitest';
import { ddb } from '../../src/platform/aws.js';
import { getConfig } from '../../src/platform/config.js';
import { DomainError } from '../../src/platform/errors.js';
import { authenticateApiKey, createApiKey, hashApiKey, listApiKeys, MAX_ACTIVE_API_KEYS, revokeApiKey } from '../../src/api-keys/api-keys.js';
import { useFreshTable } from '../support/local-env.js';

beforeAll(async () => {
  await useFreshTable();
});

describe('API keys on DynamoDB Local', () => {
  it('stores only the hash, authenticates by it, lists without secrets and stops working once revoked', async () => {
    const created = await createApiKey('ann', { name: 'laptop' });
    expect(created.key).toMatch(/^ns_[A-Za-z0-9_-]{43}$/);

    const items = (await ddb().send(new ScanCommand({ TableName: getConfig().tableName }))).Items ?? [];
    expect(JSON.stringify(items)).not.toContain(created.key);
    const lookup = await ddb().send(new GetCommand({ TableName: getConfig().tableName, Key: { pk: `APIKEY#${hashApiKey(created.key)}`, sk: 'APIKEY' } }));
    expect(lookup.Item).toMatchObject({ user_id: 'ann', key_id: created.id });

    expect(await authenticateApiKey(created.key)).toEqual({ userId: 'ann', keyId: created.id });
    const listed = await listApiKeys('ann');
    expect(listed).toEqual([{ id: created.id, name: 'laptop', prefix: created.key.slice(0, 7), created_at: created.created_at, expires_at: null, revoked_at: null, status: 'active' }]);
    expect(JSON.stringify(listed)).not.toContain(created.key);

    await revokeApiKey('ann', created.id);
    await revokeApiKey('ann', created.id); // a retried revoke is fine
    expect(await authenticateApiKey(created.key)).toBeNull();
    expect((await listApiKeys('ann'))[0]).toMatchObject({ status: 'revoked', revoked_at: expect.any(String) });
  });

  it("reports another user's key as not found and leaves it working", async () => {
    const created = await createApiKey('ben', { name: 'ci' });
    await expect(revokeApiKey('eve', created.id)).rejects.toMatchObject({ code: 'NOT_FOUND' });
    expect(await authenticateApiKey(created.key)).toMatchObject({ userId: 'ben' });
  });

  it('refuses an expiry in the past and stops accepting a key at its expiry', async () => {
    const now = new Date();
    await expect(createApiKey('cat', { name: 'old', expires_at: new Date(now.getTime() - 1000).toISOString() }, now)).rejects.toBeInstanceOf(DomainError);
    const created = await createApiKey('cat', { name: 'short', expires_at: new Date(now.getTime() + 60_000).toISOString() }, now);
    expect(await authenticateApiKey(created.key, new Date(now.getTime() + 59_000))).not.toBeNull();
    expect(await authenticateApiKey(created.key, new Date(now.getTime() + 60_000))).toBeNull();
    expect((await listApiKeys('cat', new Date(now.getTime() + 60_000)))[0]).toMatchObject({ status: 'expired' });
  });

  it(`caps a user at ${MAX_ACTIVE_API_KEYS} active keys`, async () => {
    const keys = [];
    for (let i = 0; i < MAX_ACTIVE_API_KEYS; i++) keys.push(await createApiKey('dan', { name: `key ${i}` }));
    await expect(createApiKey('dan', { name: 'one too many' })).rejects.toMatchObject({ code: 'VALIDATION_ERROR' });
    await revokeApiKey('dan', keys[0]!.id);
    await expect(createApiKey('dan', { name: 'replacement' })).resolves.toMatchObject({ name: 'replacement' });
  }, 60_000);
});

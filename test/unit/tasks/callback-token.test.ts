import { createHash, randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { hashToken, tokenMatches } from '../../../src/tasks/callback-token.js';

const token = () => randomBytes(32).toString('base64url');

describe('callback token verifiers', () => {
  it('stores 22 characters, accepts the token it was made from and refuses any other', () => {
    const mine = token();
    const verifier = hashToken(mine);
    expect(verifier).toHaveLength(22);
    expect(tokenMatches(verifier, mine)).toBe(true);
    expect(tokenMatches(verifier, token())).toBe(false);
    expect(tokenMatches(verifier, `${mine}x`)).toBe(false);
  });

  it('still accepts the whole hex digest that tasks claimed before the short verifier carry', () => {
    const mine = token();
    const legacy = createHash('sha256').update(mine).digest('hex');
    expect(tokenMatches(legacy, mine)).toBe(true);
    expect(tokenMatches(legacy, token())).toBe(false);
  });

  it('refuses every token when the task has no verifier', () => {
    expect(tokenMatches(null, token())).toBe(false);
    expect(tokenMatches(undefined, '')).toBe(false);
    expect(tokenMatches('', '')).toBe(false);
  });
});

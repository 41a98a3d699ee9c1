import { createHmac } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { signatureHeader, verifySignature } from '../../../src/notifications/signature.js';

const secret = 'whsec_test-secret';
const body = '{"id":"evt_1","type":"task.completed"}';

describe('webhook signatures', () => {
  it('signs "t.body" with HMAC-SHA256 in the documented header form', () => {
    const expected = createHmac('sha256', secret).update(`1700000000.${body}`).digest('hex');
    expect(signatureHeader(secret, 1_700_000_000, body)).toBe(`t=1700000000,v1=${expected}`);
  });

  it('verifies its own signature within the tolerance', () => {
    expect(verifySignature(secret, signatureHeader(secret, 1_700_000_000, body), body, 1_700_000_100)).toBe(true);
  });

  it.each([
    ['another secret', signatureHeader('whsec_other', 1_700_000_000, body), body, 1_700_000_000],
    ['a changed body', signatureHeader(secret, 1_700_000_000, body), `${body} `, 1_700_000_000],
    ['an old timestamp (replay)', signatureHeader(secret, 1_700_000_000, body), body, 1_700_000_000 + 301],
    ['a garbled header', 't=abc,v1=zz', body, 1_700_000_000],
    ['no v1', 't=1700000000', body, 1_700_000_000],
  ])('refuses %s', (_what, header, payload, now) => {
    expect(verifySignature(secret, header, payload, now)).toBe(false);
  });

  it('accepts any of several v1 values (secret rotation on the receiver side)', () => {
    const good = signatureHeader(secret, 1_700_000_000, body).split(',v1=')[1];
    expect(verifySignature(secret, `t=1700000000,v1=${'0'.repeat(64)},v1=${good}`, body, 1_700_000_000)).toBe(true);
  });
});

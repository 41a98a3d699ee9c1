import { describe, expect, inject, it } from 'vitest';
import { measurePromotion } from '../../scripts/bench/promotion.js';

describe('promotion of users whose hours reset at the same moment', () => {
  it('re-files every due user, more than a page of them, across all shards, rolling their hours window', async () => {
    // 250 users > the 200-user page. How many passes it takes depends on the machine (each pass
    // has a time budget), so only the outcome is asserted; the bench row measures the time.
    const result = await measurePromotion({ dynamodb: inject('dynamodbEndpoint'), sqs: inject('sqsEndpoint') }, 250, () => undefined);
    expect(result.leftDue).toBe(0);
  }, 240_000);
});

import { describe, expect, it } from 'vitest';
import { MAX_JSON_DEPTH, storableJsonObject } from '../../../src/platform/storable-json.js';

const nested = (depth: number): Record<string, unknown> => JSON.parse(`${'{"a":'.repeat(depth)}1${'}'.repeat(depth)}`);

describe('storableJsonObject: JSON that DynamoDB can store as a map', () => {
  it.each([
    ['an empty object', {}],
    ['strings with NUL, emoji and RTL marks', { s: 'a\u0000b 👩‍💻 \u202e' }],
    ['mixed lists', { l: [1, 'two', null, true, { x: [] }] }],
    ['0, -0 and small fractions', { a: 0, b: -0, c: 0.000001, d: -1e-100 }],
    ['the largest safe integer', { n: Number.MAX_SAFE_INTEGER, m: -Number.MAX_SAFE_INTEGER }],
    [`nesting ${MAX_JSON_DEPTH} deep`, nested(MAX_JSON_DEPTH)],
  ])('accepts %s', (_name, value) => {
    expect(storableJsonObject.safeParse(value).success).toBe(true);
  });

  it.each([
    [`nesting ${MAX_JSON_DEPTH + 1} deep`, nested(MAX_JSON_DEPTH + 1), /nested/],
    ['a number above MAX_SAFE_INTEGER', { n: 1e200 }, /numbers/],
    ['a number too small for DynamoDB', { n: 1e-200 }, /numbers/],
    ['Infinity (JSON.parse of 1e400)', { n: JSON.parse('1e400') }, /numbers/],
    ['an empty key', { '': 1 }, /keys/],
    ['an empty key deep down', { a: [{ b: { '': 1 } }] }, /keys/],
    ['a list at the top', [1, 2], /object/],
  ])('refuses %s, naming the problem', (_name, value, message) => {
    const result = storableJsonObject.safeParse(value);
    expect(result.success).toBe(false);
    expect(result.error?.issues[0]?.message).toMatch(message);
  });

  it('points at the offending value', () => {
    const result = storableJsonObject.safeParse({ ok: 1, list: [0, { bad: 1e300 }] });
    expect(result.error?.issues[0]?.path).toEqual(['list', 1, 'bad']);
  });
});

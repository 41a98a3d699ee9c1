import { describe, expect, it } from 'vitest';
import { formatDuration } from '../../../src/client/format-duration.js';

describe('formatDuration', () => {
  it.each([
    [41_000, '41s'],
    [723_000, '12m 03s'],
    [3_900_000, '1h 05m'],
    [-5, '0s'],
    [42_400, '42s'],
  ])('%d ms is %s', (ms, text) => expect(formatDuration(ms)).toBe(text));
});

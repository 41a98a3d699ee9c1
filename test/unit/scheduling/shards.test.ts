import { describe, expect, it } from 'vitest';
import { mergeBySortKey, randomShard, shardedKey, shardKeysToRead, shardOf } from '../../../src/scheduling/shards.js';

describe('scheduler index shards', () => {
  it('puts an id in the same shard every time, and spreads ids over all shards', () => {
    expect(shardOf('user-1', 8)).toBe(shardOf('user-1', 8));
    const counts = new Array<number>(8).fill(0);
    for (let i = 0; i < 8_000; i++) counts[shardOf(`user-${i}`, 8)] = (counts[shardOf(`user-${i}`, 8)] ?? 0) + 1;
    // Uniform within 10 %: no shard is a hot key in disguise.
    for (const count of counts) expect(Math.abs(count - 1_000)).toBeLessThan(100);
  });

  it.each([
    [1, 'READY'],
    [8, `READY#${shardOf('u', 8)}`],
  ])('with %i shard(s) the key of "u" is %s', (shards, key) => {
    expect(shardedKey('READY', 'u', shards)).toBe(key);
  });

  it('readers cover every shard once, from the start shard, and the unsharded key only when asked', () => {
    expect(shardKeysToRead('READY', 4, 2)).toEqual(['READY#2', 'READY#3', 'READY#0', 'READY#1']);
    expect(shardKeysToRead('SWEEP', 4, 2, { withUnsharded: true })).toEqual(['SWEEP#2', 'SWEEP#3', 'SWEEP#0', 'SWEEP#1', 'SWEEP']);
    expect(shardKeysToRead('SWEEP', 1, 0)).toEqual(['SWEEP']);
    expect(shardKeysToRead('SWEEP', 1, 0, { withUnsharded: true })).toEqual(['SWEEP']);
  });

  it('merges shard answers into the order one unsharded query would give', () => {
    const merged = mergeBySortKey([[{ k: '0001#b' }, { k: '0002#a' }], [{ k: '0000#z' }], []], 'k', 2);
    expect(merged).toEqual([{ k: '0000#z' }, { k: '0001#b' }]);
  });

  it('starts at a shard in range', () => {
    expect(randomShard(8, () => 0)).toBe(0);
    expect(randomShard(8, () => 0.999)).toBe(7);
  });
});

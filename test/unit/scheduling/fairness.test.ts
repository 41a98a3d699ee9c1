import { describe, expect, it } from 'vitest';
import { shuffleWithinTies } from '../../../src/scheduling/claim.js';

describe('shuffleWithinTies (order of users in one orchestrator pass)', () => {
  const users = [
    { userId: 'a', running: 0 },
    { userId: 'b', running: 0 },
    { userId: 'c', running: 1 },
    { userId: 'd', running: 1 },
    { userId: 'e', running: 2 },
  ];

  it.each([0, 0.3, 0.6, 0.99])('never puts a user with more running tasks before one with fewer (random %s)', (value) => {
    const order = shuffleWithinTies(users.map((u) => ({ ...u })), () => value);
    expect(order.slice(0, 2).sort()).toEqual(['a', 'b']);
    expect(order.slice(2, 4).sort()).toEqual(['c', 'd']);
    expect(order[4]).toBe('e');
  });

  it('spreads concurrent orchestrators over tied users', () => {
    const firsts = new Set<string>();
    for (const value of [0, 0.99]) firsts.add(shuffleWithinTies(users.map((u) => ({ ...u })), () => value)[0] as string);
    expect(firsts).toEqual(new Set(['a', 'b']));
  });

  it('puts the users this orchestrator remembers first within a tie, never ahead of a user with fewer running', () => {
    for (const value of [0, 0.5, 0.99]) {
      const order = shuffleWithinTies(users.map((u) => ({ ...u })), () => value, (id) => id === 'b' || id === 'd' || id === 'e');
      expect(order).toEqual(['b', 'a', 'd', 'c', 'e']);
    }
  });
});

import { describe, expect, it } from 'vitest';
import { QueueHeads } from '../../../src/scheduling/queue-heads.js';
import { taskCreateSchema } from '../../../src/tasks/schemas.js';
import { newTask } from '../../../src/tasks/create-task.js';

const NOW = Date.parse('2026-12-07T10:00:00Z');
const head = (queueVersion: number, n: number) => ({ queueVersion, servedAt: new Date(NOW).toISOString(), tasks: tasks(n) });
const tasks = (n: number) => Array.from({ length: n }, (_, i) => newTask('u', taskCreateSchema.parse({ title: `t${i}` }), new Date(NOW + i)));

describe('QueueHeads (one orchestrator memory of queue heads)', () => {
  it('gives a remembered head once: taking it forgets it', () => {
    const heads = new QueueHeads();
    heads.remember('u', head(3, 2), NOW);
    expect(heads.has('u', NOW)).toBe(true);
    expect(heads.take('u', NOW)).toMatchObject({ queueVersion: 3, tasks: [{ title: 't0' }, { title: 't1' }] });
    expect(heads.has('u', NOW)).toBe(false);
    expect(heads.take('u', NOW)).toBeUndefined();
  });

  it('does not keep a head with no tasks, and a new head replaces the old one', () => {
    const heads = new QueueHeads();
    heads.remember('u', head(1, 2), NOW);
    heads.remember('u', head(2, 0), NOW);
    expect(heads.take('u', NOW)).toBeUndefined();
    heads.remember('u', head(1, 1), NOW);
    heads.remember('u', head(4, 3), NOW);
    expect(heads.take('u', NOW)?.queueVersion).toBe(4);
  });

  it('lets a head age out', () => {
    const heads = new QueueHeads(30_000);
    heads.remember('u', head(1, 1), NOW);
    expect(heads.has('u', NOW + 30_000)).toBe(true);
    expect(heads.has('u', NOW + 30_001)).toBe(false);
    expect(heads.take('u', NOW + 30_001)).toBeUndefined();
    expect(heads.size).toBe(0);
  });

  it('holds at most maxUsers heads, dropping the oldest remembered', () => {
    const heads = new QueueHeads(30_000, 2);
    heads.remember('a', head(1, 1), NOW);
    heads.remember('b', head(1, 1), NOW);
    heads.remember('a', head(2, 1), NOW + 1);
    heads.remember('c', head(1, 1), NOW + 2);
    expect(heads.size).toBe(2);
    expect(heads.has('b', NOW + 2)).toBe(false);
    expect(heads.has('a', NOW + 2) && heads.has('c', NOW + 2)).toBe(true);
  });

  it('forgets every head when the table changes', () => {
    const heads = new QueueHeads();
    heads.useTable('one');
    heads.remember('u', head(1, 1), NOW);
    heads.useTable('one');
    expect(heads.has('u', NOW)).toBe(true);
    heads.useTable('two');
    expect(heads.has('u', NOW)).toBe(false);
  });

  it('holds at most maxBytes of tasks, dropping the oldest, and never a head larger than that', () => {
    const one = JSON.stringify(tasks(1)).length;
    const heads = new QueueHeads(30_000, 100, one * 2);
    heads.remember('a', head(1, 1), NOW);
    heads.remember('b', head(1, 1), NOW);
    expect(heads.heldBytes).toBe(one * 2);
    heads.remember('c', head(1, 1), NOW);
    expect([heads.has('a', NOW), heads.has('b', NOW), heads.has('c', NOW)]).toEqual([false, true, true]);
    heads.remember('d', head(1, 3), NOW);
    expect(heads.has('d', NOW)).toBe(false);
    expect(heads.take('b', NOW)).toBeDefined();
    expect(heads.heldBytes).toBe(one);
  });
});

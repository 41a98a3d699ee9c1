import { describe, expect, it } from 'vitest';
import { fitResultToItem, TASK_ITEM_BUDGET_BYTES } from '../../../src/tasks/result-size.js';
import { newTask } from '../../../src/tasks/create-task.js';
import { taskCreateSchema } from '../../../src/tasks/schemas.js';

const NOW = new Date('2026-11-23T10:00:00Z');
const task = (inputBytes: number) =>
  newTask('u1', taskCreateSchema.parse({ title: 'Refactor', input: { notes: 'x'.repeat(inputBytes) } }), NOW);
const size = (value: unknown) => Buffer.byteLength(JSON.stringify(value), 'utf8');

describe('fitResultToItem', () => {
  it('leaves a result that fits alone, with no marker', () => {
    const result = { result_summary: 'done', files_changed: ['a.ts'], failure_reason: null };
    expect(fitResultToItem(task(100), result)).toEqual({ ...result, result_truncated: null });
  });

  it.each([
    ['a long summary', { result_summary: 'é'.repeat(200_000), files_changed: null, failure_reason: null }, /summary cut/],
    ['a long failure reason', { result_summary: null, files_changed: null, failure_reason: 'e'.repeat(300_000) }, /failure_reason cut/],
    ['many files', { result_summary: 'ok', files_changed: Array.from({ length: 5000 }, (_, i) => `src/${'a'.repeat(80)}-${i}.ts`), failure_reason: null }, /files_changed: \d+ of 5000 not stored/],
  ])('cuts %s so the whole task fits the item budget, saying what was cut', (_name, result, marker) => {
    const original = task(150_000);
    const fitted = fitResultToItem(original, result);
    expect(fitted.result_truncated).toMatch(marker);
    expect(size({ ...original, ...fitted })).toBeLessThanOrEqual(TASK_ITEM_BUDGET_BYTES);
  });
});

import * as z from 'zod';

/*
 * Free-form JSON that is stored as a DynamoDB map (a task's `input`). Any JSON parses, but
 * DynamoDB refuses some of it, and a refusal at write time would be a 500 for bad input:
 * nesting beyond 32 levels, empty map keys, and numbers the SDK or the table cannot hold.
 */
export const MAX_JSON_DEPTH = 16;
const MAX_NUMBER = Number.MAX_SAFE_INTEGER;
const MIN_MAGNITUDE = 1e-100;

/** True for a number DynamoDB stores as it is: finite, and 0 or between 1e-100 and 2^53 in magnitude. */
export function isStorableNumber(value: number): boolean {
  const magnitude = Math.abs(value);
  return Number.isFinite(value) && magnitude <= MAX_NUMBER && (magnitude === 0 || magnitude >= MIN_MAGNITUDE);
}

const STORABLE_NUMBER_MESSAGE = `numbers must be 0 or between ${MIN_MAGNITUDE} and ${MAX_NUMBER} in magnitude`;

/** A number field of a request that is stored as it is (not rounded to units first). */
export const storableNumber = () => z.number().refine(isStorableNumber, { error: STORABLE_NUMBER_MESSAGE });

function storableProblem(value: unknown): { path: (string | number)[]; message: string } | null {
  const stack: Array<{ value: unknown; path: (string | number)[] }> = [{ value, path: [] }];
  while (stack.length > 0) {
    const { value: current, path } = stack.pop() as { value: unknown; path: (string | number)[] };
    if (typeof current === 'number') {
      if (!isStorableNumber(current)) return { path, message: STORABLE_NUMBER_MESSAGE };
    } else if (current !== null && typeof current === 'object') {
      if (path.length >= MAX_JSON_DEPTH) return { path, message: `may be nested at most ${MAX_JSON_DEPTH} levels deep` };
      const entries: Array<[string | number, unknown]> = Array.isArray(current) ? current.map((item, index) => [index, item]) : Object.entries(current);
      for (const [key, child] of entries) {
        if (key === '') return { path, message: 'object keys must not be empty' };
        stack.push({ value: child, path: [...path, key] });
      }
    }
  }
  return null;
}

/** A JSON object DynamoDB can store as it is. */
export const storableJsonObject = z.record(z.string(), z.unknown(), { error: 'must be a JSON object' }).superRefine((value, ctx) => {
  const problem = storableProblem(value);
  if (problem) ctx.addIssue({ code: 'custom', path: problem.path, message: problem.message });
});

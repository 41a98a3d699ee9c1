import { ValidationError } from '../errors.js';

/** A DynamoDB LastEvaluatedKey as an opaque URL-safe cursor. */
export const encodeCursor = (lastKey: Record<string, unknown> | undefined): string | null =>
  lastKey ? Buffer.from(JSON.stringify(lastKey)).toString('base64url') : null;

export interface CursorShape {
  /** The queried index's partition key attribute and the value this listing queries. */
  partitionAttribute: string;
  partitionValue: string;
  sortAttribute: string;
}

/**
 * The start key a cursor stands for. Only the exact key shape of the listing being read is
 * accepted (table keys plus that index's keys, all strings, same partition): anything else is a
 * 400, never a DynamoDB error, and never a way into another listing.
 */
export function decodeCursor(cursor: string | undefined, shape: CursorShape): Record<string, string> | undefined {
  if (!cursor) return undefined;
  const reject = () => new ValidationError('cursor is not a cursor this listing returned');
  let parsed: unknown;
  try {
    parsed = JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8'));
  } catch {
    throw reject();
  }
  if (!parsed || typeof parsed !== 'object' || Array.isArray(parsed)) throw reject();
  const key = parsed as Record<string, unknown>;
  const expected = ['pk', 'sk', shape.partitionAttribute, shape.sortAttribute];
  const names = Object.keys(key);
  const wellFormed =
    names.length === expected.length &&
    expected.every((name) => typeof key[name] === 'string' && (key[name] as string).length > 0 && (key[name] as string).length <= 1024);
  if (!wellFormed || key[shape.partitionAttribute] !== shape.partitionValue) throw reject();
  return key as Record<string, string>;
}

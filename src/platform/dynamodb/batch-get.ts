import { BatchGetCommand, QueryCommand, type QueryCommandInput } from '@aws-sdk/lib-dynamodb';
import { ddb } from '../aws.js';
import { getConfig } from '../config.js';
import { indexDefinition, MAIN_TABLE } from '../resources.js';

type Item = Record<string, unknown>;

/** Most keys one BatchGetItem takes. */
export const BATCH_GET_MAX_KEYS = 100;
/** Rounds of UnprocessedKeys retried (with backoff) before the read gives up. */
const MAX_ROUNDS = 8;

export class UnprocessedKeysError extends Error {
  constructor(readonly remaining: number) {
    super(`BatchGetItem left ${remaining} keys unprocessed after ${MAX_ROUNDS} rounds`);
    this.name = 'UnprocessedKeysError';
  }
}

const keyOf = (item: Item): { pk: unknown; sk: unknown } => ({ pk: item[MAIN_TABLE.partitionKey], sk: item[MAIN_TABLE.sortKey] });
/** An item's main-table key as one string (the same item, the same string). */
export const itemId = (item: Item): string => JSON.stringify([item[MAIN_TABLE.partitionKey], item[MAIN_TABLE.sortKey]]);
const id = itemId;

/**
 * The whole items of the main table at `keys` (up to 100), in the order of `keys`; keys with no
 * item are left out. One BatchGetItem, and only the keys it leaves unprocessed (throttling,
 * size) are asked again, with exponential backoff and full jitter.
 */
export async function batchGetInOrder(keys: readonly Item[], options: { consistent?: boolean } = {}): Promise<Item[]> {
  if (keys.length === 0) return [];
  if (keys.length > BATCH_GET_MAX_KEYS) throw new Error(`batchGetInOrder takes at most ${BATCH_GET_MAX_KEYS} keys, got ${keys.length}`);
  const table = getConfig().tableName;
  const found = new Map<string, Item>();
  let pending = [...new Map(keys.map((key) => [id(key), keyOf(key)])).values()];
  for (let round = 0; pending.length > 0; round += 1) {
    if (round >= MAX_ROUNDS) throw new UnprocessedKeysError(pending.length);
    if (round > 0) await new Promise((resolve) => setTimeout(resolve, Math.random() * Math.min(1000, 20 * 2 ** round)));
    const result = await ddb().send(
      new BatchGetCommand({ RequestItems: { [table]: { Keys: pending, ConsistentRead: options.consistent ?? false } } }),
    );
    for (const item of result.Responses?.[table] ?? []) found.set(id(item), item);
    pending = (result.UnprocessedKeys?.[table]?.Keys ?? []).map((key) => keyOf(key));
  }
  return keys.flatMap((key) => {
    const item = found.get(id(key));
    return item ? [item] : [];
  });
}

export interface WholeItemPage {
  Items: Item[];
  /** The items at `alsoGet`'s keys (those that exist), read in the same BatchGetItem. */
  Also: Item[];
  LastEvaluatedKey?: Item;
}

/**
 * A query of an index of the main table whose projection lacks what the caller needs: the page of
 * index entries, then their whole items with one BatchGetItem, in index order. The index lags
 * behind the table, so an item that has since left the queried index partition (another status,
 * no longer pending, no longer due) is left out; what else changed is the caller's to re-check,
 * and the conditions on its writes keep it exact. Pages follow the index (LastEvaluatedKey).
 * `alsoGet` adds other items' keys to the same BatchGetItem (the claim reads the account so), and
 * `alsoGetFor` keys that depend on the page's index entries (the claim's charge row of its first
 * task). `getItems`, when given, reads the items instead (a pass's group get, group-get.ts).
 */
export async function queryWholeItems(
  input: Omit<QueryCommandInput, 'TableName'> & { IndexName: string; Limit: number },
  options: { consistent?: boolean; alsoGet?: readonly Item[]; alsoGetFor?: (entries: Item[]) => readonly Item[]; getItems?: (keys: readonly Item[]) => Promise<Item[]> } = {},
): Promise<WholeItemPage> {
  const fixed = options.alsoGet ?? [];
  if (input.Limit + fixed.length > BATCH_GET_MAX_KEYS) throw new Error(`queryWholeItems reads at most ${BATCH_GET_MAX_KEYS} items at once, asked for ${input.Limit} + ${fixed.length}`);
  const index = indexDefinition(MAIN_TABLE, input.IndexName);
  const page = await ddb().send(new QueryCommand({ ...input, TableName: getConfig().tableName }));
  const entries = page.Items ?? [];
  const also = [...fixed, ...(options.alsoGetFor?.(entries) ?? [])];
  const alsoIds = new Set(also.map(id));
  const keys = [...entries.filter((entry) => !alsoIds.has(id(entry))), ...also];
  const items = options.getItems ? await options.getItems(keys) : await batchGetInOrder(keys, options);
  const partitionOf = new Map(entries.map((entry) => [id(entry), entry[index.partitionKey]]));
  return {
    Items: items.filter((item) => !alsoIds.has(id(item)) && item[index.partitionKey] === partitionOf.get(id(item))),
    Also: items.filter((item) => alsoIds.has(id(item))),
    ...(page.LastEvaluatedKey ? { LastEvaluatedKey: page.LastEvaluatedKey } : {}),
  };
}

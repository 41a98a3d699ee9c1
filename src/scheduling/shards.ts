/*
 * The scheduler's index keys are sharded so that no single partition key of the `ready` and
 * `due` indexes takes the whole system's writes (on AWS one index partition takes at most 1,000
 * WCU/s): a user's account is filed under READY#<n> / DEFERRED#<n>, a task under SWEEP#<n>, with
 * n from a hash of the user or task id. Readers query every shard (docs/data-model.md states the
 * fairness error that costs). With one shard the keys stay as they were before sharding.
 */

/** FNV-1a (32 bit): stable across processes and releases, which Math.random or V8's hashing are not. */
export function stableHash(text: string): number {
  let hash = 0x811c9dc5;
  for (let i = 0; i < text.length; i++) {
    hash ^= text.charCodeAt(i);
    hash = Math.imul(hash, 0x01000193) >>> 0;
  }
  return hash >>> 0;
}

/** The shard (0..shards-1) an id belongs to. */
export const shardOf = (id: string, shards: number): number => (shards <= 1 ? 0 : stableHash(id) % shards);

/** The partition key of `id` in an index sharded `shards` ways: `READY#3`, or `READY` with one shard. */
export const shardedKey = (prefix: string, id: string, shards: number): string =>
  shards <= 1 ? prefix : `${prefix}#${shardOf(id, shards)}`;

/**
 * Every partition key a reader must query: each shard, starting at `start` (a random shard, so
 * concurrent readers that stop early spread over the shards). With `withUnsharded`, then the
 * unsharded key too, which items written before sharding still carry until their next write
 * (nothing new is written there): only the sweeper reads it, once a sweep; it re-files the users
 * it finds there (refileUnshardedUsers), so an orchestrator pass never pays for that key.
 */
export function shardKeysToRead(prefix: string, shards: number, start: number, options: { withUnsharded?: boolean } = {}): string[] {
  if (shards <= 1) return [prefix];
  const keys: string[] = [];
  for (let i = 0; i < shards; i++) keys.push(`${prefix}#${(start + i) % shards}`);
  if (options.withUnsharded) keys.push(prefix);
  return keys;
}

/** The items of several shards' answers in one sort-key order (as one unsharded query would return them), cut to `limit`. */
export function mergeBySortKey(pages: Record<string, unknown>[][], sortAttribute: string, limit: number): Record<string, unknown>[] {
  return pages
    .flat()
    .sort((a, b) => {
      const x = String(a[sortAttribute]);
      const y = String(b[sortAttribute]);
      return x < y ? -1 : x > y ? 1 : 0;
    })
    .slice(0, limit);
}

/** A shard to start at: random, so concurrent readers that stop early do not all start at shard 0. */
export const randomShard = (shards: number, random: () => number): number => Math.floor(random() * shards);

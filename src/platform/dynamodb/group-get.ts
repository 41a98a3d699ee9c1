import { BATCH_GET_MAX_KEYS, batchGetInOrder, itemId as id } from './batch-get.js';
import { requestGroups } from './request-groups.js';

type Item = Record<string, unknown>;

/** Reads the whole items at `keys` (at most 100), strongly consistent, in the order of `keys`; keys with no item are left out. */
export type GetItems = (keys: readonly Item[]) => Promise<Item[]>;

interface Waiting {
  keys: readonly Item[];
  resolve: (items: Item[]) => void;
  reject: (error: unknown) => void;
}

/**
 * Group get, the read side of group commit (group-commit.ts): concurrent callers' strongly
 * consistent BatchGetItems go to DynamoDB as ONE whenever they arrive while an earlier one is on
 * its way, up to 100 keys; a caller alone is sent at once. Each caller gets exactly the items it
 * asked for, in its order, as fresh as its own read would have been (every read of a group is
 * strongly consistent and starts after the caller asked). A group that fails is read again one
 * caller at a time, so each sees its own outcome.
 *
 * One per orchestrator pass: its claims' fresh reads of the queue (the page of tasks and the
 * account) then share requests.
 */
export function groupGet(): GetItems {
  const takeGroup = (queue: Waiting[]): Waiting[] => {
    const group: Waiting[] = [];
    const keys = new Set<string>();
    for (let i = 0; i < queue.length; ) {
      const next = queue[i] as Waiting;
      const added = next.keys.filter((key) => !keys.has(id(key))).length;
      if (group.length > 0 && keys.size + added > BATCH_GET_MAX_KEYS) {
        i += 1;
        continue;
      }
      queue.splice(i, 1);
      group.push(next);
      for (const key of next.keys) keys.add(id(key));
    }
    return group;
  };

  const alone = async (waiting: Waiting): Promise<void> => {
    try {
      waiting.resolve(await batchGetInOrder(waiting.keys, { consistent: true }));
    } catch (error) {
      waiting.reject(error);
    }
  };

  const send = async (group: Waiting[]): Promise<void> => {
    if (group.length === 1) return alone(group[0] as Waiting);
    let found: Map<string, Item>;
    try {
      const keys = new Map(group.flatMap((waiting) => waiting.keys.map((key) => [id(key), key] as const)));
      const items = await batchGetInOrder([...keys.values()], { consistent: true });
      found = new Map(items.map((item) => [id(item), item]));
    } catch {
      await Promise.all(group.map(alone));
      return;
    }
    for (const waiting of group) {
      waiting.resolve(
        waiting.keys.flatMap((key) => {
          const item = found.get(id(key));
          return item ? [item] : [];
        }),
      );
    }
  };

  const enqueue = requestGroups(takeGroup, send);
  return (keys) => (keys.length === 0 ? Promise.resolve([]) : new Promise<Item[]>((resolve, reject) => enqueue({ keys, resolve, reject })));
}

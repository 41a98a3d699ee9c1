import { DynamoDBClient, ProvisionedThroughputExceededException, TransactionCanceledException } from '@aws-sdk/client-dynamodb';
import { DynamoDBDocumentClient, GetCommand, type DynamoDBDocumentClient as DocumentClient } from '@aws-sdk/lib-dynamodb';
import { ddb } from '../../src/platform/aws.js';
import { MAIN_TABLE, projectedAttributes } from '../../src/platform/resources.js';
import type { Random } from './random.js';

/*
 * DynamoDB faults that DynamoDB Local never shows, injected at the SDK client's middleware
 * stack so the code under test runs unchanged: a broken item, index reads that lag behind the
 * table, and throttling. Used by the integration tests and by the chaos harness.
 */

type Item = Record<string, unknown>;

/**
 * Makes every DynamoDB request whose input mentions `needle` (a key such as `TASK#<id>` or
 * `PENDING#<user>`) fail as a broken item or a bad node would. Returns the function that heals it.
 */
export function failRequestsMentioning(needle: string, message = `injected failure for ${needle}`): () => void {
  const name = `fault-${needle}-${Math.random()}`;
  ddb().middlewareStack.add(
    (next) => async (args) => {
      if (JSON.stringify(args.input).includes(needle)) throw new Error(message);
      return next(args);
    },
    { step: 'initialize', name },
  );
  return () => {
    ddb().middlewareStack.remove(name);
  };
}

/** The indexes AWS keeps eventually consistent that the claim path and the sweeper read. */
export const LAGGING_INDEXES = ['pending', 'ready', 'due'] as const;

export interface LagOptions {
  /** The clock writes and reads are stamped with (the chaos run's virtual clock). */
  now: () => Date;
  random: Random;
  /** Share of index queries served from the lagged view. */
  share: number;
  /** The view is this many seconds behind (drawn per query). */
  minLagSeconds: number;
  maxLagSeconds: number;
}

export interface LagStats {
  /** Index queries answered from the lagged view. */
  served: number;
  /** ...of which the answer differed from what the up-to-date index held. */
  differed: number;
}

interface ImageAt {
  at: number;
  image: Item | null;
}

interface Condition {
  attribute: string;
  op: '=' | '<' | '<=' | '>' | '>=' | 'begins_with' | 'between';
  values: unknown[];
}

interface QueryInput {
  TableName?: string;
  IndexName?: string;
  KeyConditionExpression?: string;
  FilterExpression?: string;
  ExpressionAttributeNames?: Record<string, string>;
  ExpressionAttributeValues?: Record<string, unknown>;
  ExclusiveStartKey?: Item;
  Limit?: number;
  ScanIndexForward?: boolean;
}

const keyOf = (item: Item): string => `${String(item[MAIN_TABLE.partitionKey])}\u0000${String(item[MAIN_TABLE.sortKey])}`;

function parseConditions(expression: string | undefined, input: QueryInput): Condition[] | null {
  if (!expression) return [];
  const name = (token: string) => (token.startsWith('#') ? input.ExpressionAttributeNames?.[token] : token);
  const value = (token: string) => input.ExpressionAttributeValues?.[token];
  const conditions: Condition[] = [];
  for (const part of expression.split(/\s+AND\s+(?![^(]*\))/i)) {
    const text = part.trim().replace(/^\((.*)\)$/, '$1');
    let match = text.match(/^([#\w]+)\s*(=|<=|>=|<|>)\s*(:\w+)$/);
    if (match) {
      const attribute = name(match[1] ?? '');
      if (!attribute) return null;
      conditions.push({ attribute, op: match[2] as Condition['op'], values: [value(match[3] ?? '')] });
      continue;
    }
    match = text.match(/^begins_with\(\s*([#\w]+)\s*,\s*(:\w+)\s*\)$/i);
    if (match) {
      const attribute = name(match[1] ?? '');
      if (!attribute) return null;
      conditions.push({ attribute, op: 'begins_with', values: [value(match[2] ?? '')] });
      continue;
    }
    match = text.match(/^([#\w]+)\s+BETWEEN\s+(:\w+)\s+AND\s+(:\w+)$/i);
    if (match) {
      const attribute = name(match[1] ?? '');
      if (!attribute) return null;
      conditions.push({ attribute, op: 'between', values: [value(match[2] ?? ''), value(match[3] ?? '')] });
      continue;
    }
    return null;
  }
  return conditions;
}

function holds(item: Item, condition: Condition): boolean {
  const actual = item[condition.attribute];
  if (actual === undefined) return false;
  const [a, b] = condition.values as [string | number, string | number];
  const x = actual as string | number;
  switch (condition.op) {
    case '=':
      return x === a;
    case '<':
      return x < a;
    case '<=':
      return x <= a;
    case '>':
      return x > a;
    case '>=':
      return x >= a;
    case 'begins_with':
      return typeof x === 'string' && x.startsWith(String(a));
    case 'between':
      return x >= a && x <= b;
  }
}

interface Written {
  table: string;
  key: Item;
}

type TransactWrite = { Put?: { TableName?: string; Item?: Item }; Update?: { TableName?: string; Key?: Item }; Delete?: { TableName?: string; Key?: Item } };

/** The items a write command touches, from the document client's (unmarshalled) input. */
function writtenItems(command: string, input: Record<string, unknown>): Written[] {
  const written: Written[] = [];
  if (command === 'TransactWriteItemsCommand') {
    for (const write of (input.TransactItems ?? []) as TransactWrite[]) {
      const part = write.Put ?? write.Update ?? write.Delete;
      const key = write.Put?.Item ?? write.Update?.Key ?? write.Delete?.Key;
      if (part?.TableName && key) written.push({ table: part.TableName, key });
    }
  } else if (command === 'BatchWriteItemCommand') {
    for (const [table, requests] of Object.entries((input.RequestItems ?? {}) as Record<string, { PutRequest?: { Item?: Item }; DeleteRequest?: { Key?: Item } }[]>)) {
      for (const request of requests) {
        const key = request.PutRequest?.Item ?? request.DeleteRequest?.Key;
        if (key) written.push({ table, key });
      }
    }
  } else {
    const key = (input.Item ?? input.Key) as Item | undefined;
    if (key && typeof input.TableName === 'string') written.push({ table: input.TableName, key });
  }
  return written;
}

/**
 * Index queries served from a view that lags: a `Query` on the pending, ready or due index may
 * miss the writes of the last few seconds (new entries absent, removed or moved ones still
 * there, with their old attributes), as a GSI on AWS may. Every committed write is recorded
 * with its item's new image (read back on a separate client, so no fault touches it); a lagged
 * query evaluates its key condition and filter on the images as of `now - lag`.
 */
export class LaggedIndexView {
  readonly stats: LagStats = { served: 0, differed: 0 };
  /** Writes whose new image could not be read back (the view then lags further for them). */
  readonly recordFailures: string[] = [];
  enabled = true;
  private readonly history = new Map<string, ImageAt[]>();
  private readonly reader: DocumentClient;
  private readonly name = `chaosLaggedIndex-${Math.random()}`;

  constructor(private readonly options: LagOptions) {
    this.reader = DynamoDBDocumentClient.from(new DynamoDBClient({}));
  }

  install(client: DocumentClient = ddb()): () => void {
    client.middlewareStack.add(
      (next, context) => async (args) => {
        const command = context.commandName ?? '';
        const input = args.input as Record<string, unknown>;
        if (command === 'QueryCommand' && this.enabled && this.lags(input as QueryInput)) {
          const lagged = this.query(input as QueryInput);
          if (lagged) {
            const fresh = (await next(args)) as { output: { Items?: Item[] } };
            this.stats.served += 1;
            if (JSON.stringify((fresh.output.Items ?? []).map(keyOf)) !== JSON.stringify(lagged.Items.map(keyOf))) this.stats.differed += 1;
            return { output: { ...lagged, $metadata: {} }, response: {} } as never;
          }
        }
        const result = await next(args);
        if (/^(Put|Update|Delete|BatchWrite|TransactWrite)Item(s)?Command$/.test(command)) {
          // The write is done whatever happens here: a failed read-back must not look like a failed write.
          await this.record(command, input).catch((error: unknown) => {
            this.recordFailures.push(`${command}: ${String(error)}`);
          });
        }
        return result;
      },
      { step: 'initialize', name: this.name, priority: 'low' },
    );
    return () => {
      client.middlewareStack.remove(this.name);
    };
  }

  private lags(input: QueryInput): boolean {
    return (LAGGING_INDEXES as readonly string[]).includes(input.IndexName ?? '') && this.options.random.chance(this.options.share);
  }

  private async record(command: string, input: Record<string, unknown>): Promise<void> {
    const at = this.options.now().getTime();
    await Promise.all(
      writtenItems(command, input).map(async ({ table, key }) => {
        const { [MAIN_TABLE.partitionKey]: pk, [MAIN_TABLE.sortKey]: sk } = key;
        const read = await this.reader.send(new GetCommand({ TableName: table, Key: { [MAIN_TABLE.partitionKey]: pk, [MAIN_TABLE.sortKey]: sk }, ConsistentRead: true }));
        const id = keyOf(key);
        const images = this.history.get(id) ?? [];
        images.push({ at, image: read.Item ?? null });
        this.history.set(id, images);
      }),
    );
  }

  /** The answer as of `now - lag`, or null when the query is one this view cannot evaluate. */
  private query(input: QueryInput): { Items: Item[]; Count: number; ScannedCount: number; LastEvaluatedKey?: Item } | null {
    const index = MAIN_TABLE.indexes.find((candidate) => candidate.name === input.IndexName);
    const keyConditions = parseConditions(input.KeyConditionExpression, input);
    const filters = parseConditions(input.FilterExpression, input);
    if (!index || !keyConditions || !filters) return null;
    const lagMs = this.options.random.int(this.options.minLagSeconds * 1000, this.options.maxLagSeconds * 1000);
    const cutoff = this.options.now().getTime() - lagMs;
    const matching: Item[] = [];
    for (const images of this.history.values()) {
      let image: Item | null = null;
      for (const entry of images) if (entry.at <= cutoff) image = entry.image;
      if (image && image[index.partitionKey] !== undefined && image[index.sortKey] !== undefined && keyConditions.every((c) => holds(image, c))) matching.push(image);
    }
    const order = (a: Item, b: Item) => {
      const x = String(a[index.sortKey]);
      const y = String(b[index.sortKey]);
      if (x !== y) return x < y ? -1 : 1;
      return keyOf(a) < keyOf(b) ? -1 : keyOf(a) > keyOf(b) ? 1 : 0;
    };
    matching.sort(input.ScanIndexForward === false ? (a, b) => order(b, a) : order);
    let from = 0;
    if (input.ExclusiveStartKey) {
      const start = input.ExclusiveStartKey;
      const position = matching.findIndex((item) => (input.ScanIndexForward === false ? order(item, start) < 0 : order(item, start) > 0));
      from = position < 0 ? matching.length : position;
    }
    const evaluated = matching.slice(from, input.Limit ? from + input.Limit : undefined);
    const more = from + evaluated.length < matching.length;
    const last = evaluated.at(-1);
    // An index entry carries only its projection (keys and included attributes), as on AWS.
    const projected = projectedAttributes(MAIN_TABLE, index);
    const items = evaluated
      .map((item) => Object.fromEntries(projected.filter((name) => item[name] !== undefined).map((name) => [name, item[name]])))
      .filter((item) => filters.every((c) => holds(item, c)));
    return {
      Items: items,
      Count: items.length,
      ScannedCount: evaluated.length,
      ...(more && last
        ? { LastEvaluatedKey: Object.fromEntries([MAIN_TABLE.partitionKey, MAIN_TABLE.sortKey, index.partitionKey, index.sortKey].map((k) => [k, last[k]])) }
        : {}),
    };
  }
}

export type ThrottleKind = 'ProvisionedThroughputExceededException' | 'ThrottlingException' | 'TransactionConflict';

export interface ThrottleOptions {
  random: Random;
  /** Share of DynamoDB calls that fail as throttled (after the SDK's own retries). */
  share: number;
}

/**
 * Throttling and transaction conflicts on a share of calls, as the caller sees them once the
 * SDK's retries are spent: ProvisionedThroughputExceededException, ThrottlingException, or (for
 * a TransactWriteItems) TransactionCanceledException with a TransactionConflict reason. Nothing
 * is written by a failed call.
 */
export class Throttling {
  readonly fired: Record<ThrottleKind, number> = { ProvisionedThroughputExceededException: 0, ThrottlingException: 0, TransactionConflict: 0 };
  enabled = true;
  private readonly name = `chaosThrottling-${Math.random()}`;

  constructor(private readonly options: ThrottleOptions) {}

  install(client: DocumentClient = ddb()): () => void {
    client.middlewareStack.add(
      (next, context) => async (args) => {
        if (this.enabled && this.options.random.chance(this.options.share)) throw this.fault(context.commandName ?? '', args.input as Record<string, unknown>);
        return next(args);
      },
      { step: 'initialize', name: this.name, priority: 'high' },
    );
    return () => {
      client.middlewareStack.remove(this.name);
    };
  }

  private fault(command: string, input: Record<string, unknown>): Error {
    const transaction = command === 'TransactWriteItemsCommand';
    const kind: ThrottleKind = transaction && this.options.random.chance(0.5)
      ? 'TransactionConflict'
      : this.options.random.pick(['ProvisionedThroughputExceededException', 'ThrottlingException'] as const);
    this.fired[kind] += 1;
    const $metadata = { httpStatusCode: 400 };
    if (kind === 'TransactionConflict') {
      const count = ((input.TransactItems ?? []) as unknown[]).length;
      const conflicted = this.options.random.int(0, Math.max(0, count - 1));
      return new TransactionCanceledException({
        message: 'Transaction cancelled, please refer cancellation reasons for specific reasons [injected]',
        $metadata,
        CancellationReasons: Array.from({ length: count }, (_, i) =>
          i === conflicted ? { Code: 'TransactionConflict', Message: 'Transaction is ongoing for the item' } : { Code: 'None' },
        ),
      });
    }
    if (kind === 'ProvisionedThroughputExceededException') {
      return new ProvisionedThroughputExceededException({ message: 'The level of configured provisioned throughput for the table was exceeded [injected]', $metadata });
    }
    return Object.assign(new Error('Rate of requests exceeds the allowed throughput [injected]'), { name: 'ThrottlingException', $fault: 'client', $metadata });
  }
}

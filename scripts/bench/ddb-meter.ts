import type { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';

/** Commands that write; everything else DynamoDB answers is a read. */
const WRITES = new Set([
  'PutItemCommand',
  'UpdateItemCommand',
  'DeleteItemCommand',
  'BatchWriteItemCommand',
  'TransactWriteItemsCommand',
]);
/** Commands that accept ReturnConsumedCapacity. */
const CAPACITY = new Set([...WRITES, 'GetItemCommand', 'BatchGetItemCommand', 'QueryCommand', 'ScanCommand', 'TransactGetItemsCommand']);

interface CapacityEntry {
  CapacityUnits?: number;
  ReadCapacityUnits?: number;
  WriteCapacityUnits?: number;
  Table?: { CapacityUnits?: number; WriteCapacityUnits?: number };
  GlobalSecondaryIndexes?: Record<string, { CapacityUnits?: number; WriteCapacityUnits?: number }>;
}

/** A command's name, a Query's with the index it reads (`QueryCommand` on the table, `Query.ready` on an index). */
const commandKey = (command: string, input: Record<string, unknown>): string =>
  command === 'QueryCommand' && typeof input.IndexName === 'string' ? `Query.${input.IndexName}` : command;

export interface MeterReading {
  requests: number;
  reads: number;
  writes: number;
  /** Consumed capacity as DynamoDB reports it (table and indexes); 0 where it reports none. */
  readUnits: number;
  writeUnits: number;
  /** Requests by command (`commandKey`: a Query by the index it reads). */
  byCommand: Record<string, number>;
  /** Milliseconds spent waiting for each command (summed over concurrent requests). */
  msByCommand: Record<string, number>;
  /** Write capacity by where it was consumed: `table` and each index by name (ReturnConsumedCapacity INDEXES). */
  writeUnitsByIndex: Record<string, number>;
}

export const emptyReading = (): MeterReading => ({ requests: 0, reads: 0, writes: 0, readUnits: 0, writeUnits: 0, byCommand: {}, msByCommand: {}, writeUnitsByIndex: {} });

const combineCounts = (a: Record<string, number>, b: Record<string, number>, factor: number): Record<string, number> => {
  const combined: Record<string, number> = { ...a };
  for (const [name, value] of Object.entries(b)) combined[name] = (combined[name] ?? 0) + factor * value;
  for (const [name, value] of Object.entries(combined)) if (value === 0) delete combined[name];
  return combined;
};

/** a + factor x b, field by field. */
function combine(a: MeterReading, b: MeterReading, factor: number): MeterReading {
  return {
    requests: a.requests + factor * b.requests,
    reads: a.reads + factor * b.reads,
    writes: a.writes + factor * b.writes,
    readUnits: a.readUnits + factor * b.readUnits,
    writeUnits: a.writeUnits + factor * b.writeUnits,
    byCommand: combineCounts(a.byCommand, b.byCommand, factor),
    msByCommand: combineCounts(a.msByCommand, b.msByCommand, factor),
    writeUnitsByIndex: combineCounts(a.writeUnitsByIndex, b.writeUnitsByIndex, factor),
  };
}

export const subtractReadings = (after: MeterReading, before: MeterReading): MeterReading => combine(after, before, -1);
export const addReadings = (a: MeterReading, b: MeterReading): MeterReading => combine(a, b, 1);
/** The reading divided by `divisor` (a mean per operation). */
export const divideReading = (reading: MeterReading, divisor: number): MeterReading => combine(emptyReading(), reading, 1 / divisor);

function addCapacity(reading: MeterReading, isWrite: boolean, consumed: unknown): void {
  const entries = (Array.isArray(consumed) ? consumed : consumed ? [consumed] : []) as CapacityEntry[];
  for (const entry of entries) {
    const total = entry.CapacityUnits ?? 0;
    if (isWrite) {
      const units = (part: { CapacityUnits?: number; WriteCapacityUnits?: number } | undefined): number => part?.WriteCapacityUnits ?? part?.CapacityUnits ?? 0;
      if (entry.Table) reading.writeUnitsByIndex.table = (reading.writeUnitsByIndex.table ?? 0) + units(entry.Table);
      for (const [index, part] of Object.entries(entry.GlobalSecondaryIndexes ?? {})) {
        reading.writeUnitsByIndex[index] = (reading.writeUnitsByIndex[index] ?? 0) + units(part);
      }
    }
    if (entry.ReadCapacityUnits !== undefined || entry.WriteCapacityUnits !== undefined) {
      reading.readUnits += entry.ReadCapacityUnits ?? 0;
      reading.writeUnits += entry.WriteCapacityUnits ?? 0;
    } else if (isWrite) {
      reading.writeUnits += total;
    } else {
      reading.readUnits += total;
    }
  }
}

/**
 * Counts every request the document client sends (at the SDK, so nothing escapes: stores,
 * services and handlers all go through `ddb()`), and asks DynamoDB for its consumed capacity.
 * `snapshot()` is cumulative; subtract two snapshots to get the cost of what ran between them.
 */
export class DynamoDbMeter {
  private readonly total = emptyReading();

  /** Adds the counting middleware to a client (call again after `resetAwsClients()`). */
  install(client: DynamoDBDocumentClient): void {
    client.middlewareStack.add(
      (next, context) => async (args) => {
        const input = args.input as Record<string, unknown>;
        const name = context.commandName ?? 'unknown';
        const command = commandKey(name, input);
        const isWrite = WRITES.has(name);
        if (CAPACITY.has(name) && input.ReturnConsumedCapacity === undefined) {
          args = { ...args, input: { ...input, ReturnConsumedCapacity: 'INDEXES' } };
        }
        this.total.requests += 1;
        this.total.byCommand[command] = (this.total.byCommand[command] ?? 0) + 1;
        if (isWrite) this.total.writes += 1;
        else this.total.reads += 1;
        const started = performance.now();
        try {
          const result = await next(args);
          addCapacity(this.total, isWrite, (result.output as { ConsumedCapacity?: unknown }).ConsumedCapacity);
          return result;
        } finally {
          // A cancelled transaction costs capacity too, but DynamoDB reports none on errors.
          this.total.msByCommand[command] = (this.total.msByCommand[command] ?? 0) + (performance.now() - started);
        }
      },
      { step: 'initialize', name: 'nightshiftBenchMeter', override: true },
    );
  }

  snapshot(): MeterReading {
    return { ...this.total, byCommand: { ...this.total.byCommand }, msByCommand: { ...this.total.msByCommand }, writeUnitsByIndex: { ...this.total.writeUnitsByIndex } };
  }
}

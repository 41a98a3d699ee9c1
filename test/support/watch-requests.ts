import { ddb } from '../../src/platform/aws.js';

export interface RequestWatch {
  /** `sizeOf` of every request of the command sent since the watch began, in order. */
  sizes: number[];
  stop: () => void;
}

/**
 * Records `sizeOf(input)` of every `commandName` request the shared DynamoDB client sends (e.g.
 * the items of a TransactWriteItems); `refuse` may fail one before it is sent (a throttled or
 * broken request), given its size.
 */
export function watchRequests(commandName: string, sizeOf: (input: Record<string, unknown>) => number, refuse?: (size: number) => Error | undefined): RequestWatch {
  const name = `watch-${commandName}-${Math.random()}`;
  const watch: RequestWatch = { sizes: [], stop: () => void ddb().middlewareStack.remove(name) };
  ddb().middlewareStack.add(
    (next, context) => async (args) => {
      if (context.commandName === commandName) {
        const size = sizeOf(args.input as Record<string, unknown>);
        watch.sizes.push(size);
        const error = refuse?.(size);
        if (error) throw error;
      }
      return next(args);
    },
    { step: 'initialize', name },
  );
  return watch;
}

/** The commands (`GetItemCommand`, `BatchGetItemCommand`, ...) the shared DynamoDB client sends while `work` runs, in order. */
export async function commandsDuring(work: () => Promise<unknown>): Promise<string[]> {
  const seen: string[] = [];
  const name = `commands-${Math.random()}`;
  ddb().middlewareStack.add(
    (next, context) => async (args) => {
      seen.push(context.commandName ?? '');
      return next(args);
    },
    { step: 'initialize', name },
  );
  try {
    await work();
  } finally {
    ddb().middlewareStack.remove(name);
  }
  return seen;
}

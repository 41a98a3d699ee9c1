import { ddb } from '../../src/platform/aws.js';

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

import { runDueDigests } from '../../src/notifications/digest-run.js';
import { digestTriggerSchema } from '../../src/notifications/schemas.js';

/** Every minute (EventBridge in AWS, a timer on one machine): send the digests that are due. */
export const handler = async (event: unknown) => {
  const { time } = digestTriggerSchema.parse(event ?? {});
  return runDueDigests(time ? new Date(Math.max(Date.parse(time), Date.now())) : new Date());
};

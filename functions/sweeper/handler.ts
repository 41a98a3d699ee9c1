import * as z from 'zod';
import { logger } from '../../src/platform/logger.js';
import { sweep } from '../../src/scheduling/sweep.js';
import { count, publishMetrics } from '../../src/platform/metrics.js';
import { installCloudSandboxProviders } from '../../src/sandbox/lambda-providers.js';

installCloudSandboxProviders();

const scheduledEventSchema = z.object({ source: z.string() }).passthrough();

/** Timeouts, stale claims and lost sandboxes, on the TIMEOUT_CHECK_INTERVAL schedule. */
export const handler = async (event: unknown): Promise<void> => {
  scheduledEventSchema.parse(event);
  const result = await sweep();
  count('TasksTimedOut', result.timedOut.length);
  count('TasksFailed', result.timedOut.length + result.failedStale.length + result.lostSandboxes.length);
  publishMetrics();
  logger.info('sweep', { timed_out: result.timedOut.length, requeued: result.requeued.length, failed_stale: result.failedStale.length, promoted: result.promoted, refiled: result.refiled, failed_items: result.failedItems, rerouted: result.rerouted.length, failed_no_device: result.failedNoDevice.length, lost_sandboxes: result.lostSandboxes });
};

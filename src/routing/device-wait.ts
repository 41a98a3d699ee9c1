/**
 * How long work routed to a device may wait for that device to lease it. Pure: the caller gives
 * the settings (LOCAL_LEASE_TIMEOUT, LOCAL_MAX_WAIT) and `now`.
 */
import type { ExecutionPreference } from '../tasks/task.js';

export interface DeviceWaitLimits {
  leaseTimeoutSeconds: number;
  maxWaitSeconds: number;
}

export interface DeviceQueuedTask {
  created_at: string;
  execution_preference: ExecutionPreference;
}

export type DeviceWaitOutcome = { kind: 'wait'; until: string } | { kind: 'reroute'; reason: string } | { kind: 'fail'; reason: string };

/** `local` work may only run on a device, so it waits the longest; the router's own choices fall back to the cloud. */
const waitSeconds = (task: DeviceQueuedTask, limits: DeviceWaitLimits): number =>
  task.execution_preference === 'local' ? limits.maxWaitSeconds : limits.leaseTimeoutSeconds;

/** When a device-routed task stops waiting for its device (it is re-routed or failed then). */
export function deviceWaitDeadline(task: DeviceQueuedTask, limits: DeviceWaitLimits): string {
  return new Date(Date.parse(task.created_at) + waitSeconds(task, limits) * 1000).toISOString();
}

const duration = (seconds: number): string => (seconds % 3600 === 0 ? `${seconds / 3600} h` : seconds % 60 === 0 ? `${seconds / 60} min` : `${seconds} s`);

/** What happens to a device-routed task nobody leased: keep waiting, go to the cloud, or fail. */
export function deviceWaitOutcome(task: DeviceQueuedTask, limits: DeviceWaitLimits, now: Date): DeviceWaitOutcome {
  const until = deviceWaitDeadline(task, limits);
  if (until > now.toISOString()) return { kind: 'wait', until };
  const waited = duration(waitSeconds(task, limits));
  if (task.execution_preference === 'local') {
    return { kind: 'fail', reason: `NO_LOCAL_EXECUTOR: no device leased this task within ${waited} (LOCAL_MAX_WAIT)` };
  }
  return { kind: 'reroute', reason: `Re-routed to the cloud: the device did not lease it within ${waited} (LOCAL_LEASE_TIMEOUT)` };
}

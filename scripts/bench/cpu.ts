import { readFileSync } from 'node:fs';

/** Linux's clock tick for /proc/<pid>/stat times (USER_HZ); 100 on every Linux this runs on. */
const CLOCK_TICKS_PER_SECOND = 100;

/**
 * CPU milliseconds (user + system) another process has used so far, from /proc/<pid>/stat; null
 * where there is no /proc (macOS) or the process is gone.
 */
export function processCpuMs(pid: number): number | null {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // Fields after the command name (which may hold spaces) start at the state, field 3; utime and stime are fields 14 and 15.
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    const ticks = Number(fields[11]) + Number(fields[12]);
    return Number.isFinite(ticks) ? (ticks * 1000) / CLOCK_TICKS_PER_SECOND : null;
  } catch {
    return null;
  }
}

/** CPU milliseconds this process has used so far. */
export function ownCpuMs(): number {
  const usage = process.cpuUsage();
  return (usage.user + usage.system) / 1000;
}

export interface CpuReading {
  /** This process: the orchestrator's or the raw stream's code, the SDK, HTTP. */
  node: number;
  /** DynamoDB Local's JVM; null when its process is not known or not readable. */
  dynamodb: number | null;
}

/** A CPU meter over this process and DynamoDB Local: `read()` is the total since `start()`. */
export function cpuMeter(dynamodbPid: number | undefined): { read(): CpuReading } {
  const node0 = ownCpuMs();
  const ddb0 = dynamodbPid ? processCpuMs(dynamodbPid) : null;
  return {
    read: () => {
      const ddb1 = dynamodbPid ? processCpuMs(dynamodbPid) : null;
      return { node: ownCpuMs() - node0, dynamodb: ddb0 === null || ddb1 === null ? null : ddb1 - ddb0 };
    },
  };
}

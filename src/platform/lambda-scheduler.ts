import { AwsClient } from 'aws4fetch';
import { defaultProvider } from './lambda-credentials.js';

/*
 * What Lambda bundles use instead of `@aws-sdk/client-scheduler` (an esbuild alias in
 * lib/constructs/bundling.ts): the two calls src/batches/batch-scheduler.ts makes, CreateSchedule
 * and DeleteSchedule, as EventBridge Scheduler's REST-JSON requests over Node's fetch, signed with
 * SigV4 by `aws4fetch` (as lambda-s3.ts does for S3). The SDK's client brings its REST-JSON
 * protocol and schema code for every Scheduler operation into the one function that uses it (the
 * API's schedules group). Local runs and tests are not bundled and keep the SDK;
 * test/integration/lambda-scheduler.test.ts sends the same calls with both clients to a server on
 * 127.0.0.1 and checks that the requests are the same and that the SDK's own signer agrees with
 * the signature.
 */

interface ScheduleTarget {
  Arn: string;
  RoleArn: string;
  Input?: string;
  RetryPolicy?: { MaximumEventAgeInSeconds?: number; MaximumRetryAttempts?: number };
}

export interface CreateScheduleCommandInput {
  Name: string;
  GroupName?: string;
  Description?: string;
  ScheduleExpression: string;
  ScheduleExpressionTimezone?: string;
  StartDate?: Date;
  FlexibleTimeWindow: { Mode: 'OFF' | 'FLEXIBLE'; MaximumWindowInMinutes?: number };
  State?: 'ENABLED' | 'DISABLED';
  ClientToken?: string;
  Target: ScheduleTarget;
}

export interface DeleteScheduleCommandInput {
  Name: string;
  GroupName?: string;
  ClientToken?: string;
}

export class CreateScheduleCommand {
  constructor(readonly input: CreateScheduleCommandInput) {}
}
export class DeleteScheduleCommand {
  constructor(readonly input: DeleteScheduleCommandInput) {}
}

/** An error answered by the service, named as the SDK names it (`x-amzn-ErrorType`). */
export class SchedulerServiceException extends Error {
  readonly $metadata: { httpStatusCode: number };
  constructor(name: string, message: string, status: number) {
    super(message);
    this.name = name;
    this.$metadata = { httpStatusCode: status };
  }
}
export class ConflictException extends SchedulerServiceException {}
export class ResourceNotFoundException extends SchedulerServiceException {}

export interface SchedulerClientConfig {
  region?: string;
  endpoint?: string;
  credentials?: { accessKeyId: string; secretAccessKey: string; sessionToken?: string };
}

const MAX_ATTEMPTS = 3;

const percentEncode = (text: string): string =>
  encodeURIComponent(text).replace(/[!'()*]/g, (char) => `%${char.charCodeAt(0).toString(16).toUpperCase()}`);

/** The HTTP request of a command, as the SDK's REST-JSON serializer writes it (timestamps in epoch seconds). */
export function schedulerRequest(command: CreateScheduleCommand | DeleteScheduleCommand, endpoint: string): { method: string; url: string; body?: string } {
  const base = endpoint.replace(/\/$/, '');
  if (command instanceof DeleteScheduleCommand) {
    const { Name, GroupName, ClientToken } = command.input;
    const query = new URLSearchParams({ clientToken: ClientToken ?? crypto.randomUUID(), ...(GroupName ? { groupName: GroupName } : {}) });
    return { method: 'DELETE', url: `${base}/schedules/${percentEncode(Name)}?${query.toString()}` };
  }
  const { Name, StartDate, ClientToken, ...rest } = command.input;
  const body = { ...rest, ...(StartDate ? { StartDate: StartDate.getTime() / 1000 } : {}), ClientToken: ClientToken ?? crypto.randomUUID() };
  return { method: 'POST', url: `${base}/schedules/${percentEncode(Name)}`, body: JSON.stringify(body) };
}

export class SchedulerClient {
  private readonly credentials;
  constructor(private readonly config: SchedulerClientConfig = {}) {
    const fixed = config.credentials;
    this.credentials = fixed ? () => Promise.resolve(fixed) : defaultProvider();
  }

  async send(command: CreateScheduleCommand | DeleteScheduleCommand): Promise<Record<string, unknown>> {
    const region = this.config.region ?? process.env.AWS_REGION ?? 'us-east-1';
    const endpoint =
      this.config.endpoint ?? process.env.AWS_ENDPOINT_URL_SCHEDULER ?? process.env.AWS_ENDPOINT_URL ?? `https://scheduler.${region}.amazonaws.com`;
    const request = schedulerRequest(command, endpoint);
    // aws4fetch retries throttling (429) and server errors with backoff, as the SDK's standard mode does (3 attempts).
    const client = new AwsClient({ ...(await this.credentials()), service: 'scheduler', region, retries: MAX_ATTEMPTS - 1, initRetryMs: 100 });
    const response = await client.fetch(request.url, {
      method: request.method,
      headers: request.body === undefined ? {} : { 'content-type': 'application/json' },
      body: request.body,
    });
    const text = await response.text();
    if (!response.ok) throw serviceError(response, text);
    return text ? (JSON.parse(text) as Record<string, unknown>) : {};
  }

  destroy(): void {}
}

function serviceError(response: Response, text: string): SchedulerServiceException {
  let parsed: { Message?: string; message?: string; __type?: string } = {};
  try {
    parsed = JSON.parse(text) as typeof parsed;
  } catch {
    // Not JSON (a proxy's page): the status says enough.
  }
  // `ConflictException:http://internal.amazon.com/...` or `aws.scheduler#ConflictException`.
  const raw = response.headers.get('x-amzn-errortype') ?? parsed.__type ?? `SchedulerError${response.status}`;
  const name = raw.split(':')[0]?.split('#').pop() ?? raw;
  const message = parsed.Message ?? parsed.message ?? (text.slice(0, 200) || `HTTP ${response.status}`);
  if (name === 'ConflictException') return new ConflictException(name, message, response.status);
  if (name === 'ResourceNotFoundException') return new ResourceNotFoundException(name, message, response.status);
  return new SchedulerServiceException(name, message, response.status);
}

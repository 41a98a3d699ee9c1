import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Sha256 } from '@aws-crypto/sha256-js';
import { SignatureV4 } from '@smithy/signature-v4';
import {
  ConflictException as SdkConflict,
  CreateScheduleCommand as SdkCreate,
  DeleteScheduleCommand as SdkDelete,
  ResourceNotFoundException as SdkNotFound,
  SchedulerClient as SdkSchedulerClient,
} from '@aws-sdk/client-scheduler';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import {
  ConflictException,
  CreateScheduleCommand,
  DeleteScheduleCommand,
  ResourceNotFoundException,
  SchedulerClient,
  type CreateScheduleCommandInput,
} from '../../src/platform/lambda-scheduler.js';

/*
 * The EventBridge Scheduler client Lambda bundles get instead of the SDK's
 * (lib/constructs/bundling.ts aliases it): the SDK and it send the same calls to a server on
 * 127.0.0.1, which records what arrives, checks each signature with the SDK's own signer, and
 * answers as Scheduler does (errors named in x-amzn-ErrorType).
 */
const credentials = { accessKeyId: 'AKIDEXAMPLE', secretAccessKey: 'wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY', sessionToken: 'session' };

interface Received {
  method: string;
  path: string;
  query: Record<string, string>;
  body: unknown;
  signatureValid: boolean;
}

let server: Server;
let endpoint: string;
const received: Received[] = [];
/** Status and error type of the next answers (then 200 `{}`, or the create's ARN). */
let answers: { status: number; type?: string; message?: string }[] = [];

async function signatureValid(request: IncomingMessage, body: string, url: URL): Promise<boolean> {
  const authorization = String(request.headers.authorization ?? '');
  const signed = /SignedHeaders=([^,]+)/.exec(authorization)?.[1]?.split(';') ?? [];
  const date = String(request.headers['x-amz-date'] ?? '');
  const headers: Record<string, string> = {};
  for (const name of signed) headers[name] = String(request.headers[name] ?? '');
  // applyChecksum off: the payload hash is signed either way, the header only when the client sent it.
  const signer = new SignatureV4({ service: 'scheduler', region: 'eu-west-1', credentials, sha256: Sha256, applyChecksum: false });
  const resigned = await signer.sign(
    {
      method: request.method ?? 'GET',
      protocol: 'http:',
      hostname: url.hostname,
      port: Number(url.port),
      path: url.pathname,
      query: Object.fromEntries(url.searchParams),
      headers,
      body: body === '' ? undefined : body,
    },
    {
      signingDate: new Date(date.replace(/^(\d{4})(\d{2})(\d{2})T(\d{2})(\d{2})(\d{2})Z$/, '$1-$2-$3T$4:$5:$6Z')),
      // Sign exactly what the client signed: everything received but the listed headers is left out.
      unsignableHeaders: new Set(Object.keys(request.headers).filter((name) => !signed.includes(name))),
    },
  );
  return resigned.headers.authorization === authorization;
}

beforeAll(async () => {
  server = createServer((request, response) => {
    let body = '';
    request.on('data', (chunk: Buffer) => (body += chunk.toString()));
    request.on('end', () => {
      const url = new URL(request.url ?? '/', 'http://127.0.0.1');
      url.port = String((server.address() as AddressInfo).port);
      void signatureValid(request, body, url).then((valid) => {
        received.push({
          method: request.method ?? '',
          path: url.pathname,
          query: Object.fromEntries(url.searchParams),
          body: body === '' ? null : JSON.parse(body),
          signatureValid: valid,
        });
        const answer = answers.shift();
        if (answer) {
          response.writeHead(answer.status, { 'content-type': 'application/json', ...(answer.type ? { 'x-amzn-errortype': answer.type } : {}) });
          response.end(JSON.stringify({ Message: answer.message ?? 'error' }));
          return;
        }
        response.writeHead(200, { 'content-type': 'application/json' });
        response.end(request.method === 'POST' ? JSON.stringify({ ScheduleArn: `arn:aws:scheduler:eu-west-1:000000000000:schedule${url.pathname}` }) : '{}');
      });
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  endpoint = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});

afterAll(async () => {
  await new Promise((resolve) => server.close(resolve));
});

beforeEach(() => {
  received.length = 0;
  answers = [];
});

const sdk = () => new SdkSchedulerClient({ region: 'eu-west-1', endpoint, credentials, maxAttempts: 3 });
const lite = () => new SchedulerClient({ region: 'eu-west-1', endpoint, credentials });

const createInput: CreateScheduleCommandInput = {
  Name: 'batch-0b5c6f0e-1d1f-4a57-9d8e-0d5bdc0f9a11',
  GroupName: 'nightshift-batches',
  Description: 'Nightshift batch "Tonight — naïve ünïcode"',
  ScheduleExpression: 'cron(30 1 ? * MON-FRI *)',
  ScheduleExpressionTimezone: 'Europe/Berlin',
  StartDate: new Date('2026-12-08T01:02:03.456Z'),
  FlexibleTimeWindow: { Mode: 'OFF' },
  State: 'ENABLED',
  ClientToken: '0b5c6f0e-1d1f-4a57-9d8e-0d5bdc0f9a11',
  Target: {
    Arn: 'arn:aws:lambda:eu-west-1:000000000000:function:batch-trigger',
    RoleArn: 'arn:aws:iam::000000000000:role/scheduler',
    Input: '{"batch_id":"0b5c6f0e-1d1f-4a57-9d8e-0d5bdc0f9a11"}',
    RetryPolicy: { MaximumEventAgeInSeconds: 3600, MaximumRetryAttempts: 20 },
  },
};

describe('the Lambda EventBridge Scheduler client (lambda-scheduler.ts)', () => {
  it('sends the CreateSchedule request the SDK sends, signed as the SDK signs it', async () => {
    await sdk().send(new SdkCreate(createInput));
    const fromSdk = received.pop();
    const answer = await lite().send(new CreateScheduleCommand(createInput));
    const fromLite = received.pop();

    expect(fromSdk?.signatureValid).toBe(true);
    expect(fromLite).toEqual(fromSdk);
    expect(fromLite).toMatchObject({ method: 'POST', path: `/schedules/${createInput.Name}`, body: { StartDate: 1796691723.456 } });
    expect(answer).toEqual({ ScheduleArn: expect.stringContaining(createInput.Name) });
  });

  it('sends the DeleteSchedule request the SDK sends', async () => {
    const input = { Name: createInput.Name, GroupName: createInput.GroupName, ClientToken: 'delete-token' };
    await sdk().send(new SdkDelete(input));
    const fromSdk = received.pop();
    await lite().send(new DeleteScheduleCommand(input));
    const fromLite = received.pop();

    expect(fromLite).toEqual(fromSdk);
    expect(fromLite).toMatchObject({ method: 'DELETE', query: { groupName: 'nightshift-batches', clientToken: 'delete-token' }, body: null, signatureValid: true });
  });

  it('throws ConflictException and ResourceNotFoundException as the SDK does, so batch-scheduler.ts treats them alike', async () => {
    answers = [
      { status: 409, type: 'ConflictException:http://internal.amazon.com/coral/com.amazon.aws.scheduler/', message: 'Schedule already exists.' },
      { status: 409, type: 'ConflictException:http://internal.amazon.com/coral/com.amazon.aws.scheduler/', message: 'Schedule already exists.' },
      { status: 404, type: 'ResourceNotFoundException', message: 'Schedule does not exist.' },
      { status: 404, type: 'ResourceNotFoundException', message: 'Schedule does not exist.' },
    ];
    await expect(sdk().send(new SdkCreate(createInput))).rejects.toBeInstanceOf(SdkConflict);
    const conflict = lite().send(new CreateScheduleCommand(createInput));
    await expect(conflict).rejects.toBeInstanceOf(ConflictException);
    await expect(conflict).rejects.toMatchObject({ name: 'ConflictException', message: 'Schedule already exists.' });

    await expect(sdk().send(new SdkDelete({ Name: 'gone' }))).rejects.toBeInstanceOf(SdkNotFound);
    await expect(lite().send(new DeleteScheduleCommand({ Name: 'gone' }))).rejects.toBeInstanceOf(ResourceNotFoundException);
  });

  it('retries throttling and server errors (3 attempts in all), and reports a refusal it cannot retry by its name', async () => {
    answers = [{ status: 429, type: 'ThrottlingException' }, { status: 500, type: 'InternalServerException' }];
    await lite().send(new DeleteScheduleCommand({ Name: 'busy' }));
    expect(received).toHaveLength(3);

    received.length = 0;
    answers = [{ status: 400, type: 'ValidationException', message: 'Invalid Schedule Expression' }];
    await expect(lite().send(new CreateScheduleCommand({ ...createInput, ScheduleExpression: 'cron(nope)' }))).rejects.toMatchObject({
      name: 'ValidationException',
      message: 'Invalid Schedule Expression',
      $metadata: { httpStatusCode: 400 },
    });
    expect(received).toHaveLength(1);
  });
});
